// Condition variables of our own on the header's futex sequence words (DESIGN.md §4: never
// pthread_cond_t across processes). A waiter sets bit 0 of the sequence (kSleeper), re-checks its
// predicate under the lock and sleeps on the value it set; a signal that finds the bit bumps the
// sequence by 2, clears the bit and wakes, and one that finds it clear makes no syscall. A waiter
// killed while waiting leaves a stale waiter count and bit: one spurious wake-up, never a missed one.
#pragma once

#include <atomic>
#include <cstdint>

#include "clock.h"
#include "futex.h"
#include "segment.h"
#include "status.h"

namespace shmq {

class SegmentLock;
class Records;

class Waiters {
 public:
  Waiters(const Segment& seg, SegmentLock& lock, Records& records) : seg_(seg), lock_(lock), records_(records) {}

  /** Bit 0 of a sequence word: a waiter sleeps on the word's current value, or is about to (it
   *  set the bit before its last look at the predicate). Signals bump the word by 2 and clear it. */
  static constexpr uint32_t kSleeper = 1;

  /** After a state change: wakes `event`'s waiters in every process, if one announced a sleep
   *  (kSleeper). An uncontended put or get makes no syscall, and neither does one made while a
   *  waiter is awake anyway (still spinning, or woken and not yet running): only the first signal
   *  after a waiter announced its sleep wakes it. Call without the lock held. */
  void Signal(Event event) {
    // Pairs with the fence in Announce(): either the waiter sees our state change when it re-checks
    // its predicate, or we see its kSleeper bit here and wake it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Words w = WordsOf(event);
    if (w.waiters->load(std::memory_order_relaxed) == 0) return;
    uint32_t v = w.seq->load(std::memory_order_relaxed);
    while (v & kSleeper) {
      if (w.seq->compare_exchange_weak(v, (v + 2) & ~kSleeper)) {
        FutexWake(w.seq);
        return;
      }
    }
  }
  /** Wakes every thread of every process waiting on `event` (they re-check and may sleep again). */
  void WakeAll(Event event) {
    Words w = WordsOf(event);
    uint32_t v = w.seq->load(std::memory_order_relaxed);
    while (!w.seq->compare_exchange_weak(v, (v + 2) & ~kSleeper)) {
    }
    FutexWake(w.seq);
  }
  /** Blocks until the event's predicate holds (kOk), the timeout passes (kTimedOut), `*cancel`
   *  becomes true (kCancelled), or the segment is found corrupt. `needed` is the record size a
   *  kNotFull waiter needs room for. */
  int Wait(Event event, uint32_t needed, TimeoutMs timeout, const std::atomic<bool>* cancel);
  /** Lock-free and bounded: waits at most `ms` for the lock-free hint of `event` (for calls that
   *  must not wait: a put still copying the front record publishes and signals within microseconds). */
  void WaitHint(Event event, uint32_t needed, int64_t ms);

 private:
  struct Words {
    std::atomic<uint32_t>* seq;
    std::atomic<uint32_t>* waiters;
  };
  Words WordsOf(Event e) const {
    Header* h = seg_.header;
    switch (e) {
      case Event::kNotEmpty:
        return {&h->not_empty_seq, &h->not_empty_waiters};
      case Event::kNotFull:
        return {&h->not_full_seq, &h->not_full_waiters};
      default:
        return {&h->all_done_seq, &h->all_done_waiters};
    }
  }
  /** Sets kSleeper on `seq` (a waiter is about to look at its predicate for the last time before it
   *  sleeps) and returns the value to sleep on; a fence orders the store before that look. */
  static uint32_t Announce(std::atomic<uint32_t>* seq) {
    uint32_t v = seq->load(std::memory_order_relaxed);
    while (!(v & kSleeper) && !seq->compare_exchange_weak(v, v | kSleeper)) {
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return v | kSleeper;
  }
  /** Polls the lock-free hint for up to the adaptive budget (it learns from whether the hint
   *  turned true): kOk (the hint holds), kCancelled, or 1 (no verdict: sleep). */
  int Spin(Event event, uint32_t needed, const std::atomic<bool>* cancel);

  const Segment& seg_;
  SegmentLock& lock_;
  Records& records_;
  // How long Wait() polls before it sleeps, learned from whether polling paid off (see Spin()).
  // Used by the JS thread and the waiter thread alike: relaxed atomics, a lost update only
  // changes the next guess.
  std::atomic<int64_t> spin_ns_{30000};
  std::atomic<uint32_t> spin_probe_{0};
};

}  // namespace shmq
