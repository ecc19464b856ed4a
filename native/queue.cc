#include "queue.h"

#include <algorithm>
#include <climits>

namespace shmq {

Queue::~Queue() {
  Close();
}

OpenResult Queue::Open(const std::string& name, OpenMode mode, const CreateOptions& options) {
  OpenResult r = OpenSegment(name, mode, options, &seg_);
  if (r.status == kOk && !seg_.read_only && lock_.Lock(-1) == kOk) {
    attach_.AttachLocked();
    lock_.Unlock();
  }
  return r;
}

void Queue::Close() {
  if (!seg_.is_open()) return;
  if (attach_.attached() && lock_.Lock(1000) == kOk) {
    attach_.DetachLocked();
    lock_.Unlock();
  }
  // Note: no thread of ours may be inside Unlock() now (glibc BZ 14485); the binding joins its
  // waiter thread before calling Close().
  CloseSegment(&seg_);
}

// ---------------------------------------------------------------------------------------------
// The one blocking-operation helper: lock -> try -> unlock -> signal -> wait, until the attempt
// does not block, the timeout passes (`on_timeout`: kFull for puts, kEmpty for gets) or something
// fails. A put that made progress signals kNotEmpty, a get kNotFull: the opposite of what it waits
// for. The first lock uses the raw timeout, so an uncontended operation never reads the clock.

template <typename Try>
int64_t Queue::Blocking(Event wait_for, int64_t on_timeout, TimeoutMs timeout, Try&& attempt) {
  const Event signal = wait_for == Event::kNotFull ? Event::kNotEmpty : Event::kNotFull;
  Deadline deadline(timeout);
  bool first = true;
  for (;;) {
    int st = lock_.Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return on_timeout;
    if (st != kOk) return st;
    Attempt a = attempt();
    lock_.Unlock();
    if (a.progressed) waiters_.Signal(signal);
    if (!a.blocked || timeout == 0) return a.result;
    st = waiters_.Wait(wait_for, a.needed, deadline.Remaining(), nullptr);
    if (st == kTimedOut) return on_timeout;
    if (st != kOk) return st;
  }
}

int Queue::Push(const uint8_t* data, uint32_t len, TimeoutMs timeout) {
  if (len > max_payload()) return kTooLarge;
  return int(Blocking(Event::kNotFull, kFull, timeout, [&] {
    int st = records_.TryPushLocked(data, len);
    return Attempt{st, st == kOk, st == kFull, len};
  }));
}

int Queue::PushMany(const uint8_t* data, const uint32_t* lens, uint32_t n, TimeoutMs timeout, uint32_t* pushed) {
  *pushed = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (lens[i] > max_payload()) return kTooLarge;
  }
  const uint8_t* p = data;
  return int(Blocking(Event::kNotFull, kFull, timeout, [&] {
    uint32_t before = *pushed;
    int st = kOk;
    while (*pushed < n) {
      st = records_.TryPushLocked(p, lens[*pushed]);
      if (st != kOk) break;
      p += lens[*pushed];
      ++*pushed;
    }
    bool progressed = *pushed > before;
    if (*pushed == n) return Attempt{kOk, progressed, false, 0};
    return Attempt{st, progressed, st == kFull, lens[*pushed]};
  }));
}

int64_t Queue::Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout) {
  return Blocking(Event::kNotEmpty, kEmpty, timeout, [&] {
    int64_t got = records_.TryShiftLocked(out, out_cap, true, nullptr);
    return Attempt{got, got >= 0, got == kEmpty, 0};
  });
}

int64_t Queue::ShiftMany(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens, TimeoutMs timeout) {
  return Blocking(Event::kNotEmpty, kEmpty, timeout, [&] {
    uint32_t got = 0;
    uint64_t off = 0;
    int64_t r = 0;
    while (got < max) {
      r = records_.TryShiftLocked(out + off, out_cap - off, true, nullptr);
      if (r < 0) break;
      lens[got++] = uint32_t(r);
      off += Align8(uint64_t(r));
      if (off > out_cap) off = out_cap;
    }
    if (got > 0) return Attempt{got, true, false, 0};
    return Attempt{r, false, r == kEmpty, 0};
  });
}

int64_t Queue::Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens) {
  int st = lock_.Lock(1000);
  if (st == kTimedOut) return kEmpty;
  if (st != kOk) return st;
  uint64_t cursor = seg_.header->head.load();
  uint32_t got = 0;
  uint64_t off = 0;
  int64_t r = 0;
  while (got < max) {
    r = records_.TryShiftLocked(out + off, out_cap - off, false, &cursor);
    if (r < 0) break;
    lens[got++] = uint32_t(r);
    off += Align8(uint64_t(r));
    if (off > out_cap) off = out_cap;
  }
  lock_.Unlock();
  if (got > 0 || r == kEmpty || r == kShutdown) return got;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Shutdown, joinable tasks, stats.

int Queue::Shutdown(bool immediate) {
  int st = lock_.Lock(-1);
  if (st != kOk) return st;
  Header* h = seg_.header;
  uint32_t prev = h->shutdown.load();
  h->shutdown.store(std::max(prev, immediate ? kShutdownImmediate : kShutdownGraceful));
  if (immediate) {
    // Discard what is left, as Python's shutdown(immediate=True) does, and count each discarded
    // item as done so that join() returns.
    uint64_t tail = h->tail.load();
    uint32_t discarded = h->count.load();
    h->head.store(tail, std::memory_order_release);
    h->count.store(0);
    if (seg_.flags & kQueueFlagJoinable) {
      uint64_t u = h->unfinished.load();
      h->unfinished.store(u > discarded ? u - discarded : 0);
    }
  }
  lock_.Unlock();
  waiters_.WakeAll(Event::kNotEmpty);
  waiters_.WakeAll(Event::kNotFull);
  waiters_.WakeAll(Event::kAllDone);
  return kOk;
}

int Queue::TaskDone() {
  int st = lock_.Lock(-1);
  if (st != kOk) return st;
  Header* h = seg_.header;
  uint64_t u = h->unfinished.load();
  if (u == 0) {
    lock_.Unlock();
    return kTaskDoneTooMany;
  }
  h->unfinished.store(u - 1);
  lock_.Unlock();
  if (u == 1) waiters_.Signal(Event::kAllDone);
  return kOk;
}

int Queue::Verify() {
  int st = lock_.Lock(1000);
  if (st != kOk) return st;
  st = records_.Repair();
  lock_.Unlock();
  return st;
}

#ifdef SHM_QUEUE_TEST_HOOKS
int Queue::TestLockAndTear(const uint8_t* data, uint32_t len, uint32_t written) {
  int st = lock_.Lock(-1);
  if (st != kOk) return st;
  records_.TearLocked(data, len, written);
  return kOk;  // deliberately still locked
}
#endif

Snapshot Queue::Stats() {
  Snapshot s{};
  Header* h = seg_.header;
  s.head = h->head.load();
  s.tail = h->tail.load();
  s.capacity = seg_.capacity;
  s.unfinished = h->unfinished.load();
  s.puts = h->puts.load();
  s.gets = h->gets.load();
  s.recoveries = h->recoveries.load();
  s.created_at_ms = h->created_at_ms;
  s.last_attach_ms = h->last_attach_ms;
  s.last_detach_ms = h->last_detach_ms;
  s.total_size = seg_.map_size;
  s.count = h->count.load();
  s.maxsize = seg_.maxsize;
  s.flags = seg_.flags;
  s.shutdown = h->shutdown.load();
  s.version = h->version;
  s.creator_uid = h->creator_uid;
  s.creator_pid = h->creator_pid;
  s.not_empty_waiters = h->not_empty_waiters.load();
  s.not_full_waiters = h->not_full_waiters.load();
  s.codec = seg_.codec;
  s.file_mode = seg_.file_mode;
  s.file_uid = seg_.file_uid;
  if (seg_.read_only) {
    // No lock (we may not have write access to it): copy the table and report the live entries.
    s.attached = attach_.LiveReadOnly();
  } else if (lock_.Lock(1000) == kOk) {
    s.attached = attach_.LiveLocked();
    lock_.Unlock();
  }
  return s;
}

}  // namespace shmq
