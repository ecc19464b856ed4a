#include "waiters.h"

#include <algorithm>

#include "lock.h"
#include "records.h"

namespace shmq {

namespace {
constexpr int64_t kWaitSliceMs = 200;      // waits wake at least this often to re-check state
constexpr int64_t kStuckFirstSliceMs = 3;  // ... and sooner behind another process's in-flight record
constexpr int64_t kWaitSpinNs = 30000;     // longest a waiter polls before it sleeps on the futex
constexpr int64_t kMinSpinNs = 1000;       // below this, a waiter sleeps at once (but see kSpinProbe)
constexpr uint32_t kSpinProbe = 64;        // ...and polls in full once every kSpinProbe waits
constexpr int kNoVerdict = 1;              // Spin(): the hint did not turn true
constexpr int kSyncPausesPerPoll = 8;      // Spin(): pauses between two looks at the hint, sync callers
}  // namespace

int Waiters::Spin(Event event, uint32_t needed, const std::atomic<bool>* cancel) {
  // Spin briefly first: between two busy peers the condition usually turns true within
  // microseconds, and a futex sleep + wake-up costs tens of them. The hint is only a hint; the
  // caller retries the real operation under the lock.
  // Polling pays only while the peer has a core to run on: with more runnable threads than
  // cores it takes CPU time from the very peer it waits for (a 64-byte ping-pong went from
  // 16 us with no polling to 83 us with 30 us of polling on a loaded 2-core machine). So the
  // budget adapts: doubled (up to kWaitSpinNs) when a poll saw the event, cut by a quarter when
  // it did not (so polling goes on while at least ~30% of polls pay off); below kMinSpinNs the
  // waiter sleeps at once, except for one full poll every kSpinProbe waits that notices when
  // polling would pay again.
  int64_t budget = spin_ns_.load(std::memory_order_relaxed);
  bool probe = budget < kMinSpinNs && spin_probe_.fetch_add(1, std::memory_order_relaxed) % kSpinProbe == 0;
  if (probe) budget = kWaitSpinNs;
  if (budget < kMinSpinNs) return kNoVerdict;
  int64_t until = NowNs() + budget;
  // A sync caller's polls are spaced out: the hint reads the cursors and the front record, lines
  // the other side writes in its critical section, and polling after every pause took them from it
  // so often that a flat-out put or get paid a cache miss for nearly every store (S1 one at a
  // time: ~10% faster spaced). The waiter thread (`cancel`) keeps polling after every pause: its
  // wake-up starts the async round trip's second hop (the ThreadSafeFunction), and S5's async
  // ping-pong, trimodal on this 2-core machine (~5, ~11, ~22 us), showed no gain from spacing.
  const int pauses = cancel == nullptr ? kSyncPausesPerPoll : 1;
  const int clock_mask = 64 / pauses - 1;  // the clock is read every 64 pauses either way
  for (int i = 0;; i++) {
    if (records_.ReadyHint(event, needed)) {
      spin_ns_.store(std::min(kWaitSpinNs, budget * 2), std::memory_order_relaxed);
      return kOk;
    }
    if (cancel && cancel->load(std::memory_order_relaxed)) return kCancelled;
    if ((i & clock_mask) == clock_mask && NowNs() >= until) break;
    for (int k = 0; k < pauses; k++) CpuRelax();
  }
  spin_ns_.store(probe ? 0 : budget - budget / 4, std::memory_order_relaxed);
  return kNoVerdict;
}

void Waiters::WaitHint(Event event, uint32_t needed, int64_t ms) {
  Words w = WordsOf(event);
  w.waiters->fetch_add(1);
  Deadline deadline(ms);
  for (;;) {
    uint32_t seq = Announce(w.seq);
    if (records_.ReadyHint(event, needed) || deadline.expired()) break;
    FutexWait(w.seq, seq, deadline.Slice(2));  // short slices: a dead owner is checked by the retry
  }
  w.waiters->fetch_sub(1);
}

int Waiters::Wait(Event event, uint32_t needed, TimeoutMs timeout, const std::atomic<bool>* cancel) {
  Deadline deadline(timeout);
  if (timeout != 0) {
    int st = Spin(event, needed, cancel);
    if (st == kCancelled) return st;
    // A sync caller retries its operation under the lock anyway: the hint is enough. The waiter
    // thread (the one that passes `cancel`) confirms it under the lock before reporting: while a
    // stopped process holds the lock, it then sleeps in the lock wait instead of reporting an event
    // that no operation can act on (JS would retry, get kBusy, and ask again, in a loop).
    if (st == kOk && cancel == nullptr) return kOk;
  }
  Words w = WordsOf(event);
  w.waiters->fetch_add(1);
  int result = kTimedOut;
  // Behind another process's in-flight record, sleep in short slices first (2 ms, growing to the
  // normal slice): if its owner died, nobody will signal, and the re-check gives the record back.
  int64_t stuck_slice = kStuckFirstSliceMs;
  for (;;) {
    uint32_t seq = Announce(w.seq);
    if (cancel && cancel->load()) {
      result = kCancelled;
      break;
    }
    int st = lock_.Lock(deadline.Slice(INT32_MAX));
    if (st == kTimedOut) break;
    if (st != kOk) {
      result = st;
      break;
    }
    Readiness ready = records_.ReadyLocked(event, needed);
    bool changed = records_.TakeChanged();
    lock_.Unlock();
    if (changed) {
      WakeAll(Event::kNotEmpty);
      WakeAll(Event::kNotFull);
    }
    if (ready == Readiness::kReady) {
      result = kOk;
      break;
    }
    if (deadline.expired()) break;
    int64_t slice = kWaitSliceMs;
    if (ready == Readiness::kStuck) {
      slice = stuck_slice;
      stuck_slice = std::min(kWaitSliceMs, stuck_slice * 4);
    }
    FutexWait(w.seq, seq, deadline.Slice(slice));
  }
  w.waiters->fetch_sub(1);
  return result;
}

}  // namespace shmq
