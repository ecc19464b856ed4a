// The segment lock: one robust, process-shared pthread mutex in the header. A holder that dies is
// recovered (EOWNERDEAD: re-validate, recount, pthread_mutex_consistent); a lock word naming no
// possible holder is handed back; a live holder that makes no progress for the stall bound is
// reported instead of waited on forever.
#pragma once

#include <errno.h>
#include <pthread.h>

#include <cstdint>

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

  /** kOk (held), kTimedOut, or kCorrupt (the lock or the queue is unusable; nothing held). */
  int Lock(TimeoutMs timeout) {
    pthread_mutex_t& m = seg_.header->mutex;
    // The fast path of every put and get: one compare and one trylock.
    if (glibc_mutex::Kind(m) != glibc_mutex::RobustSharedKind()) return BadKind();
    int err = pthread_mutex_trylock(&m);
    if (err == 0) return kOk;
    return Contended(err, timeout);
  }
  void Unlock() { pthread_mutex_unlock(&seg_.header->mutex); }

 private:
  int BadKind();
  int Contended(int err, TimeoutMs timeout);
  int Recover();
  bool HolderGone(uint32_t lock_word) const;

  const Segment& seg_;
  Records& records_;
  ErrorLog& log_;
};

}  // namespace shmq
