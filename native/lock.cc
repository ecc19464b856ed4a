#include "lock.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

}  // namespace

namespace {
/** The context of one contended acquisition, for the holder check. */
struct Waiting {
  SegmentLock* lock;
  const Segment* seg;
  uint32_t self_tid;
  StallWatch* stall;
};
}  // namespace

ThreadSlots::Slot* ThreadSlots::Claim(uintptr_t self, uint32_t* tid) {
  *tid = uint32_t(syscall(SYS_gettid));
  for (Slot& s : slots_) {
    uintptr_t expected = 0;
    if (s.thread.load(std::memory_order_relaxed) == 0 &&
        s.thread.compare_exchange_strong(expected, self, std::memory_order_relaxed)) {
      s.tid.store(*tid, std::memory_order_relaxed);  // read back only by this thread
      return &s;
    }
  }
  return nullptr;
}

int SegmentLock::CheckHolder(void* ctx, uint32_t word) {
  auto* w = static_cast<Waiting*>(ctx);
  const Segment& seg = *w->seg;
  pid_t tid = pid_t(word & SHMQ_LOCK_TID_MASK);
  // We never lock recursively, so a word naming this thread is stale (a scribble, or a thread id
  // that was recycled to us).
  if (uint32_t(tid) == w->self_tid) return SHMQ_HOLDER_GONE;
  if (!ThreadAlive(tid)) return SHMQ_HOLDER_GONE;
  // A thread that exists but whose process does not map this segment (a recycled id, a scribbled
  // word naming e.g. the parent shell, a zombie) cannot hold the lock. Unknown (no permission to
  // read its maps) counts as "may hold it".
  if (MapsFile(tid, seg.dev, seg.ino) == 0) return SHMQ_HOLDER_GONE;
  // A live holder that keeps the lock while the queue makes no progress at all for the stall
  // bound is stopped (SIGSTOP, a debugger) or is a live process named by a scribbled word: report
  // it rather than wait forever (guarantee: lock waits are bounded).
  const Header* h = seg.header;
  StallWatch& stall = *w->stall;
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

int SegmentLock::Contended(TimeoutMs budget, int on_timeout) {
  int64_t deadline_ns = budget < 0 ? -1 : NowNs() + budget * 1000000;
  uint32_t tid = 0;
  ThreadSlots::Slot* slot = threads_.Find(&tid);
  StallWatch local;  // a thread without a slot keeps no observation across calls
  StallWatch& stall = slot ? slot->stall : local;
  if (NowMs() - stall.last_seen > 1000) stall = StallWatch{0, 0, NowMs(), NowMs(), 0};
  stall.stalled_tid = 0;
  Waiting waiting{this, &seg_, tid, &stall};
  int r = shmq_lock_acquire(Word(), tid, deadline_ns, &kPolicy, &SegmentLock::CheckHolder, &waiting);
  switch (r) {
    case SHMQ_LOCKED:
      return kOk;
    case SHMQ_LOCKED_OWNER_DIED:
      return Recover();
    case SHMQ_LOCK_TIMEDOUT:
      return on_timeout;
    default: {
      // Not corrupt: after SIGCONT the same handles work and nothing is lost (a live process named
      // by a scribbled word looks the same, and is reported the same way).
      int32_t holder = int32_t(stall.stalled_tid);
      return log_.Stalled(ProcessOfThread(holder), holder, LockStallMs());
    }
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
