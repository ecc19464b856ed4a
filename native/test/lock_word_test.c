/* Stress test of native/lock_word.h, built and run by scripts/lock-word-test.sh against glibc (plain,
 * ThreadSanitizer, AddressSanitizer+UBSan) and musl (musl-gcc), and with a glibc and a musl build
 * hammering one word at the same time.
 *
 *   lock_word_test threads T N           T threads of this process, N lock/unlock rounds each
 *   lock_word_test procs FILE P T N      P forked processes x T threads on a word in FILE (created)
 *   lock_word_test join FILE T N         T threads on the word of an existing FILE (another build may be
 *                                        running `join` on the same FILE at the same time)
 *   lock_word_test check FILE TOTAL      the counters in FILE add up to TOTAL and no overlap was seen
 *   lock_word_test kill FILE P SECONDS [OTHER]
 *                                        P processes lock in a loop; the parent SIGKILLs them at random,
 *                                        some while they hold the lock (half-way through an update), and
 *                                        restarts them: every death inside the lock is repaired, no
 *                                        survivor ever waits past a bound, the state stays whole. With
 *                                        OTHER (the path of another build), every second child runs it
 *                                        (`OTHER child FILE`): glibc and musl processes die on one word.
 *
 * Inside the lock a round checks and sets an "inside" flag (two holders at once is a failure) and
 * updates two counters that must stay equal (a holder killed between the two updates leaves them
 * unequal: the next taker must get SHMQ_LOCKED_OWNER_DIED and repairs them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lock_word.h"

struct shared {
  uint32_t word;
  uint32_t inside;     /* 1 while someone is in the critical section */
  uint64_t a, b;       /* updated in two steps inside the lock: a == b whenever the lock is free */
  uint64_t overlaps;   /* times a holder found `inside` already set */
  uint64_t repairs;    /* SHMQ_LOCKED_OWNER_DIED takes */
  uint64_t torn_seen;  /* takes that found a != b (must all be OWNER_DIED takes) */
  uint64_t torn_plain; /* ... found by a plain SHMQ_LOCKED take: a failure */
  uint64_t slow_waits; /* acquisitions that took longer than the bound below */
};

static const struct shmq_lock_policy kPolicy = {200, 2000000, 250000000};
static const int64_t kWaitBoundNs = 3000000000; /* a waiter must get the lock within 3 s */

static uint32_t gettid_u32(void) {
  return (uint32_t)syscall(SYS_gettid);
}

/* The test's holder check: gone when the thread no longer exists or is a zombie (the core also checks
 * that the holder's process maps the segment; here every process maps it). */
static int holder_check(void* ctx, uint32_t value) {
  (void)ctx;
  pid_t tid = (pid_t)(value & SHMQ_LOCK_TID_MASK);
  if (tid == 0) return SHMQ_HOLDER_GONE;
  if (kill(tid, 0) != 0 && errno == ESRCH) return SHMQ_HOLDER_GONE;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? SHMQ_HOLDER_GONE : SHMQ_HOLDER_MAY_HOLD;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return SHMQ_HOLDER_MAY_HOLD;
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return SHMQ_HOLDER_GONE;
  return SHMQ_HOLDER_MAY_HOLD;
}

static volatile int g_slow_step = 0; /* kill mode: widen the window between the two updates */

static void one_round(struct shared* s, uint32_t tid) {
  int64_t t0 = shmq_lock_now_ns();
  int r = shmq_lock_acquire(&s->word, tid, -1, &kPolicy, holder_check, NULL);
  if (shmq_lock_now_ns() - t0 > kWaitBoundNs) __atomic_fetch_add(&s->slow_waits, 1, __ATOMIC_RELAXED);
  if (r != SHMQ_LOCKED && r != SHMQ_LOCKED_OWNER_DIED) {
    fprintf(stderr, "acquire returned %d\n", r);
    exit(3);
  }
  /* A holder killed inside leaves `inside` set: only a plain take that finds it set saw an overlap. */
  if (__atomic_exchange_n(&s->inside, 1u, __ATOMIC_RELAXED) != 0 && r == SHMQ_LOCKED) s->overlaps++;
  if (s->a != s->b) {
    s->torn_seen++;
    if (r == SHMQ_LOCKED) s->torn_plain++;
    s->b = s->a; /* the repair */
  }
  if (r == SHMQ_LOCKED_OWNER_DIED) s->repairs++;
  s->a++;
  if (g_slow_step)
    for (volatile int i = 0; i < 2000; i++) {
    }
  s->b++;
  __atomic_store_n(&s->inside, 0u, __ATOMIC_RELAXED);
  shmq_lock_unlock(&s->word);
}

struct worker_args {
  struct shared* s;
  long rounds;
};

static void* worker(void* p) {
  struct worker_args* w = (struct worker_args*)p;
  uint32_t tid = gettid_u32();
  for (long i = 0; i < w->rounds; i++) one_round(w->s, tid);
  return NULL;
}

static void run_threads(struct shared* s, int threads, long rounds) {
  pthread_t t[64];
  struct worker_args w = {s, rounds};
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, &w);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
}

static struct shared* map_file(const char* file, int create) {
  int fd = open(file, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
  if (fd < 0 || (create && ftruncate(fd, 4096) != 0)) {
    perror(file);
    exit(2);
  }
  void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(2);
  }
  return (struct shared*)p;
}

static int report(struct shared* s, uint64_t expected_total) {
  int ok = s->overlaps == 0 && s->torn_plain == 0 && s->a == s->b && s->word == 0 && s->slow_waits == 0 &&
           (expected_total == 0 || s->a == expected_total);
  printf(
      "%s: a=%llu b=%llu expected=%llu overlaps=%llu repairs=%llu torn_seen=%llu torn_plain=%llu slow=%llu word=%#x\n",
      ok ? "ok" : "FAIL", (unsigned long long)s->a, (unsigned long long)s->b, (unsigned long long)expected_total,
      (unsigned long long)s->overlaps, (unsigned long long)s->repairs, (unsigned long long)s->torn_seen,
      (unsigned long long)s->torn_plain, (unsigned long long)s->slow_waits, s->word);
  return ok ? 0 : 1;
}

static const char* g_other = NULL;

static void kill_child_loop(struct shared* s) {
  g_slow_step = 1;
  uint32_t tid = gettid_u32();
  for (;;) one_round(s, tid);
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "threads") == 0) {
    static struct shared s;
    int threads = atoi(argv[2]);
    long rounds = atol(argv[3]);
    run_threads(&s, threads, rounds);
    return report(&s, (uint64_t)threads * (uint64_t)rounds);
  }
  if (argc >= 6 && strcmp(argv[1], "procs") == 0) {
    struct shared* s = map_file(argv[2], 1);
    int procs = atoi(argv[3]), threads = atoi(argv[4]);
    long rounds = atol(argv[5]);
    for (int i = 0; i < procs; i++) {
      pid_t pid = fork();
      if (pid == 0) {
        run_threads(s, threads, rounds);
        _exit(0);
      }
    }
    int status, failed = 0;
    while (wait(&status) > 0)
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    return report(s, (uint64_t)procs * (uint64_t)threads * (uint64_t)rounds) || failed;
  }
  if (argc >= 4 && strcmp(argv[1], "init") == 0) {
    (void)map_file(argv[2], 1);
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "join") == 0) {
    struct shared* s = map_file(argv[2], 0);
    run_threads(s, atoi(argv[3]), atol(argv[4]));
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "child") == 0) {
    kill_child_loop(map_file(argv[2], 0));
  }
  if (argc >= 4 && strcmp(argv[1], "check") == 0) {
    return report(map_file(argv[2], 0), strtoull(argv[3], NULL, 10));
  }
  if (argc >= 5 && strcmp(argv[1], "kill") == 0) {
    struct shared* s = map_file(argv[2], 1);
    int procs = atoi(argv[3]);
    int64_t until = shmq_lock_now_ns() + (int64_t)(atof(argv[4]) * 1e9);
    pid_t kids[64];
    if (procs > 64) procs = 64;
    if (argc >= 6) g_other = argv[5];
    srand((unsigned)getpid());
    for (int i = 0; i < procs; i++) {
      kids[i] = fork();
      if (kids[i] == 0) {
        if (g_other && i % 2) execl(g_other, g_other, "child", argv[2], (char*)NULL);
        kill_child_loop(s);
      }
    }
    long kills = 0, kills_holding = 0;
    while (shmq_lock_now_ns() < until) {
      usleep(200 + rand() % 3000);
      int i = rand() % procs;
      /* Half of the kills aim at a holder: wait until the word names this child's (only) thread. */
      if (rand() % 2) {
        for (int spin = 0; spin < 100000; spin++)
          if ((__atomic_load_n(&s->word, __ATOMIC_RELAXED) & SHMQ_LOCK_TID_MASK) == (uint32_t)kids[i]) break;
      }
      if ((__atomic_load_n(&s->word, __ATOMIC_RELAXED) & SHMQ_LOCK_TID_MASK) == (uint32_t)kids[i]) kills_holding++;
      kill(kids[i], SIGKILL);
      waitpid(kids[i], NULL, 0);
      kills++;
      kids[i] = fork();
      if (kids[i] == 0) {
        if (g_other && i % 2) execl(g_other, g_other, "child", argv[2], (char*)NULL);
        kill_child_loop(s);
      }
    }
    for (int i = 0; i < procs; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < procs; i++) waitpid(kids[i], NULL, 0);
    /* Whoever died last may have died holding it: take it once more, as a survivor would. */
    int r = shmq_lock_acquire(&s->word, gettid_u32(), shmq_lock_now_ns() + kWaitBoundNs, &kPolicy, holder_check, NULL);
    if (r == SHMQ_LOCKED_OWNER_DIED) {
      s->repairs++;
      if (s->a != s->b) s->torn_seen++;
      s->b = s->a;
    } else if (r != SHMQ_LOCKED) {
      printf("FAIL: final acquire returned %d\n", r);
      return 1;
    } else if (s->a != s->b) {
      s->torn_plain++;
    }
    __atomic_store_n(&s->inside, 0u, __ATOMIC_RELAXED);
    shmq_lock_unlock(&s->word);
    printf("kills=%ld (%ld while holding) ", kills, kills_holding);
    /* Some kills must have hit a holder, and no repair happens without a death. */
    if (s->repairs == 0 || s->repairs > (uint64_t)kills + 1) {
      printf("FAIL: %llu repairs for %ld kills\n", (unsigned long long)s->repairs, kills);
      return 1;
    }
    return report(s, 0);
  }
  fprintf(stderr, "usage: see the comment at the top of lock_word_test.c\n");
  return 2;
}
