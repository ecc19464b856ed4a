// The segment lock: the lock word of lock_word.h in the header (layout version 2), the same for every
// process whatever its libc. A holder that dies is recovered (the next taker repairs the records and
// counts a recovery); a lock word naming no possible holder (a dead thread, a thread of a process that
// does not map this segment, a scribble) is handed back; a live holder that makes no progress for the
// stall bound is reported instead of waited on forever.
#pragma once

#include <algorithm>
#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "clock.h"
#include "lock_word.h"
#include "procfs.h"
#include "segment.h"
#include "status.h"

namespace shmq {

class Records;

/** What a thread saw of a lock it could not get: kept across Lock() calls, because sync callers
 *  wait in slices (so that worker.terminate() is honoured) and the stall bound spans many slices.
 *  An observation older than a second belongs to an earlier, unrelated wait. */
struct StallWatch {
  uint32_t tid = 0;
  uint64_t progress = 0;
  int64_t since = 0;
  int64_t last_seen = 0;
  uint32_t stalled_tid = 0;  // set by the holder check when it gave up
};

/** The calling thread's kernel id (the lock word names its holder by it) and its StallWatch, with
 *  neither a system call per lock nor thread_local: the TLS of a dlopen'ed addon is allocated with
 *  malloc on a thread's first use, which gives every waiter thread a malloc arena of its own (64 MiB
 *  of address space each). A queue handle is used by two threads, its JS thread and its waiter
 *  thread, and both live as long as the handle: two slots keyed by pthread_self() cover it (any
 *  other thread asks the kernel each time). */
class ThreadSlots {
 public:
  struct Slot {
    std::atomic<uintptr_t> thread{0};
    std::atomic<uint32_t> tid{0};
    StallWatch stall;  // only ever used by the slot's own thread
  };
  /** The caller's slot, or null (a third thread: then *tid is filled from the kernel). */
  Slot* Find(uint32_t* tid) {
    uintptr_t self = uintptr_t(pthread_self());
    for (Slot& s : slots_) {
      if (s.thread.load(std::memory_order_relaxed) == self) {
        *tid = s.tid.load(std::memory_order_relaxed);
        return &s;
      }
    }
    return Claim(self, tid);
  }
  uint32_t Tid() {
    uint32_t tid;
    Find(&tid);
    return tid;
  }

 private:
  Slot* Claim(uintptr_t self, uint32_t* tid);
  Slot slots_[2];
};

class SegmentLock {
 public:
  SegmentLock(const Segment& seg, Records& records, ErrorLog& log) : seg_(seg), records_(records), log_(log) {}

  /** How long a call that must not wait tries for the lock before it answers kBusy. Long enough
   *  for a few holder checks (a dead holder's lock is recovered within the first 2 ms slice), short
   *  enough that such calls return within 100 ms. */
  static constexpr int64_t kNoWaitMs = 20;

  /** For waits: kOk (held), kTimedOut, kLockStalled, or kCorrupt (nothing held then). A timeout
   *  below 100 ms is raised to 100 ms (a blocked lock is re-checked in slices). */
  int Lock(TimeoutMs timeout) {
    // The fast path of every put and get: one compare-and-swap.
    if (shmq_lock_try(Word(), threads_.Tid()) == SHMQ_LOCKED) return kOk;
    return Contended(timeout < 0 ? -1 : std::max<TimeoutMs>(timeout, 100), kTimedOut);
  }
  /** For calls that must not wait: kOk, kBusy (not taken within kNoWaitMs), kLockStalled, kCorrupt. */
  int LockNoWait() { return LockWithin(kNoWaitMs); }
  /** The same with a budget of its own (open's attach, which may take a little longer: 50 ms). */
  int LockWithin(int64_t ms) {
    if (shmq_lock_try(Word(), threads_.Tid()) == SHMQ_LOCKED) return kOk;
    return Contended(ms, kBusy);
  }
  void Unlock() { shmq_lock_unlock(Word()); }

 private:
  uint32_t* Word() const { return reinterpret_cast<uint32_t*>(&seg_.header->lock); }
  int Contended(TimeoutMs budget, int on_timeout);
  int Recover();
  static int CheckHolder(void* self, uint32_t word);

  const Segment& seg_;
  ThreadSlots threads_;
  Records& records_;
  ErrorLog& log_;
};

}  // namespace shmq
