#include "queue.h"

#include <algorithm>
#include <errno.h>
#include <time.h>

#include <climits>

namespace shmq {

namespace {
// How long open tries for the lock to list this process in the attach table: longer than other
// calls that must not wait (many processes opening at once contend for it), still within 100 ms.
constexpr int64_t kAttachLockMs = 50;
}  // namespace

Queue::~Queue() {
  Close();
}

OpenResult Queue::Open(const std::string& name, OpenMode mode, const CreateOptions& options) {
  OpenResult r = OpenSegment(name, mode, options, &seg_);
  if (r.status != kOk || seg_.read_only) return r;
  // The attach lock is what "in use" means (attach.h); the table only lists pids, so a lock held
  // by a stopped process does not hold up the open: the entry is added by a later stats().
  AttachTable::HoldAttachLock(seg_.fd);
  if (lock_.LockWithin(kAttachLockMs) == kOk) {
    attach_.AttachLocked();
    lock_.Unlock();
  } else {
    listed_pending_ = true;
  }
  return r;
}

void Queue::Close() {
  if (!seg_.is_open()) return;
  if (attach_.attached() && lock_.LockNoWait() == kOk) {
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
    // A call that must not wait (timeout 0) says kBusy when the lock is held (by a stopped
    // process, say) rather than full or empty, which would be a wrong answer.
    int st = timeout == 0 ? lock_.LockNoWait() : lock_.Lock(first ? timeout : deadline.Slice(INT32_MAX));
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
  int st = lock_.LockNoWait();
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
  // The flag is set without the lock, so that every process sees it at once even while a stopped
  // process holds the lock: puts check it under the lock, so none is accepted after this store.
  Header* h = seg_.header;
  uint32_t want = immediate ? kShutdownImmediate : kShutdownGraceful;
  uint32_t prev = h->shutdown.load();
  while (prev < want && !h->shutdown.compare_exchange_weak(prev, want)) {
  }
  if (immediate) {
    int st = lock_.LockNoWait();
    if (st == kOk) {
      records_.DiscardLocked();
      lock_.Unlock();
    } else if (st == kCorrupt) {
      return st;
    }  // else the next get or put that takes the lock discards (Records::DiscardLocked)
  }
  waiters_.WakeAll(Event::kNotEmpty);
  waiters_.WakeAll(Event::kNotFull);
  waiters_.WakeAll(Event::kAllDone);
  return kOk;
}

int Queue::TaskDone() {
  // Lock-free (a compare-exchange), so that a stopped lock holder cannot hold it up.
  Header* h = seg_.header;
  uint64_t u = h->unfinished.load();
  do {
    if (u == 0) return kTaskDoneTooMany;
  } while (!h->unfinished.compare_exchange_weak(u, u - 1));
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

int Queue::TestHoldLock(int64_t ms) {
  int st = lock_.Lock(-1);
  if (st != kOk) return st;
  timespec ts{time_t(ms / 1000), long((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  lock_.Unlock();
  return kOk;
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
  s.in_use = AttachTable::OthersAttached(seg_.fd);
  // No lock for a read-only mapping (we may not have write access), nor while the lock is busy:
  // then the table is copied and its live entries reported, pruning nothing.
  if (!seg_.read_only && lock_.LockNoWait() == kOk) {
    if (listed_pending_) {
      attach_.AttachLocked();
      listed_pending_ = false;
    }
    s.attached = attach_.LiveLocked();
    lock_.Unlock();
  } else {
    s.attached = attach_.LiveReadOnly();
  }
  return s;
}

}  // namespace shmq
