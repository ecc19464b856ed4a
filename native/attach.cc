#include "attach.h"

#include <unistd.h>

#include "clock.h"
#include "procfs.h"

namespace shmq {

void AttachTable::AttachLocked() {
  Header* h = seg_.header;
  h->last_attach_ms = WallMs();
  int32_t self = getpid();
  uint64_t start = ProcessStartTime(self);
  AttachSlot* free_slot = nullptr;
  for (auto& slot : h->attached) {
    if (slot.pid == self && slot.start_time == start) {
      slot.handles++;
      attached_ = true;
      return;
    }
    if (slot.pid != 0 && ProcessStartTime(slot.pid) != slot.start_time) slot = AttachSlot{};  // a dead process
    if (slot.pid == 0 && !free_slot) free_slot = &slot;
  }
  if (free_slot) {
    *free_slot = AttachSlot{self, 1, start};
    attached_ = true;
  }
}

void AttachTable::DetachLocked() {
  Header* h = seg_.header;
  h->last_detach_ms = WallMs();
  int32_t self = getpid();
  uint64_t start = ProcessStartTime(self);
  for (auto& slot : h->attached) {
    if (slot.pid == self && slot.start_time == start) {
      if (slot.handles > 1) {
        slot.handles--;
      } else {
        slot = AttachSlot{};
      }
      break;
    }
  }
  attached_ = false;
}

std::vector<AttachSlot> AttachTable::LiveLocked() {
  std::vector<AttachSlot> live;
  Header* h = seg_.header;
  for (auto& slot : h->attached) {
    AttachSlot copy = slot;
    if (copy.pid == 0) continue;
    if (ProcessStartTime(copy.pid) != copy.start_time) {
      slot = AttachSlot{};           // pruned: that process is gone (or its pid was recycled)
      h->last_detach_ms = WallMs();  // when its death was noticed: the best bound we have
      continue;
    }
    live.push_back(copy);
  }
  return live;
}

std::vector<AttachSlot> AttachTable::LiveReadOnly() const {
  std::vector<AttachSlot> live;
  for (const auto& slot : seg_.header->attached) {
    AttachSlot copy = slot;
    if (copy.pid > 0 && ProcessStartTime(copy.pid) == copy.start_time) live.push_back(copy);
  }
  return live;
}

}  // namespace shmq
