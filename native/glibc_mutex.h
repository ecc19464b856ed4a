// THE shim over glibc's private pthread_mutex_t layout. Nothing else in shm-queue reads a field of
// a pthread_mutex_t; everything that does is here, documented, and has a stub for other libcs.
//
// Why read private fields at all: the mutex lives in memory that any process with write access may
// scribble on, and glibc trusts its own fields. Two of them matter:
// - __data.__kind, written once by pthread_mutex_init. A scribbled kind turns the lock into another
//   kind of mutex (non-robust, process-private, priority-protected) whose code paths may wait on a
//   private futex forever or assert(); the lock refuses a kind other than the one it initialised.
// - __data.__lock, the robust futex word (kernel ABI, linux/futex.h): holder tid | FUTEX_WAITERS |
//   FUTEX_OWNER_DIED. A word that names no possible holder is handed back the way the kernel hands
//   back a dead robust holder's lock (see RobustLock).
// Both fields have had these names and meanings since glibc 2.3 (nptl); musl lays the mutex out
// differently, so there the checks are compiled out (kAvailable false) and the lock relies on the
// kernel's robust list alone.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace shmq {
namespace glibc_mutex {

#ifdef __GLIBC__
constexpr bool kAvailable = true;

inline int Kind(const pthread_mutex_t& m) {
  return m.__data.__kind;
}

inline std::atomic<uint32_t>* LockWord(pthread_mutex_t& m) {
  return reinterpret_cast<std::atomic<uint32_t>*>(&m.__data.__lock);
}

/** The __kind glibc stores for a robust, process-shared mutex (what InitRobustMutex makes). */
inline int RobustSharedKind() {
  static const int kind = [] {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &attr);
    pthread_mutexattr_destroy(&attr);
    int k = m.__data.__kind;
    pthread_mutex_destroy(&m);
    return k;
  }();
  return kind;
}
#else
constexpr bool kAvailable = false;
inline int Kind(const pthread_mutex_t&) {
  return 0;
}
inline std::atomic<uint32_t>* LockWord(pthread_mutex_t&) {
  return nullptr;
}
inline int RobustSharedKind() {
  return 0;
}
#endif

}  // namespace glibc_mutex
}  // namespace shmq
