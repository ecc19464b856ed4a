// shm-queue native core: a bounded FIFO of variable-length records in a POSIX shared-memory
// segment. Node-free C++17 so that it can be unit-tested, fuzzed and run under sanitizers alone.
//
// The parts, one job each: layout.h (the segment ABI), segment.h (files and mappings), lock.h and
// lock_word.h (the lock), records.h (the record ring: reserve/copy/publish, claim/copy/release, and
// its crash-safety rules), waiters.h (futex condition variables), attach.h (the attached-process
// table). Queue ties them together; every blocking operation runs on one helper, Blocking() in
// queue.cc, which takes the lock for the index update only and copies after unlocking.
//
// Threading rules: a Queue is owned by one handle. Its methods may be called from the JS thread and
// from that handle's waiter thread at the same time (every shared field is an atomic or guarded by
// the segment mutex; the Queue's own fields are immutable after Open()). Close() must only run once
// no other thread is inside a method.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "attach.h"
#include "clock.h"
#include "layout.h"
#include "lock.h"
#include "records.h"
#include "segment.h"
#include "status.h"
#include "waiters.h"

namespace shmq {

/** A consistent-enough snapshot for stats() and the CLI (lock-free reads of atomics). */
struct Snapshot {
  uint64_t head, tail, capacity, unfinished, puts, gets, recoveries, created_at_ms, total_size, last_attach_ms,
      last_detach_ms;
  uint32_t count, maxsize, flags, shutdown, version, creator_uid, not_empty_waiters, not_full_waiters;
  int32_t creator_pid;
  std::string codec;
  std::vector<AttachSlot> attached;  // live processes only (the table may miss some: see attach.h)
  uint32_t file_mode, file_uid;      // of the /dev/shm file
  int in_use;                        // another handle (any process) is attached: 1, 0, -1 unknown
};

class Queue {
 public:
  Queue() = default;
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  /** Maps the segment `/shm-queue.<name>` and attaches; the name must already be validated. */
  OpenResult Open(const std::string& name, OpenMode mode, const CreateOptions& options);
  /** Detaches from the process table and unmaps. Safe to call twice. */
  void Close();
  bool is_open() const { return seg_.is_open(); }

  static int Unlink(const std::string& name) { return UnlinkSegment(name); }  // 0 or errno

  /** Copies `len` bytes in as one message. kOk, kFull, kTooLarge, kShutdown or kCorrupt. */
  int Push(const uint8_t* data, uint32_t len, TimeoutMs timeout);
  /** Pushes lens[0..n) (payloads back to back in `data`), as many per lock as fit. Sets *pushed.
   *  Returns kOk once all are in, else the status that stopped it (kFull at the deadline). */
  int PushMany(const uint8_t* data, const uint32_t* lens, uint32_t n, TimeoutMs timeout, uint32_t* pushed);
  /** Copies the next message into out[0..out_cap) (the JS read slab, or a caller's own buffer for
   *  getSync({ into })). Returns its length, or kEmpty, kShutdown, kNeedSpace (nothing consumed;
   *  needed() says how much), kCorrupt. */
  int64_t Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout);
  /** Copies up to `max` messages back to back (each padded to 8 bytes) into `out`, their lengths
   *  into `lens`. Waits for at least one. Returns the count, or a status as Shift. */
  int64_t ShiftMany(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens, TimeoutMs timeout);
  /** Copies up to `max` messages without removing them (for `shm-queue peek`); kBusy when the
   *  lock is held (it never waits). */
  int64_t Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens);

  /** See Waiters::Wait. */
  int Wait(Event event, uint32_t needed, TimeoutMs timeout, const std::atomic<bool>* cancel) {
    return waiters_.Wait(event, needed, timeout, cancel);
  }
  void WakeAll(Event event) { waiters_.WakeAll(event); }

  /** Never waits for the lock (see Records::DiscardLocked): kOk or kCorrupt. */
  int Shutdown(bool immediate);
  /** Lock-free: kOk or kTaskDoneTooMany. */
  int TaskDone();
  /** Takes the lock, re-validates the indices and recomputes `count` (what a recovery does). */
  int Verify();

#ifdef SHM_QUEUE_TEST_HOOKS
  /** TEST ONLY (compiled with -DSHM_QUEUE_TEST_HOOKS): takes the lock and returns still holding
   *  it, after writing a record header for `len` bytes plus the first `written` payload bytes at
   *  the tail, unpublished, as a put killed mid-copy leaves it (`len` 0: no record). Kill the
   *  process to release the lock. */
  int TestLockAndTear(const uint8_t* data, uint32_t len, uint32_t written);
  /** TEST ONLY: a put (`data` given) or a get (`data` null) that stops for good inside its
   *  unlocked copy, after `written` bytes: the record stays BUSY / CLAIMED by this process, the
   *  lock is free. Returns only on failure (a status); kill the process to end it. */
  int TestHoldInCopy(const uint8_t* data, uint32_t len, uint32_t written);
  /** TEST ONLY: takes the lock, sleeps `ms` holding it (SIGSTOP the process meanwhile to get a
   *  stopped holder), releases it. */
  int TestHoldLock(int64_t ms);
#endif

  uint32_t Count() const {
    return records_.Count();
  }
  uint32_t ShutdownState() const {
    return seg_.header->shutdown.load(std::memory_order_acquire);
  }
  uint64_t Unfinished() const {
    return seg_.header->unfinished.load(std::memory_order_acquire);
  }
  /** Never waits for the lock: when it is busy, the table is read without pruning. */
  Snapshot Stats();

  uint64_t capacity() const {
    return seg_.capacity;
  }
  uint32_t maxsize() const {
    return seg_.maxsize;
  }
  uint32_t flags() const {
    return seg_.flags;
  }
  const std::string& codec() const {
    return seg_.codec;
  }
  uint64_t max_payload() const {
    return seg_.max_payload();
  }
  /** With kNeedSpace: the length of the message that did not fit. */
  uint64_t needed() const {
    return records_.needed();
  }
  /** A copy: the waiter thread may set it while the JS thread reads it. */
  std::string last_error() const {
    return log_.last();
  }
  /** With kLockStalled: the pid holding the lock. */
  int32_t holder_pid() const {
    return log_.holder_pid();
  }

 private:
  /** What one attempt under the lock did (see Blocking()). */
  struct Attempt {
    int64_t result;   // returned as is unless the operation waits and tries again
    bool progressed;  // records were reserved or claimed: copy them (unlocked), then signal
    bool blocked;     // full (a put) / empty (a get): wait and retry, unless timeout is 0
    uint32_t needed;  // a put's record size to wait for room for
    bool in_flight;   // a get blocked by a BUSY record at the front (a put still copying)
  };
  /** One reserved or claimed record of a batch: its index, length and offset in the caller's bytes. */
  struct Slot {
    uint64_t at;
    uint32_t len;
    uint64_t offset;
  };
  /** After a put published: the immediate-shutdown sweep, if one happened meanwhile. */
  void AfterPublish();
  template <typename Try, typename Finish>
  int64_t Blocking(Event wait_for, int64_t on_timeout, TimeoutMs timeout, Try&& attempt, Finish&& finish);

  Segment seg_;
  ErrorLog log_;
  Records records_{seg_, log_};
  SegmentLock lock_{seg_, records_, log_};
  Waiters waiters_{seg_, lock_, records_};
  AttachTable attach_{seg_};
  // The records of the current PushMany / ShiftMany (JS thread only: the waiter thread only waits).
  std::vector<Slot> batch_;
  bool listed_pending_ = false;  // attached, but not yet in the table (its lock was busy at open)
};

}  // namespace shmq
