#include "lock.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "procfs.h"
#include "records.h"

namespace shmq {

namespace {

constexpr int kLockSpins = 200;           // trylock attempts before sleeping on the mutex
constexpr int64_t kLockSliceMs = 250;     // lock waits re-check the holder's liveness this often
constexpr int64_t kLockFirstSliceMs = 2;  // ... and first after this long
constexpr int64_t kLockStallMs = 15000;   // a live holder that makes no progress this long is reported

/** kLockStallMs, unless SHM_QUEUE_LOCK_STALL_MS overrides it (for the fuzzer and tests). */
int64_t LockStallMs() {
  static const int64_t ms = [] {
    const char* env = getenv("SHM_QUEUE_LOCK_STALL_MS");
    long long v = env ? atoll(env) : 0;
    return v > 0 ? int64_t(v) : kLockStallMs;
  }();
  return ms;
}

/** What a thread saw of a lock it could not get: kept across Lock() calls, because sync callers
 *  wait in slices (so that worker.terminate() is honoured) and the stall bound spans many slices.
 *  An observation older than a second belongs to an earlier, unrelated wait. */
struct StallWatch {
  const void* lock = nullptr;
  uint32_t tid = 0;
  uint64_t progress = 0;
  int64_t since = 0;
  int64_t last_seen = 0;
};
thread_local StallWatch tls_stall;

}  // namespace

int InitRobustMutex(pthread_mutex_t* m) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int err = pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
  return err;
}

int RobustLock::BadKind() {
  return log_.Corrupt("its lock was overwritten (unknown mutex kind)");
}

int RobustLock::Contended(int err, TimeoutMs timeout) {
  pthread_mutex_t& m = seg_.header->mutex;
  // Lock waits are sliced so that a lock word naming a holder that no longer exists (a scribbled
  // word, or a robust list the kernel never processed) is noticed instead of waited on forever.
  // Critical sections are a few hundred nanoseconds, and glibc's robust mutex sleeps at once when
  // contended: a short trylock spin avoids a futex round trip per operation between two busy peers.
  for (int i = 1; err == EBUSY && i < kLockSpins; i++) {
    CpuRelax();
    err = pthread_mutex_trylock(&m);
  }
  if (err == 0) return kOk;
  if (err == EOWNERDEAD) return Recover();
  // Other errors are reported by the slow path below.
  Deadline deadline(timeout < 0 ? -1 : std::max<TimeoutMs>(timeout, 100));
  // The first slice is short so that a stale lock word is recovered within milliseconds (even by
  // a get/put with timeout 0); later slices grow to kLockSliceMs.
  int64_t slice = kLockFirstSliceMs;
  StallWatch& stall = tls_stall;
  if (stall.lock != this || NowMs() - stall.last_seen > 1000) stall = StallWatch{this, 0, 0, NowMs(), NowMs()};
  for (;;) {
    timespec abs = MonotonicAfter(deadline.Slice(slice));
    slice = std::min<int64_t>(slice * 4, kLockSliceMs);
    err = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &abs);
    if (err == 0) return kOk;
    if (err == EOWNERDEAD) return Recover();
    if (err != ETIMEDOUT) return log_.Corrupt("the queue lock is unusable (" + std::string(strerror(err)) + ")");
    if (std::atomic<uint32_t>* word = glibc_mutex::LockWord(m)) {
      // If the word names no possible holder, hand the lock back the way the kernel does for a
      // robust holder that died: mark it OWNER_DIED, so that the next locker gets EOWNERDEAD and
      // repairs. The compare-exchange only succeeds if the word still holds the value we judged,
      // so a lock that changed hands in between is left alone.
      uint32_t seen = word->load();
      if (HolderGone(seen)) {
        uint32_t expected = seen;
        if (word->compare_exchange_strong(expected, FUTEX_OWNER_DIED | (seen & FUTEX_WAITERS))) FutexWake(word, 1);
        continue;
      }
      // A live holder that keeps the lock while the queue makes no progress at all for
      // kLockStallMs is stopped (SIGSTOP, a debugger) or is a live process named by a scribbled
      // word: report it rather than wait forever (guarantee: lock waits are bounded).
      const Header* h = seg_.header;
      uint32_t tid = seen & FUTEX_TID_MASK;
      uint64_t progress = h->head.load(std::memory_order_relaxed) + h->tail.load(std::memory_order_relaxed) +
                          h->puts.load(std::memory_order_relaxed) + h->gets.load(std::memory_order_relaxed);
      stall.last_seen = NowMs();
      if (tid != stall.tid || progress != stall.progress) {
        stall.tid = tid;
        stall.progress = progress;
        stall.since = stall.last_seen;
      } else if (stall.last_seen - stall.since >= LockStallMs()) {
        return log_.Corrupt("its lock has been held by thread " + std::to_string(tid) + " for more than " +
                            std::to_string(LockStallMs()) +
                            " ms without any progress (a stopped process, or a corrupt lock word)");
      }
    }
    if (deadline.expired()) return kTimedOut;
  }
}

bool RobustLock::HolderGone(uint32_t word) const {
  if (word == 0) return false;  // free right now: just retry
  pid_t tid = pid_t(word & FUTEX_TID_MASK);
  // OWNER_DIED without a holder is the kernel's own hand-back, which glibc turns into EOWNERDEAD.
  // Any other value without a holder (e.g. a lone FUTEX_WAITERS bit) is never written by glibc or
  // the kernel and would make every locker wait forever.
  if (tid == 0) return (word & FUTEX_OWNER_DIED) == 0;
  if (tid == CurrentTid()) return true;  // we never lock recursively, so it is not ours
  if (!ThreadAlive(tid)) return true;
  // A thread that exists but whose process does not map this segment (a recycled id, a scribbled
  // word naming e.g. pid 1, a zombie) cannot hold the lock. Unknown (no permission to read its
  // maps) counts as "may hold it".
  return MapsFile(tid, seg_.dev, seg_.ino) == 0;
}

int RobustLock::Recover() {
  // We hold the lock, and its previous holder died holding it. Indices are always valid (see the
  // invariant in records.h); only `count` may be stale. Repair, make the mutex usable again, count
  // it. A process that shrank the file (ftruncate) makes any access past the new end SIGBUS. That
  // cannot be prevented cheaply on every access (see README, "Crash safety"), but a recovery is
  // the moment something went wrong, and Repair() is about to read every record: check first.
  struct stat fst;
  int st = seg_.fd >= 0 && fstat(seg_.fd, &fst) == 0 && uint64_t(fst.st_size) < seg_.map_size
               ? log_.Corrupt("its file was truncated to " + std::to_string(fst.st_size) + " bytes while open")
               : records_.Repair();
  pthread_mutex_consistent(&seg_.header->mutex);
  seg_.header->recoveries.fetch_add(1, std::memory_order_relaxed);
  if (st != kOk) {
    Unlock();
    return st;
  }
  return kOk;
}

}  // namespace shmq
