// The segment lock: the lock word of lock_word.h in the header (layout version 2), the same for every
// process whatever its libc. A holder that dies is recovered (the next taker repairs the records and
// counts a recovery); a lock word naming no possible holder (a dead thread, a thread of a process that
// does not map this segment, a scribble) is handed back; a live holder that makes no progress for the
// stall bound is reported instead of waited on forever.
#pragma once

#include <cstdint>

#include "clock.h"
#include "lock_word.h"
#include "procfs.h"
#include "segment.h"
#include "status.h"

namespace shmq {

class Records;

class SegmentLock {
 public:
  SegmentLock(const Segment& seg, Records& records, ErrorLog& log) : seg_(seg), records_(records), log_(log) {}

  /** kOk (held), kTimedOut, or kCorrupt (the lock or the queue is unusable; nothing held). */
  int Lock(TimeoutMs timeout) {
    // The fast path of every put and get: one compare-and-swap.
    int r = shmq_lock_try(Word(), uint32_t(CurrentTid()));
    if (r == SHMQ_LOCKED) return kOk;
    return Contended(timeout);
  }
  void Unlock() { shmq_lock_unlock(Word()); }

 private:
  uint32_t* Word() const { return reinterpret_cast<uint32_t*>(&seg_.header->lock); }
  int Contended(TimeoutMs timeout);
  int Recover();
  static int CheckHolder(void* self, uint32_t word);

  const Segment& seg_;
  Records& records_;
  ErrorLog& log_;
};

}  // namespace shmq
