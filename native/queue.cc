#include "queue.h"

#include <algorithm>
#include <errno.h>
#include <time.h>

#include <climits>

#include <unistd.h>

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
// The one blocking-operation helper: lock -> try -> unlock -> copy -> signal -> wait, until the
// attempt does not block, the timeout passes (`on_timeout`: kFull for puts, kEmpty for gets) or
// something fails. The attempt runs under the lock and only reserves or claims records; `finish`
// copies them with the lock released (records.h). A put that made progress signals kNotEmpty, a
// get kNotFull: the opposite of what it waits for. The first lock uses the raw timeout, so an
// uncontended operation never reads the clock.

template <typename Try, typename Finish>
int64_t Queue::Blocking(Event wait_for, int64_t on_timeout, TimeoutMs timeout, Try&& attempt, Finish&& finish) {
  const Event signal = wait_for == Event::kNotFull ? Event::kNotEmpty : Event::kNotFull;
  Deadline deadline(timeout);
  bool first = true, waited_in_flight = false;
  for (;;) {
    // A call that must not wait (timeout 0) says kBusy when the lock is held (by a stopped
    // process, say) rather than full or empty, which would be a wrong answer.
    int st = timeout == 0 ? lock_.LockNoWait() : lock_.Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return on_timeout;
    if (st != kOk) return st;
    Attempt a = attempt();
    bool changed = records_.TakeChanged();
    lock_.Unlock();
    if (changed) {
      // A dead owner's record was given back or discarded: every waiter may have something now.
      waiters_.WakeAll(Event::kNotEmpty);
      waiters_.WakeAll(Event::kNotFull);
      waiters_.WakeAll(Event::kAllDone);
    }
    if (a.progressed) {
      finish();
      waiters_.Signal(signal);
    }
    if (!a.blocked) return a.result;
    if (timeout == 0) {
      // Do not wait, except a little (SegmentLock::kNoWaitMs, lock-free) for a put that is copying
      // the front record: its message is as good as there. Still copying after that (a stopped
      // producer), the answer is "busy", not "empty": qsize() counts that message.
      if (!a.in_flight) return on_timeout;
      if (waited_in_flight) return kBusy;
      waited_in_flight = true;
      waiters_.WaitHint(wait_for, a.needed, SegmentLock::kNoWaitMs);
      continue;
    }
    st = waiters_.Wait(wait_for, a.needed, deadline.Remaining(), nullptr);
    if (st == kTimedOut) return on_timeout;
    if (st != kOk) return st;
  }
}

int Queue::Push(const uint8_t* data, uint32_t len, TimeoutMs timeout) {
  if (len > max_payload()) return kTooLarge;
  uint64_t at = 0;
  return int(Blocking(
      Event::kNotFull, kFull, timeout,
      [&] {
        int st = records_.ReserveLocked(len, &at);
        return Attempt{st, st == kOk, st == kFull, len, false};
      },
      [&] {
        records_.CopyIn(at, data, len);
        records_.Publish(at);
        AfterPublish();
      }));
}

int Queue::PushMany(const uint8_t* data, const uint32_t* lens, uint32_t n, TimeoutMs timeout, uint32_t* pushed) {
  *pushed = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (lens[i] > max_payload()) return kTooLarge;
  }
  uint64_t offset = 0;
  return int(Blocking(
      Event::kNotFull, kFull, timeout,
      [&] {
        batch_.clear();
        int st = kOk;
        while (*pushed < n) {
          uint64_t at = 0;
          st = records_.ReserveLocked(lens[*pushed], &at, batch_.empty());
          if (st != kOk) break;
          batch_.push_back(Slot{at, lens[*pushed], offset});
          at += Records::RecordBytes(lens[*pushed]);
          offset += lens[*pushed];
          ++*pushed;
          // The records behind it, reserved without re-checking what this reservation checked.
          uint32_t run = records_.ReserveRunLocked(lens + *pushed, n - *pushed);
          for (uint32_t k = 0; k < run; k++, ++*pushed) {
            batch_.push_back(Slot{at, lens[*pushed], offset});
            at += Records::RecordBytes(lens[*pushed]);
            offset += lens[*pushed];
          }
        }
        bool progressed = !batch_.empty();
        if (*pushed == n) return Attempt{kOk, progressed, false, 0, false};
        return Attempt{st, progressed, st == kFull, lens[*pushed], false};
      },
      [&] {
        // Every payload first, then the states from the last record to the first: a get claims only
        // at `read` (the first record), and once it sees that one READY it sees all of them, so the
        // batch becomes visible at once and is taken in one claim (published in order, a consumer
        // would take it in fragments, one wake-up and one lock each).
        for (const Slot& s : batch_) records_.CopyIn(s.at, data + s.offset, s.len);
        for (size_t i = batch_.size(); i-- > 0;) records_.Publish(batch_[i].at, i == 0 ? uint32_t(batch_.size()) : 0);
        AfterPublish();
      }));
}

int64_t Queue::Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout) {
  uint64_t at = 0;
  int64_t len = 0;
  bool more = false;
  return Blocking(
      Event::kNotEmpty, kEmpty, timeout,
      [&] {
        len = records_.ClaimLocked(out_cap, &at);
        more = len >= 0 &&
               seg_.header->read.load(std::memory_order_relaxed) != seg_.header->tail.load(std::memory_order_relaxed);
        return Attempt{len, len >= 0, len == kEmpty || len == kInFlight, 0, len == kInFlight};
      },
      [&] {
        records_.CopyOut(at, out, uint32_t(len));
        records_.ReleaseOne(at, uint32_t(len), more);
      });
}

int64_t Queue::ShiftMany(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens, TimeoutMs timeout) {
  return Blocking(
      Event::kNotEmpty, kEmpty, timeout,
      [&] {
        batch_.clear();
        uint64_t off = 0;
        int64_t r = 0;
        while (batch_.size() < max) {
          uint64_t at = 0;
          r = records_.ClaimLocked(out_cap - off, &at, batch_.empty());
          if (r < 0) break;
          lens[batch_.size()] = uint32_t(r);
          batch_.push_back(Slot{at, uint32_t(r), off});
          off = std::min(out_cap, off + Align8(uint64_t(r)));
          // The READY records behind it, claimed without re-checking what this claim checked.
          uint32_t first = uint32_t(batch_.size());
          uint32_t run = records_.ClaimRunLocked(out_cap - off, max - first, lens + first);
          at += Records::RecordBytes(uint32_t(r));
          for (uint32_t k = 0; k < run; k++) {
            uint32_t len = lens[first + k];
            batch_.push_back(Slot{at, len, off});
            at += Records::RecordBytes(len);
            off = std::min(out_cap, off + Align8(uint64_t(len)));
          }
        }
        if (!batch_.empty()) return Attempt{int64_t(batch_.size()), true, false, 0, false};
        return Attempt{r, false, r == kEmpty || r == kInFlight, 0, r == kInFlight};
      },
      [&] {
        // Consecutive records (no record of another get between them, as after a give-back) let
        // `head` jump over the whole batch at once instead of walking it.
        bool contiguous = true;
        for (size_t i = 0; i + 1 < batch_.size(); i++)
          contiguous = contiguous && batch_[i].at + Records::RecordBytes(batch_[i].len) == batch_[i + 1].at;
        for (const Slot& s : batch_) {
          records_.CopyOut(s.at, out + s.offset, s.len);
          records_.Release(s.at, 0, false);
        }
        seg_.header->gets.fetch_add(batch_.size(), std::memory_order_relaxed);
        const Slot& last = batch_.back();
        if (contiguous)
          records_.AdvanceHeadOver(batch_[0].at, last.at + Records::RecordBytes(last.len));
        else
          records_.AdvanceHead();
      });
}

void Queue::AfterPublish() {
  // A put reserved before an immediate shutdown publishes after it: discard what it published, as
  // the shutdown discarded everything else, so that join() returns.
  if (seg_.header->shutdown.load(std::memory_order_relaxed) != kShutdownImmediate) return;
  if (lock_.LockNoWait() != kOk) return;  // then the next get or put that takes the lock discards
  records_.SweepLocked();
  lock_.Unlock();
  waiters_.WakeAll(Event::kAllDone);
}

int64_t Queue::Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens) {
  int st = lock_.LockNoWait();
  if (st != kOk) return st;
  int64_t r = records_.PeekLocked(out, out_cap, max, lens);
  lock_.Unlock();
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
      records_.SweepLocked();
      lock_.Unlock();
    } else if (st == kCorrupt) {
      return st;
    }  // else the next get or put that takes the lock discards (Records::SweepLocked)
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

int Queue::TestHoldInCopy(const uint8_t* data, uint32_t len, uint32_t written) {
  int st = lock_.Lock(-1);
  if (st != kOk) return st;
  uint64_t at = 0;
  int64_t r = data ? records_.ReserveLocked(len, &at) : records_.ClaimLocked(UINT32_MAX, &at);
  lock_.Unlock();
  if (r < 0) return int(r);
  static std::vector<uint8_t> sink;
  if (data) {
    records_.CopyIn(at, data, len, written);
  } else {
    sink.resize(size_t(r));
    records_.CopyOut(at, sink.data(), uint32_t(r), written);
  }
  for (;;) pause();  // inside the copy window for good, lock free: only SIGKILL ends this
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
  if (!seg_.read_only) records_.AdvanceHead();
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
