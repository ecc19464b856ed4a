#include "queue.h"

#include <algorithm>
#include <climits>

#include <unistd.h>

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
// The one blocking-operation helper: lock -> try -> unlock -> copy -> signal -> wait, until the
// attempt does not block, the timeout passes (`on_timeout`: kFull for puts, kEmpty for gets) or
// something fails. The attempt runs under the lock and only reserves or claims records; `finish`
// copies them with the lock released (records.h). A put that made progress signals kNotEmpty, a
// get kNotFull: the opposite of what it waits for. The first lock uses the raw timeout, so an
// uncontended operation never reads the clock.

namespace {
/** How long a call that must not wait waits for a put that is still copying the front record, as it
 *  waits for a busy lock: long enough for any copy, short enough for "do not wait". */
constexpr TimeoutMs kInFlightWaitMs = 100;
}  // namespace

template <typename Try, typename Finish>
int64_t Queue::Blocking(Event wait_for, int64_t on_timeout, TimeoutMs timeout, Try&& attempt, Finish&& finish) {
  const Event signal = wait_for == Event::kNotFull ? Event::kNotEmpty : Event::kNotFull;
  Deadline deadline(timeout);
  bool first = true, waited_in_flight = false;
  for (;;) {
    int st = lock_.Lock(first ? timeout : deadline.Slice(INT32_MAX));
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
    TimeoutMs wait = deadline.Remaining();
    if (timeout == 0) {
      // Do not wait, except a little for a put that is copying the front record: its message is
      // as good as there (the lock-based 0.1 waited for the copying put's lock the same way).
      if (!a.in_flight || waited_in_flight) return on_timeout;
      waited_in_flight = true;
      wait = kInFlightWaitMs;
    }
    st = waiters_.Wait(wait_for, a.needed, wait, nullptr);
    if (st == kTimedOut) {
      if (timeout == 0) continue;  // one last look
      return on_timeout;
    }
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
          st = records_.ReserveLocked(lens[*pushed], &at);
          if (st != kOk) break;
          batch_.push_back(Slot{at, lens[*pushed], offset});
          offset += lens[*pushed];
          ++*pushed;
        }
        bool progressed = !batch_.empty();
        if (*pushed == n) return Attempt{kOk, progressed, false, 0, false};
        return Attempt{st, progressed, st == kFull, lens[*pushed], false};
      },
      [&] {
        // Published in reservation order, so a get never waits behind a later record of ours.
        for (const Slot& s : batch_) {
          records_.CopyIn(s.at, data + s.offset, s.len);
          records_.Publish(s.at);
        }
        AfterPublish();
      }));
}

int64_t Queue::Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout) {
  uint64_t at = 0;
  int64_t len = 0;
  return Blocking(
      Event::kNotEmpty, kEmpty, timeout,
      [&] {
        len = records_.ClaimLocked(out_cap, &at);
        return Attempt{len, len >= 0, len == kEmpty || len == kInFlight, 0, len == kInFlight};
      },
      [&] {
        records_.CopyOut(at, out, uint32_t(len));
        records_.Release(at);
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
          r = records_.ClaimLocked(out_cap - off, &at);
          if (r < 0) break;
          lens[batch_.size()] = uint32_t(r);
          batch_.push_back(Slot{at, uint32_t(r), off});
          off = std::min(out_cap, off + Align8(uint64_t(r)));
        }
        if (!batch_.empty()) return Attempt{int64_t(batch_.size()), true, false, 0, false};
        return Attempt{r, false, r == kEmpty || r == kInFlight, 0, r == kInFlight};
      },
      [&] {
        for (const Slot& s : batch_) {
          records_.CopyOut(s.at, out + s.offset, s.len);
          records_.Release(s.at);
        }
      });
}

void Queue::AfterPublish() {
  // A put reserved before an immediate shutdown publishes after it: discard what it published, as
  // the shutdown discarded everything else, so that join() returns.
  if (seg_.header->shutdown.load(std::memory_order_relaxed) != kShutdownImmediate) return;
  if (lock_.Lock(1000) != kOk) return;
  records_.SweepLocked();
  lock_.Unlock();
  waiters_.WakeAll(Event::kAllDone);
}

int64_t Queue::Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens) {
  int st = lock_.Lock(1000);
  if (st == kTimedOut) return kEmpty;
  if (st != kOk) return st;
  int64_t r = records_.PeekLocked(out, out_cap, max, lens);
  lock_.Unlock();
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
  // Discard what is left, as Python's shutdown(immediate=True) does, and count each discarded item
  // as done so that join() returns. Records still being copied in are discarded when published.
  if (immediate) records_.SweepLocked();
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
