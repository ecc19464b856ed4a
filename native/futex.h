// THE futex wrappers: shared ones for words in the segment (other processes wait on them too) and
// private ones for words in our own memory (the binding's waiter thread). Linux only.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace shmq {

namespace futex_detail {
inline void Wait(std::atomic<uint32_t>* word, int op, uint32_t expected, int64_t ms) {
  timespec ts{time_t(ms / 1000), long((ms % 1000) * 1000000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, expected, &ts, nullptr, 0);
}
inline void Wake(std::atomic<uint32_t>* word, int op, int n) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, n, nullptr, nullptr, 0);
}
}  // namespace futex_detail

/** Sleeps while `*word == expected`, at most `ms` (relative); any process mapping the word may wake it. */
inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int64_t ms) {
  futex_detail::Wait(word, FUTEX_WAIT, expected, ms);
}
/** Wakes up to `n` waiters of a shared word, in any process. */
inline void FutexWake(std::atomic<uint32_t>* word, int n = INT_MAX) {
  futex_detail::Wake(word, FUTEX_WAKE, n);
}
/** The same for a word only this process waits on (cheaper: no shared-key lookup). */
inline void FutexWaitPrivate(std::atomic<uint32_t>* word, uint32_t expected, int64_t ms) {
  futex_detail::Wait(word, FUTEX_WAIT_PRIVATE, expected, ms);
}
inline void FutexWakePrivate(std::atomic<uint32_t>* word, int n = INT_MAX) {
  futex_detail::Wake(word, FUTEX_WAKE_PRIVATE, n);
}

/** One pause of a spin loop (lets the sibling hyper-thread run). */
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace shmq
