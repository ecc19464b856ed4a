#include "records.h"

#include <algorithm>
#include <cstring>

namespace shmq {

namespace {

/** Reads one u32 of the untrusted ring exactly once (a scribbler may change it under us). */
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  __atomic_load(reinterpret_cast<const uint32_t*>(p), &v, __ATOMIC_RELAXED);
  return v;
}

inline void StoreU32(uint8_t* p, uint32_t v) {
  __atomic_store(reinterpret_cast<uint32_t*>(p), &v, __ATOMIC_RELAXED);
}

inline uint64_t RecordSize(uint64_t len) {
  return kRecordHeaderSize + Align8(len);
}

}  // namespace

int Records::CheckIndices(uint64_t head, uint64_t tail) {
  if (head > tail || tail - head > seg_.capacity || head % 8 != 0 || tail % 8 != 0)
    return log_.Corrupt("its head/tail indices are impossible");
  return kOk;
}

int Records::TryPushLocked(const uint8_t* data, uint32_t len) {
  Header* h = seg_.header;
  uint8_t* ring = seg_.data;
  const uint64_t capacity = seg_.capacity;
  if (h->shutdown.load()) return kShutdown;
  uint64_t head = h->head.load(), tail = h->tail.load();
  int st = CheckIndices(head, tail);
  if (st != kOk) return st;
  if (seg_.maxsize != 0 && CountLocked() >= seg_.maxsize) return kFull;
  uint64_t rec = RecordSize(len);
  uint64_t used = tail - head, pos = tail % capacity, contiguous = capacity - pos;
  if (used == 0 && contiguous < rec) {
    // Empty, but the record would not fit before the end: skip to the start. The marker is
    // published by `tail` first, so a crash between the two stores leaves a valid lone marker.
    StoreU32(ring + pos, 0);
    StoreU32(ring + pos + 4, kRecordFlagWrap);
    tail += contiguous;
    h->tail.store(tail, std::memory_order_release);
    h->head.store(tail, std::memory_order_release);
    head = tail;
    pos = 0;
    contiguous = capacity;
  }
  uint64_t need = contiguous < rec ? contiguous + rec : rec;
  if (need > capacity - used) return kFull;
  if (contiguous < rec) {
    StoreU32(ring + pos, 0);
    StoreU32(ring + pos + 4, kRecordFlagWrap);
    pos = 0;
  }
  StoreU32(ring + pos, len);
  StoreU32(ring + pos + 4, 0);
  // An empty message may come with data == nullptr (an empty Buffer has no storage), and memcpy
  // with a null pointer is undefined even for 0 bytes (UBSan, npm run test:sanitize).
  if (len > 0) memcpy(ring + pos + kRecordHeaderSize, data, len);
  h->tail.store(tail + need, std::memory_order_release);  // publication: the last step
  h->count.fetch_add(1, std::memory_order_relaxed);
  h->puts.fetch_add(1, std::memory_order_relaxed);
  if (seg_.flags & kQueueFlagJoinable) h->unfinished.fetch_add(1, std::memory_order_relaxed);
  return kOk;
}

int64_t Records::TryShiftLocked(uint8_t* out, uint64_t out_cap, bool consume, uint64_t* cursor) {
  Header* h = seg_.header;
  const uint8_t* ring = seg_.data;
  const uint64_t capacity = seg_.capacity;
  uint64_t head = consume ? h->head.load() : *cursor, tail = h->tail.load();
  int st = CheckIndices(consume ? head : h->head.load(), tail);
  if (st != kOk) return st;
  if (!consume && (head < h->head.load() || head > tail)) return log_.Corrupt("the queue changed while it was read");
  for (;;) {
    if (head == tail) return h->shutdown.load() ? kShutdown : kEmpty;
    uint64_t pos = head % capacity;
    uint32_t len = LoadU32(ring + pos), flags = LoadU32(ring + pos + 4);
    if (flags & kRecordFlagWrap) {
      uint64_t skip = capacity - pos;
      if (skip > tail - head) return log_.Corrupt("a wrap marker points past the tail");  // no wrapping sum
      head += skip;
      if (consume) h->head.store(head, std::memory_order_release);
      continue;
    }
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload() || pos + rec > capacity || rec > tail - head)
      return log_.Corrupt("a record has an impossible length");
    if (len > out_cap) {
      needed_ = len;
      if (!consume) *cursor = head;
      return kNeedSpace;
    }
    memcpy(out, ring + pos + kRecordHeaderSize, len);
    if (consume) {
      h->head.store(head + rec, std::memory_order_release);  // removal: the last step
      uint32_t c = h->count.load(std::memory_order_relaxed);
      if (c > 0) h->count.store(c - 1, std::memory_order_relaxed);
      h->gets.fetch_add(1, std::memory_order_relaxed);
    } else {
      *cursor = head + rec;
    }
    return len;
  }
}

int Records::Repair() {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  uint64_t head = h->head.load(), tail = h->tail.load();
  int st = CheckIndices(head, tail);
  if (st != kOk) return st;
  uint32_t count = 0;
  uint64_t cursor = head;
  while (cursor != tail) {
    uint64_t pos = cursor % capacity;
    uint32_t len = LoadU32(seg_.data + pos), flags = LoadU32(seg_.data + pos + 4);
    uint64_t rec = (flags & kRecordFlagWrap) ? capacity - pos : RecordSize(len);
    if (!(flags & kRecordFlagWrap) && (len > seg_.max_payload() || pos + rec > capacity))
      return log_.Corrupt("a record has an impossible length");
    // Compare with the room left, not `cursor + rec > tail`: with indices scribbled near 2^64 the
    // sum wraps, the check passes and the walk runs on for up to 2^61 steps.
    if (rec > tail - cursor) return log_.Corrupt("a record runs past the tail");
    if (!(flags & kRecordFlagWrap)) count++;
    cursor += rec;
  }
  h->count.store(count);
  return kOk;
}

uint32_t Records::CountLocked() {
  // `count` is derived state that a scribbler can change without touching the indices. A count
  // that more records than the used bytes can hold would keep a maxsize-bounded queue "full"
  // forever (puts block, not-full waiters never wake): recompute it from the records instead.
  Header* h = seg_.header;
  uint32_t c = h->count.load();
  uint64_t head = h->head.load(), tail = h->tail.load();
  if (head <= tail && tail - head <= seg_.capacity && c > (tail - head) / kRecordHeaderSize && Repair() == kOk)
    c = h->count.load();
  return c;
}

uint32_t Records::Count() const {
  // Lock-free, so it cannot repair; but every record takes at least 8 bytes, so a scribbled count
  // larger than that is clamped rather than reported as billions of messages.
  const Header* h = seg_.header;
  uint32_t c = h->count.load(std::memory_order_acquire);
  uint64_t head = h->head.load(std::memory_order_acquire), tail = h->tail.load(std::memory_order_acquire);
  if (head <= tail && tail - head <= seg_.capacity)
    c = uint32_t(std::min<uint64_t>(c, (tail - head) / kRecordHeaderSize));
  return c;
}

bool Records::ReadyLocked(Event event, uint32_t needed) {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  if (event == Event::kAllDone) return h->unfinished.load() == 0;
  if (h->shutdown.load()) return true;
  uint64_t head = h->head.load(), tail = h->tail.load();
  if (CheckIndices(head, tail) != kOk) return true;  // let the operation report it
  if (event == Event::kNotEmpty) return head != tail;
  if (seg_.maxsize != 0 && CountLocked() >= seg_.maxsize) return false;
  uint64_t used = tail - head, pos = tail % capacity, contiguous = capacity - pos;
  uint64_t rec = RecordSize(needed);
  if (used == 0) return true;
  uint64_t need = contiguous < rec ? contiguous + rec : rec;
  return need <= capacity - used;
}

bool Records::ReadyHint(Event event, uint32_t needed) const {
  const Header* h = seg_.header;
  if (event == Event::kAllDone) return h->unfinished.load(std::memory_order_relaxed) == 0;
  if (h->shutdown.load(std::memory_order_relaxed)) return true;
  uint64_t head = h->head.load(std::memory_order_acquire), tail = h->tail.load(std::memory_order_acquire);
  if (event == Event::kNotEmpty) return head != tail;
  if (seg_.maxsize != 0 && h->count.load(std::memory_order_relaxed) >= seg_.maxsize) return false;
  return tail >= head && tail - head + 2 * RecordSize(needed) <= seg_.capacity;
}

#ifdef SHM_QUEUE_TEST_HOOKS
void Records::TearLocked(const uint8_t* data, uint32_t len, uint32_t written) {
  Header* h = seg_.header;
  uint64_t head = h->head.load(), tail = h->tail.load(), pos = tail % seg_.capacity;
  uint64_t rec = RecordSize(len);
  if (len > 0 && written <= len && CheckIndices(head, tail) == kOk && rec <= seg_.capacity - pos &&
      rec <= seg_.capacity - (tail - head)) {
    StoreU32(seg_.data + pos, len);
    StoreU32(seg_.data + pos + 4, 0);
    memcpy(seg_.data + pos + kRecordHeaderSize, data, written);
  }
}
#endif

}  // namespace shmq
