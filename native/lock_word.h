/* The queue lock of layout version 2: one 32-bit word in the segment whose meaning this project owns,
 * so that every process that maps the segment agrees on it, whatever its C library (glibc and musl lay
 * pthread_mutex_t out differently; a glibc and a musl process sharing one pthread mutex get no mutual
 * exclusion at all). Plain C11 and C++17 (GCC/Clang __atomic builtins, Linux futex syscalls): the core
 * includes it, and native/test/lock_word_test.c builds it against glibc and musl and runs both at once
 * on one word. Another language implements the same protocol from this comment alone.
 *
 * The word
 *   bits 0-29  SHMQ_LOCK_TID_MASK    Linux thread id (gettid) of the holder; 0 = nobody holds it
 *   bit 30     SHMQ_LOCK_OWNER_DIED  the last holder was found dead while holding it: whoever takes the
 *                                    lock next must repair what the lock guards before relying on it
 *   bit 31     SHMQ_LOCK_WAITERS     a thread may be asleep in FUTEX_WAIT on the word: unlock wakes one
 * (the same bit positions as the kernel's robust futexes, FUTEX_TID_MASK / FUTEX_OWNER_DIED /
 * FUTEX_WAITERS, but the kernel never touches this word: a thread's robust list belongs to its libc.)
 *
 * The protocol
 *   lock    CAS 0 -> tid. Contended: a word with no holder but OWNER_DIED is taken by CAS to
 *           tid | WAITERS and the taker repairs; a word with a holder gets WAITERS (CAS v -> v | WAITERS)
 *           and the thread sleeps in FUTEX_WAIT(word, v | WAITERS) for a bounded slice. A thread that
 *           slept takes a free word as tid | WAITERS (it cannot know whether it was the last waiter).
 *   unlock  x = exchange(word, 0); if (x & WAITERS) FUTEX_WAKE(word, 1).
 *   death   after a slice in which the word did not change, a waiter asks whether the holder can still
 *           hold it (is the thread alive, and does its process map the segment?). A dead holder's word
 *           is handed back with CAS v -> OWNER_DIED | (v & WAITERS) and one waiter is woken; the CAS
 *           fails harmlessly if the lock changed hands in between.
 *   Any other value with no holder (a lone WAITERS bit) is never written by this protocol: it is treated
 *   as OWNER_DIED (someone scribbled on the word; the taker repairs).
 *
 * Guarantees: mutual exclusion between every process that follows the protocol; a holder that dies
 * (SIGKILL) is noticed by the next waiter within its first slice and the state it guarded is repaired
 * once; a holder that dies inside unlock (after the exchange, before the wake) costs a waiter one slice,
 * never a hang, because every sleep is bounded. Liveness is never guessed: the caller's holder check
 * answers "gone" only when it knows (see procfs in the core), and "cannot tell" keeps waiting.
 */
#ifndef SHMQ_LOCK_WORD_H_
#define SHMQ_LOCK_WORD_H_

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The futex operations, by their kernel ABI numbers (linux/futex.h is not on every libc's include path,
 * e.g. musl-gcc's). Shared, not _PRIVATE: the word lives in a mapping other processes share. */
#define SHMQ_FUTEX_WAIT 0
#define SHMQ_FUTEX_WAKE 1

#define SHMQ_LOCK_TID_MASK 0x3fffffffu
#define SHMQ_LOCK_OWNER_DIED 0x40000000u
#define SHMQ_LOCK_WAITERS 0x80000000u

/** What shmq_lock_acquire() and shmq_lock_try() report. */
enum shmq_lock_result {
  SHMQ_LOCKED = 0,            /* held by the caller */
  SHMQ_LOCKED_OWNER_DIED = 1, /* held by the caller, and the last holder died holding it: repair first */
  SHMQ_LOCK_BUSY = 2,         /* shmq_lock_try only: someone else holds it */
  SHMQ_LOCK_TIMEDOUT = 3,     /* the deadline passed; not held */
  SHMQ_LOCK_ABORTED = 4       /* the holder check asked to stop waiting (e.g. a stalled holder); not held */
};

/** Answers of the caller's holder check (see shmq_lock_acquire). */
enum shmq_holder_verdict {
  SHMQ_HOLDER_MAY_HOLD = 0, /* alive, or cannot tell: keep waiting */
  SHMQ_HOLDER_GONE = 1,     /* provably cannot hold the lock: hand the word back as OWNER_DIED */
  SHMQ_HOLDER_ABORT = 2     /* stop waiting now (SHMQ_LOCK_ABORTED) */
};

/** Called after a slice in which the word named the same holder throughout. `word_value` is the value
 *  seen (holder = word_value & SHMQ_LOCK_TID_MASK). */
typedef int (*shmq_holder_check_fn)(void* ctx, uint32_t word_value);

static inline uint32_t shmq_lock_load(uint32_t* word) {
  return __atomic_load_n(word, __ATOMIC_RELAXED);
}

static inline int shmq_lock_cas(uint32_t* word, uint32_t* expected, uint32_t desired) {
  return __atomic_compare_exchange_n(word, expected, desired, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/** One attempt, never waits: SHMQ_LOCKED, SHMQ_LOCKED_OWNER_DIED or SHMQ_LOCK_BUSY. `taken_as` is
 *  tid or tid | SHMQ_LOCK_WAITERS (the latter once the caller has slept on the word). */
static inline int shmq_lock_try_as(uint32_t* word, uint32_t taken_as, uint32_t* seen) {
  uint32_t v = 0;
  if (shmq_lock_cas(word, &v, taken_as)) return SHMQ_LOCKED;
  *seen = v;
  if ((v & SHMQ_LOCK_TID_MASK) != 0) return SHMQ_LOCK_BUSY;
  /* No holder: OWNER_DIED (a dead holder handed back) or a scribbled lone WAITERS bit. Keep WAITERS. */
  if (shmq_lock_cas(word, &v, taken_as | (v & SHMQ_LOCK_WAITERS))) return SHMQ_LOCKED_OWNER_DIED;
  *seen = v;
  return SHMQ_LOCK_BUSY;
}

/** The uncontended fast path: CAS 0 -> tid. */
static inline int shmq_lock_try(uint32_t* word, uint32_t tid) {
  uint32_t seen = 0;
  return shmq_lock_try_as(word, tid & SHMQ_LOCK_TID_MASK, &seen);
}

static inline void shmq_futex_wake(uint32_t* word, int n) {
  syscall(SYS_futex, word, SHMQ_FUTEX_WAKE, n, (void*)0, (void*)0, 0);
}

/** Sleeps while *word == expected, at most `ns`. 1 when the sleep timed out, else 0. */
static inline int shmq_futex_wait_ns(uint32_t* word, uint32_t expected, int64_t ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  long r = syscall(SYS_futex, word, SHMQ_FUTEX_WAIT, expected, &ts, (void*)0, 0);
  return r != 0 && errno == ETIMEDOUT;
}

static inline void shmq_lock_unlock(uint32_t* word) {
  uint32_t was = __atomic_exchange_n(word, 0u, __ATOMIC_RELEASE);
  if (was & SHMQ_LOCK_WAITERS) shmq_futex_wake(word, 1);
}

/** Hands back the word of a holder found dead: CAS seen -> OWNER_DIED | (seen & WAITERS), and wakes one
 *  sleeper to take it. Returns 1 when this call changed the word. */
static inline int shmq_lock_hand_back(uint32_t* word, uint32_t seen) {
  uint32_t expected = seen;
  if (!__atomic_compare_exchange_n(word, &expected, SHMQ_LOCK_OWNER_DIED | (seen & SHMQ_LOCK_WAITERS), 0,
                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    return 0;
  shmq_futex_wake(word, 1);
  return 1;
}

static inline int64_t shmq_lock_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void shmq_lock_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/** Tuning of the contended path: spin first (critical sections are a few hundred nanoseconds: a
 *  futex round trip costs far more), then sleep in slices that grow from first_slice_ns to
 *  slice_ns, checking the holder after every slice in which the word stayed the same. */
struct shmq_lock_policy {
  int spins;              /* reads of the word (with a pause) before the first sleep */
  int64_t first_slice_ns; /* a dead holder is noticed after this long */
  int64_t slice_ns;       /* ... and later slices are this long */
};

/** Takes the lock, waiting until `deadline_ns` (CLOCK_MONOTONIC; < 0 waits forever). `check` may be
 *  null (a dead holder is then never noticed: tests only). Returns SHMQ_LOCKED, SHMQ_LOCKED_OWNER_DIED,
 *  SHMQ_LOCK_TIMEDOUT or SHMQ_LOCK_ABORTED. */
static inline int shmq_lock_acquire(uint32_t* word, uint32_t tid, int64_t deadline_ns,
                                    const struct shmq_lock_policy* policy, shmq_holder_check_fn check, void* ctx) {
  tid &= SHMQ_LOCK_TID_MASK;
  uint32_t seen = 0;
  int r = shmq_lock_try_as(word, tid, &seen);
  if (r != SHMQ_LOCK_BUSY) return r;
  for (int i = 0; i < policy->spins; i++) {
    shmq_lock_pause();
    if (shmq_lock_load(word) & SHMQ_LOCK_TID_MASK) continue;
    r = shmq_lock_try_as(word, tid, &seen);
    if (r != SHMQ_LOCK_BUSY) return r;
  }
  int64_t slice = policy->first_slice_ns;
  for (;;) {
    r = shmq_lock_try_as(word, tid | SHMQ_LOCK_WAITERS, &seen);
    if (r != SHMQ_LOCK_BUSY) return r;
    if ((seen & SHMQ_LOCK_TID_MASK) == 0) continue; /* it changed under us: try again */
    uint32_t sleeping_on = seen | SHMQ_LOCK_WAITERS;
    if (!(seen & SHMQ_LOCK_WAITERS)) {
      uint32_t expected = seen;
      if (!__atomic_compare_exchange_n(word, &expected, sleeping_on, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) continue;
    }
    int64_t ns = slice;
    if (deadline_ns >= 0) {
      int64_t left = deadline_ns - shmq_lock_now_ns();
      if (left <= 0) return SHMQ_LOCK_TIMEDOUT;
      if (left < ns) ns = left;
    }
    int timed_out = shmq_futex_wait_ns(word, sleeping_on, ns);
    if (timed_out && ns == slice && shmq_lock_load(word) == sleeping_on && check) {
      /* A whole slice with the same holder and no unlock: can it still hold the lock? */
      int verdict = check(ctx, sleeping_on);
      if (verdict == SHMQ_HOLDER_GONE) {
        shmq_lock_hand_back(word, sleeping_on);
        slice = policy->first_slice_ns;
        continue;
      }
      if (verdict == SHMQ_HOLDER_ABORT) return SHMQ_LOCK_ABORTED;
    }
    if (timed_out) {
      slice *= 4;
      if (slice > policy->slice_ns) slice = policy->slice_ns;
    }
  }
}

#endif /* SHMQ_LOCK_WORD_H_ */
