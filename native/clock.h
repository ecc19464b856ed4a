// Clocks and deadlines. Waits measure time on CLOCK_MONOTONIC (immune to wall-clock steps); only
// the timestamps shown to people (created/attached/detached at) use the wall clock.
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdint>

namespace shmq {

/** Milliseconds: < 0 waits forever, 0 does not wait. */
using TimeoutMs = int64_t;

inline uint64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/** CLOCK_MONOTONIC now + `ms`, as the absolute timespec that pthread_mutex_clocklock takes. */
inline timespec MonotonicAfter(int64_t ms) {
  timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_sec += ms / 1000;
  abs.tv_nsec += (ms % 1000) * 1000000;
  if (abs.tv_nsec >= 1000000000) {
    abs.tv_sec++;
    abs.tv_nsec -= 1000000000;
  }
  return abs;
}

/** An absolute CLOCK_MONOTONIC deadline; timeout < 0 never expires. */
class Deadline {
 public:
  explicit Deadline(TimeoutMs timeout) : timeout_(timeout) {}
  bool expired() { return timeout_ >= 0 && NowMs() >= At(); }
  /** Milliseconds to sleep now: at most `slice`, never past the deadline. */
  int64_t Slice(int64_t slice) {
    if (timeout_ < 0) return slice;
    return std::max<int64_t>(0, std::min(slice, At() - NowMs()));
  }
  /** What is left as a timeout for a nested wait: -1 (forever) or the remaining ms. */
  TimeoutMs Remaining() { return timeout_ < 0 ? -1 : Slice(INT32_MAX); }

 private:
  // The clock is read when the deadline is first consulted, not when it is made: an operation
  // that completes at once (every uncontended put and get) never reads it. Callers make their
  // first attempt with the raw timeout, so the deadline starts after that attempt, which takes
  // microseconds (or returns at once with kTimedOut when the lock itself stayed busy).
  int64_t At() {
    if (!started_) {
      at_ = NowMs() + timeout_;
      started_ = true;
    }
    return at_;
  }
  TimeoutMs timeout_;
  bool started_ = false;
  int64_t at_ = 0;
};

}  // namespace shmq
