// Condition variables of our own on the header's futex sequence words (DESIGN.md §4: never
// pthread_cond_t across processes). A signal bumps the sequence and wakes; a waiter re-checks its
// predicate under the lock and sleeps on the sequence it read before. A waiter killed while
// waiting leaves a stale waiter count: spurious wake-ups, never a missed one.
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

  /** After a state change: wakes `event`'s waiters in every process, if there are any (an
   *  uncontended put or get makes no syscall). Call without the lock held. */
  void Signal(Event event) {
    // Pairs with the waiter's fetch_add + seq load: either the waiter sees our state change when
    // it re-checks its predicate, or we see its count here and bump the sequence it waits on.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Words w = WordsOf(event);
    if (w.waiters->load(std::memory_order_relaxed) == 0) return;
    w.seq->fetch_add(1);
    FutexWake(w.seq);
  }
  /** Wakes every thread of every process waiting on `event` (they re-check and may sleep again). */
  void WakeAll(Event event) {
    Words w = WordsOf(event);
    w.seq->fetch_add(1);
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
