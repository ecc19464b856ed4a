// The record ring of layout version 2: variable-length records [u32 length][u32 state][payload][pad
// to 8] in the data region, a true byte ring (a payload may run over the end of the ring and go on
// at its start: it is copied in two parts), indexed by three u64 byte counters that only grow:
//
//   head <= read <= tail,  tail - head <= capacity
//   [head, read)  records that gets have claimed: CLAIMED (being copied out) or DONE (copied)
//   [read, tail)  records that puts have reserved: BUSY (being copied in) or READY (published);
//                 CLAIMED/DONE ones appear here only behind a record that was given back (see below)
//
// Puts: ReserveLocked (under the lock: a BUSY record owned by this process, `tail` advanced), CopyIn
// and Publish (no lock: the payload, then READY with a release store). Gets: ClaimLocked (under the
// lock: the READY record at `read` becomes CLAIMED by this process, `read` advanced), CopyOut and
// Release (no lock: the payload, then DONE with a release store, and `head` moved over the DONE
// prefix with a compare-and-swap). So no payload is ever copied under the lock, producers and
// consumers copy at the same time, and several consumers copy in parallel. FIFO is strict: a get
// only ever claims the record at `read`, in reservation order; a BUSY record there makes gets wait
// for its publication (a put that has not returned).
//
// Counting: `count` is the number of BUSY or READY records at or after `read`: reserved and not yet
// claimed. maxsize bounds it, qsize() reports it; every returned put is in it until a get claims it.
//
// Crash safety. The lock guards only index updates, and Repair() (run by the next taker when a lock
// holder died) re-derives `read` and `count` from the record states, so a holder killed anywhere in a
// critical section leaves nothing a repair cannot fix. A process killed outside the lock leaves at
// most its own in-flight records:
//   - BUSY, owner dead: its put never returned. The get that finds it at `read` discards it (DONE):
//     nothing acknowledged is lost, nothing torn is delivered.
//   - CLAIMED, owner dead: its get never returned. It becomes READY again, `read` moves back to it,
//     and the next get delivers it, before anything newer: nothing is lost or seen twice.
// A get or put stuck behind such a record re-checks its owner after 2 ms and then every 250 ms
// (procfs.h: dead only when /proc or kill(2) proves it; "cannot tell" is alive).
//
// Everything read from the ring is untrusted (any process with write access may scribble on it):
// every length, state and index is checked before use, and an impossible one is kCorrupt.
#pragma once

#include <cstdint>
#include <vector>

#include "segment.h"
#include "status.h"

namespace shmq {

/** Internal status (never reaches JS): the record at the front is BUSY, its put still copying. */
constexpr int kInFlight = -100;

/** What a waiter's predicate found (Records::ReadyLocked). */
enum class Readiness { kNotYet, kReady, kStuck /* behind another process's in-flight record */ };

class Records {
 public:
  Records(const Segment& seg, ErrorLog& log) : seg_(seg), log_(log) {}

  // ---- puts
  /** Under the lock: reserves a BUSY record for `len` bytes at the tail; *at = its index.
   *  kOk, kFull, kShutdown or kCorrupt. The later records of a batch skip the upkeep (moving `head`,
   *  looking for dead consumers) that the first one did under the same lock. */
  int ReserveLocked(uint32_t len, uint64_t* at, bool first_of_batch = true);
  /** Under the lock, right after a ReserveLocked that succeeded (same lock hold): reserves BUSY
   *  records for lens[0..n) behind it, while they fit and maxsize allows, without re-reading or
   *  re-checking what that call checked (shutdown, the indices, dead claims). Returns how many; the
   *  records are contiguous from the one before. */
  uint32_t ReserveRunLocked(const uint32_t* lens, uint32_t n);
  /** No lock: copies the payload (its first `n` bytes) of the record reserved at `at`, split at the
   *  end of the ring. */
  void CopyIn(uint64_t at, const uint8_t* data, uint32_t len, uint32_t n = UINT32_MAX);
  /** No lock: publishes the record at `at` (READY, release) and counts `puts` puts (a batch counts
   *  its puts once, with its last record). */
  void Publish(uint64_t at, uint32_t puts = 1);

  // ---- gets
  /** Under the lock: claims the READY record at `read` if its payload fits out_cap; *at = its index.
   *  Its length, or kEmpty, kShutdown, kInFlight, kNeedSpace (see needed()) or kCorrupt. */
  int64_t ClaimLocked(uint64_t out_cap, uint64_t* at, bool first_of_batch = true);
  /** Under the lock, right after a ClaimLocked that returned a length (same lock hold): claims the
   *  READY records that follow at `read`, up to `max` and while each fits what is left of out_cap
   *  (out_cap shrinks by each aligned length), writing their lengths to `lens`. Stops at anything
   *  else (end, BUSY, a skipped or suspicious record), which the next ClaimLocked handles. Returns
   *  how many; the records are contiguous from the one before. */
  uint32_t ClaimRunLocked(uint64_t out_cap, uint32_t max, uint32_t* lens);
  /** No lock: copies the payload (its first `n` bytes) of the record claimed at `at`. */
  void CopyOut(uint64_t at, uint8_t* out, uint32_t len, uint32_t n = UINT32_MAX) const;

  /** No lock: marks the claimed record DONE, counts `gets` gets and, when `advance`, moves `head`
   *  over the DONE prefix (a batch counts and advances once, with its last record). */
  void Release(uint64_t at, uint32_t gets = 1, bool advance = true);
  /** No lock: Release(at) for a single get of the `len`-byte record at `at`; `more`: records were
   *  reserved behind it when it was claimed. Moves `head` over it when it is the oldest, and over
   *  the DONE records behind it only when `more` and the next one is DONE; otherwise those wait for
   *  their own get, the next put short of room, a waiter or stats() (each walks the DONE prefix). */
  void ReleaseOne(uint64_t at, uint32_t len, bool more);
  /** Under the lock: copies up to `max` READY records from `read` on without claiming them. */
  int64_t PeekLocked(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens);

  // ---- upkeep
  /** Re-validates the indices and every record between them, and re-derives `read` and `count`. */
  int Repair();
  /** `count`, recomputed first if a scribbler made it impossible. */
  uint32_t CountLocked();
  /** Does `event`'s predicate hold (for a kNotFull waiter: is there room for `needed` bytes)? Gives
   *  back records of dead owners on the way (kStuck: re-check soon). */
  Readiness ReadyLocked(Event event, uint32_t needed);
  /** The same, lock-free and approximate: a hint for the spin before a wait. */
  bool ReadyHint(Event event, uint32_t needed) const;
  /** Lock-free message count, clamped to what the used bytes can hold (0 after an immediate
   *  shutdown, whose discard may still be pending). */
  uint32_t Count() const;
  /** Under the lock, after shutdown(immediate): drops every READY message (each counted as done for
   *  join()). Done by Shutdown() when it gets the lock at once, else by the next get or put that
   *  takes it (and by a put that publishes after it). Returns how many. */
  uint32_t SweepLocked();
  /** Moves `head` over the DONE records at its front (lock-free; any thread, any time). */
  void AdvanceHead();
  /** A get's batch of consecutive records [from, to), all released (DONE) by it: moves `head` from
   *  `from` to `to` in one compare-and-swap (if it is still at `from`), then on as AdvanceHead. */
  void AdvanceHeadOver(uint64_t from, uint64_t to);
  static uint64_t RecordBytes(uint32_t len) { return kRecordHeaderSize + Align8(len); }
  /** Did the last locked call give back or discard a dead owner's record? (Then the caller wakes
   *  every waiter: what they wait for may have changed.) Clears the flag. */
  bool TakeChanged() {
    bool c = changed_;
    changed_ = false;
    return c;
  }
#ifdef SHM_QUEUE_TEST_HOOKS
  /** TEST ONLY: writes a record header for `len` bytes plus the first `written` payload bytes at
   *  the tail, unreserved, as a lock holder killed in mid-update leaves it. */
  void TearLocked(const uint8_t* data, uint32_t len, uint32_t written);
#endif
  /** With kNeedSpace: the length of the message that did not fit. */
  uint64_t needed() const {
    return needed_;
  }

 private:
  /** Ring offset of the payload of the record at `at` (a header never straddles the end, so
   *  only a header that ends exactly at the end puts its payload at 0). The wrap-split copies of
   *  CopyIn and CopyOut start here. */
  uint64_t PayloadPos(uint64_t at) const {
    uint64_t pos = seg_.Pos(at) + kRecordHeaderSize;
    return pos == seg_.capacity ? 0 : pos;
  }
  int CheckIndices(uint64_t head, uint64_t read, uint64_t tail);
  /** Is the in-flight record at `at` (state word `w`) stuck with a dead owner? Once the same record
   *  has been seen in the same state for 2 ms: kill(pid, 0) on every look (a reaped owner is noticed
   *  at once), and the full /proc check after 2, 8, 32, 128 and then every 250 ms (a zombie). */
  struct Watch;
  bool StuckOwnerGone(Watch& watch, uint64_t at, uint32_t w);
  /** Gives back every CLAIMED record of a dead owner in [head, read): READY again, `read` moved
   *  back to the oldest. True if any was. */
  bool RequeueDeadClaimsLocked();
  void DiscardLocked(uint64_t at);
  /** `unfinished` -= n, not below 0. taskDone() changes it without the lock: a compare-exchange. */
  void DropUnfinished(uint64_t n);

  const Segment& seg_;
  ErrorLog& log_;
  uint64_t needed_ = 0;
  // Guarded by the segment lock (only touched by its holder): the in-flight record last seen holding
  // the front back, one for BUSY records at `read` and one for CLAIMED records at `head`.
  struct Watch {
    uint64_t at = UINT64_MAX;
    uint32_t word = 0;
    int64_t stuck_at_ms = 0;   // from then on, a cheap check (kill: ESRCH) on every look
    int64_t next_full_ms = 0;  // the next full check (/proc: zombie, start time, maps)
    int64_t every_ms = 0;      // ... and the one after, later
    bool gone = false;
  };
  Watch busy_watch_, claim_watch_;
  // Guarded by the lock: `head` as this process's last put saw it with a claim at the front.
  uint64_t front_seen_ = UINT64_MAX;
  bool changed_ = false;
};

}  // namespace shmq
