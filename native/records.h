// The record ring: variable-length records [u32 length][u32 flags][payload][pad to 8] in the data
// region, indexed by `head` and `tail` (total bytes ever consumed / produced).
//
// Crash-safety invariant: every change of the queue's contents is published by ONE store of an
// index made as the LAST step under the lock. A put copies the record first and then advances
// `tail`; a get copies the payload out first and then advances `head`. A process killed at any
// instant therefore leaves either the old or the new state, never a torn record; `count` is the
// only derived field and Repair() recomputes it by walking the records.
//
// Everything read from the ring is untrusted (any process with write access may scribble on it):
// every length and index is checked before use, and an impossible one is kCorrupt.
#pragma once

#include <cstdint>

#include "segment.h"
#include "status.h"

namespace shmq {

class Records {
 public:
  Records(const Segment& seg, ErrorLog& log) : seg_(seg), log_(log) {}

  // All *Locked methods need the segment lock held.
  /** Appends one record. kOk, kFull, kShutdown or kCorrupt. */
  int TryPushLocked(const uint8_t* data, uint32_t len);
  /** Copies the record at head (consume) or at *cursor (peek, which advances *cursor) into out.
   *  Its length, or kEmpty, kShutdown, kNeedSpace (see needed()) or kCorrupt. */
  int64_t TryShiftLocked(uint8_t* out, uint64_t out_cap, bool consume, uint64_t* cursor);
  /** Re-validates the indices and every record between them, and recomputes `count`. */
  int Repair();
  /** `count`, recomputed first if a scribbler made it impossible. */
  uint32_t CountLocked();
  /** Does `event`'s predicate hold (for a kNotFull waiter: is there room for `needed` bytes)? */
  bool ReadyLocked(Event event, uint32_t needed);
  /** The same, lock-free and approximate: a hint for the spin before a wait. */
  bool ReadyHint(Event event, uint32_t needed) const;
  /** Lock-free message count, clamped to what the used bytes can hold. */
  uint32_t Count() const;
#ifdef SHM_QUEUE_TEST_HOOKS
  /** TEST ONLY: writes a record header for `len` bytes plus the first `written` payload bytes at
   *  the tail, unpublished, as a put killed mid-copy leaves it. */
  void TearLocked(const uint8_t* data, uint32_t len, uint32_t written);
#endif
  /** With kNeedSpace: the length of the message that did not fit. */
  uint64_t needed() const {
    return needed_;
  }

 private:
  int CheckIndices(uint64_t head, uint64_t tail);

  const Segment& seg_;
  ErrorLog& log_;
  uint64_t needed_ = 0;
};

}  // namespace shmq
