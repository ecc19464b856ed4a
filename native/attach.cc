#include "attach.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "clock.h"
#include "procfs.h"

namespace shmq {

namespace {
/** This process's start time, read once (retried while /proc cannot tell: 0). */
uint64_t SelfStartTime() {
  static std::atomic<uint64_t> cached{0};
  uint64_t v = cached.load(std::memory_order_relaxed);
  if (v == 0) {
    v = ProcessStartTime(getpid());
    cached.store(v, std::memory_order_relaxed);
  }
  return v;
}
}  // namespace

void AttachTable::AttachLocked() {
  Header* h = seg_.header;
  h->last_attach_ms = WallMs();
  int32_t self = getpid();
  uint64_t start = SelfStartTime();
  AttachSlot* free_slot = nullptr;
  for (auto& slot : h->attached) {
    if (slot.pid == self && slot.start_time == start) {
      slot.handles++;
      attached_ = true;
      return;
    }
    if (slot.pid != 0 && !ProcessMayBeAlive(slot.pid, slot.start_time)) slot = AttachSlot{};  // a dead process
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
  uint64_t start = SelfStartTime();
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
    if (!ProcessMayBeAlive(copy.pid, copy.start_time)) {
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
    if (copy.pid > 0 && ProcessMayBeAlive(copy.pid, copy.start_time)) live.push_back(copy);
  }
  return live;
}

namespace {
struct flock AttachRange(short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  return fl;
}
}  // namespace

bool AttachTable::HoldAttachLock(int fd) {
  struct flock fl = AttachRange(F_RDLCK);
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

int AttachTable::OthersAttached(int fd) {
  // A write lock conflicts with any read lock of another open file description (ours does not
  // count: a description never conflicts with itself).
  struct flock fl = AttachRange(F_WRLCK);
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return -1;
  return fl.l_type == F_UNLCK ? 0 : 1;
}

}  // namespace shmq
