// The segment lock: one robust, process-shared pthread mutex in the header. A holder that dies is
// recovered (EOWNERDEAD: re-validate, recount, pthread_mutex_consistent); a lock word naming no
// possible holder is handed back; a live holder that makes no progress for the stall bound is
// reported instead of waited on forever.
#pragma once

#include <errno.h>
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "clock.h"
#include "futex.h"
#include "glibc_mutex.h"
#include "segment.h"
#include "status.h"

namespace shmq {

class Records;

/** pthread_mutex_init of a robust, process-shared mutex: 0 or an errno. */
int InitRobustMutex(pthread_mutex_t* m);

class RobustLock {
 public:
  RobustLock(const Segment& seg, Records& records, ErrorLog& log) : seg_(seg), records_(records), log_(log) {}

  /** How long a call that must not wait tries for the lock before it answers kBusy. Long enough
   *  for a few holder checks (a dead holder's lock is recovered within the first 2 ms slice), short
   *  enough that such calls return within 100 ms. */
  static constexpr int64_t kNoWaitMs = 20;

  /** For waits: kOk (held), kTimedOut, kLockStalled, or kCorrupt (nothing held then). A timeout
   *  below 100 ms is raised to 100 ms (a blocked lock is re-checked in slices). */
  int Lock(TimeoutMs timeout) { return Acquire(timeout < 0 ? -1 : std::max<TimeoutMs>(timeout, 100), kTimedOut); }
  /** For calls that must not wait: kOk, kBusy (not taken within kNoWaitMs), kLockStalled, kCorrupt. */
  int LockNoWait() { return Acquire(kNoWaitMs, kBusy); }
  /** The same with a budget of its own (open's attach, which may take a little longer: 50 ms). */
  int LockWithin(int64_t ms) { return Acquire(ms, kBusy); }
  void Unlock() { pthread_mutex_unlock(&seg_.header->mutex); }

 private:
  int Acquire(TimeoutMs budget, int on_timeout) {
    pthread_mutex_t& m = seg_.header->mutex;
    // The fast path of every put and get: one compare and one trylock.
    if (glibc_mutex::Kind(m) != glibc_mutex::RobustSharedKind()) return BadKind();
    int err = pthread_mutex_trylock(&m);
    if (err == 0) return kOk;
    return Contended(err, budget, on_timeout);
  }
  /** What one thread saw of the lock while it could not get it, kept across Lock() calls: sync
   *  callers wait in slices (so that worker.terminate() is honoured) and the stall bound spans many
   *  slices. Kept here rather than in thread_local storage: TLS of a dlopen()ed library is
   *  allocated with malloc on a thread's first use, and a waiter thread that mallocs gets a malloc
   *  arena of its own (64 MiB of address space each). One handle's lock is used by two threads, its
   *  JS thread and its waiter thread: two slots. */
  struct StallWatch {
    pid_t thread = 0;
    uint32_t holder = 0;
    uint64_t progress = 0;
    int64_t since = 0;
    int64_t last_seen = 0;
  };
  StallWatch LoadWatch(pid_t self);
  void StoreWatch(const StallWatch& w);
  int BadKind();
  int Contended(int err, TimeoutMs budget, int on_timeout);
  int Recover();
  bool HolderGone(uint32_t lock_word) const;

  const Segment& seg_;
  Records& records_;
  ErrorLog& log_;
  std::mutex stall_mutex_;
  StallWatch stall_[2];
};

}  // namespace shmq
