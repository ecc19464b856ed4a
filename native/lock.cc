#include "lock.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "records.h"

namespace shmq {

namespace {

// The lock word's contended path (lock_word.h): critical sections are a few hundred nanoseconds
// (index updates only: no copy is made under the lock), so a short spin usually wins; a sleeper
// re-checks a silent holder after 2 ms, then every 250 ms.
constexpr shmq_lock_policy kPolicy = {200, 2 * 1000000, 250 * 1000000};
constexpr int64_t kLockStallMs = 15000;  // a live holder that makes no progress this long is reported

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
  uint32_t stalled_tid = 0;  // set by CheckHolder when it gave up
};
thread_local StallWatch tls_stall;

}  // namespace

int SegmentLock::CheckHolder(void* self_ptr, uint32_t word) {
  auto* self = static_cast<SegmentLock*>(self_ptr);
  pid_t tid = pid_t(word & SHMQ_LOCK_TID_MASK);
  // We never lock recursively, so a word naming this thread is stale (a scribble, or a thread id
  // that was recycled to us).
  if (tid == CurrentTid()) return SHMQ_HOLDER_GONE;
  if (!ThreadAlive(tid)) return SHMQ_HOLDER_GONE;
  // A thread that exists but whose process does not map this segment (a recycled id, a scribbled
  // word naming e.g. the parent shell, a zombie) cannot hold the lock. Unknown (no permission to
  // read its maps) counts as "may hold it".
  if (MapsFile(tid, self->seg_.dev, self->seg_.ino) == 0) return SHMQ_HOLDER_GONE;
  // A live holder that keeps the lock while the queue makes no progress at all for the stall
  // bound is stopped (SIGSTOP, a debugger) or is a live process named by a scribbled word: report
  // it rather than wait forever (guarantee: lock waits are bounded).
  const Header* h = self->seg_.header;
  StallWatch& stall = tls_stall;
  uint64_t progress = h->head.load(std::memory_order_relaxed) + h->tail.load(std::memory_order_relaxed) +
                      h->puts.load(std::memory_order_relaxed) + h->gets.load(std::memory_order_relaxed);
  stall.last_seen = NowMs();
  if (uint32_t(tid) != stall.tid || progress != stall.progress) {
    stall.tid = uint32_t(tid);
    stall.progress = progress;
    stall.since = stall.last_seen;
  } else if (stall.last_seen - stall.since >= LockStallMs()) {
    stall.stalled_tid = uint32_t(tid);
    return SHMQ_HOLDER_ABORT;
  }
  return SHMQ_HOLDER_MAY_HOLD;
}

int SegmentLock::Contended(TimeoutMs timeout) {
  // A call that must not wait still waits a little for a lock that is merely busy (100 ms), so
  // that getNowait() between two busy peers does not report a spurious "empty".
  TimeoutMs bounded = timeout < 0 ? -1 : std::max<TimeoutMs>(timeout, 100);
  int64_t deadline_ns = bounded < 0 ? -1 : NowNs() + bounded * 1000000;
  StallWatch& stall = tls_stall;
  if (stall.lock != this || NowMs() - stall.last_seen > 1000) stall = StallWatch{this, 0, 0, NowMs(), NowMs(), 0};
  stall.stalled_tid = 0;
  int r = shmq_lock_acquire(Word(), uint32_t(CurrentTid()), deadline_ns, &kPolicy, &SegmentLock::CheckHolder, this);
  switch (r) {
    case SHMQ_LOCKED:
      return kOk;
    case SHMQ_LOCKED_OWNER_DIED:
      return Recover();
    case SHMQ_LOCK_TIMEDOUT:
      return kTimedOut;
    default:
      return log_.Corrupt("its lock has been held by thread " + std::to_string(stall.stalled_tid) + " for more than " +
                          std::to_string(LockStallMs()) +
                          " ms without any progress (a stopped process, or a corrupt lock word)");
  }
}

int SegmentLock::Recover() {
  // We hold the lock, and its previous holder died holding it, in the middle of an index update.
  // Records::Repair re-derives every index the lock guards from the records themselves (see
  // records.h), then we go on. A process that shrank the file (ftruncate) makes any access past
  // the new end SIGBUS. That cannot be prevented cheaply on every access (see README, "Crash
  // safety"), but a recovery is the moment something went wrong, and Repair() is about to read
  // every record: check first.
  struct stat fst;
  int st = seg_.fd >= 0 && fstat(seg_.fd, &fst) == 0 && uint64_t(fst.st_size) < seg_.map_size
               ? log_.Corrupt("its file was truncated to " + std::to_string(fst.st_size) + " bytes while open")
               : records_.Repair();
  seg_.header->recoveries.fetch_add(1, std::memory_order_relaxed);
  if (st != kOk) {
    Unlock();
    return st;
  }
  return kOk;
}

}  // namespace shmq
