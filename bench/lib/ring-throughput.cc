// Reference point for S1: the throughput of shm-queue's v2 design written directly in C++, with no
// runtime, no codec and no binding in the way. Two processes (fork) share one mapping holding a
// lock word of their own (`tid | waiters`, futex-based, as the core's), a ring of records and the
// wake-up words. The producer takes the lock only to reserve records (header BUSY), copies the
// payloads with no lock held, then publishes them (READY, a release store); the consumer takes the
// lock only to free the DONE prefix and claim READY records (CLAIMED), copies them out with no lock
// held, checks them and marks them DONE. Both run flat out: a side that finds nothing to do polls
// a lock-free hint (the next record READY, the oldest record DONE) and sleeps on a futex only after
// that, so this measures throughput, not wake-up latency (a run makes a few hundred futex calls).
//
// Simplifications against the real core (each makes the reference faster, never slower): records
// are all 72 bytes (8-byte header + the 64-byte payload) and the ring holds a whole number of them,
// so no copy is split at the wrap; there is no owner liveness check, no maxsize and no qsize.
//
// Built by bench/run.mjs with g++ into a temporary directory. Usage: ring-throughput BATCH WARM_MS RUN_MS
// (BATCH 1: one message per lock on both sides; BATCH n: the producer reserves n records per lock and
// the consumer claims up to 4n, as putManySync(n) / getManySync(4n) do).
// Prints one JSON line: {"sent":N,"received":N,"measured":M,"seconds":S,"msgsPerSec":R}.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

constexpr uint32_t kPayload = 64;
constexpr uint32_t kRecord = 8 + kPayload;
constexpr uint64_t kSlots = (1u << 20) / kRecord;  // a 1 MiB ring, as the queue's default
constexpr uint64_t kCapacity = kSlots * kRecord;
constexpr uint32_t kWaiters = 0x80000000u;
constexpr int kSpins = 200;
// Polls of a line the other side writes (the lock word, a record) are spaced out: polling after
// every pause steals that line from the writer so often that one message per lock ran ~1.5x slower.
constexpr int kPausesPerPoll = 8;

enum State : uint32_t { kBusy = 1, kReady = 2, kClaimed = 3, kDone = 4 };

struct Record {
  std::atomic<uint32_t> state;
  uint32_t length;  // 0: the end marker, whose payload holds the number of messages sent
  unsigned char payload[kPayload];
};

struct Shared {
  alignas(64) std::atomic<uint32_t> lock;  // 0 free, else holder tid | kWaiters
  alignas(64) uint64_t tail;               // next byte to reserve (under the lock)
  alignas(64) uint64_t read;               // next byte to claim (under the lock)
  uint64_t head;                           // bytes before it are free (under the lock)
  alignas(64) std::atomic<uint32_t> data_seq;
  std::atomic<uint32_t> data_waiters;
  alignas(64) std::atomic<uint32_t> space_seq;
  std::atomic<uint32_t> space_waiters;
  alignas(64) uint64_t received, measured;
  int64_t t0, t1;
  uint32_t error;
  alignas(64) unsigned char ring[kCapacity];
};

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, nullptr, nullptr, 0);
}

void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void Lock(Shared* s, uint32_t tid) {
  uint32_t expected = 0;
  if (s->lock.compare_exchange_strong(expected, tid, std::memory_order_acquire)) return;
  for (int i = 0; i < kSpins; i++) {
    for (int k = 0; k < kPausesPerPoll; k++) Pause();
    expected = 0;
    if (s->lock.load(std::memory_order_relaxed) == 0 &&
        s->lock.compare_exchange_weak(expected, tid, std::memory_order_acquire))
      return;
  }
  for (;;) {
    expected = 0;
    // Taken after a sleep: keep the waiters bit, another sleeper may still be there.
    if (s->lock.compare_exchange_strong(expected, tid | kWaiters, std::memory_order_acquire)) return;
    if (expected != 0 && !(expected & kWaiters) &&
        !s->lock.compare_exchange_strong(expected, expected | kWaiters, std::memory_order_relaxed))
      continue;
    Futex(&s->lock, FUTEX_WAIT, expected | kWaiters);
  }
}

void Unlock(Shared* s) {
  if (s->lock.exchange(0, std::memory_order_release) & kWaiters) Futex(&s->lock, FUTEX_WAKE, 1);
}

/**
 * After a state change a waiter may be sleeping on: wakes the sleepers, if any. The fence pairs with
 * the one in Await (a waiter announces itself, then looks at the state; we change the state, then
 * look for waiters), so the flat-out path costs a fence and a read, no system call and no write to
 * a line the other side polls.
 */
void Signal(std::atomic<uint32_t>* seq, std::atomic<uint32_t>* waiters) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (waiters->load(std::memory_order_relaxed) != 0) {
    seq->fetch_add(1, std::memory_order_relaxed);
    Futex(seq, FUTEX_WAKE, INT32_MAX);
  }
}

/** Polls `ready()` (a lock-free hint) a little, then sleeps on `seq` until a Signal. */
template <typename Ready>
void Await(std::atomic<uint32_t>* seq, std::atomic<uint32_t>* waiters, Ready ready) {
  for (int i = 0; i < kSpins; i++) {
    if (ready()) return;
    for (int k = 0; k < kPausesPerPoll; k++) Pause();
  }
  waiters->fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint32_t seen = seq->load(std::memory_order_relaxed);
  if (!ready()) Futex(seq, FUTEX_WAIT, seen);
  waiters->fetch_sub(1, std::memory_order_relaxed);
}

/** The cursors are written under the lock and peeked at without it (the hints), so never torn. */
void Store(uint64_t* field, uint64_t value) {
  __atomic_store_n(field, value, __ATOMIC_RELAXED);
}
uint64_t Peek(const uint64_t* field) {
  return __atomic_load_n(field, __ATOMIC_RELAXED);
}

Record* At(Shared* s, uint64_t pos) {
  return reinterpret_cast<Record*>(s->ring + pos % kCapacity);
}

/** Under the lock: frees the DONE prefix. Returns whether any room was freed. */
bool FreeDone(Shared* s) {
  uint64_t before = s->head;
  while (s->head < s->read && At(s, s->head)->state.load(std::memory_order_acquire) == kDone)
    Store(&s->head, s->head + kRecord);
  return s->head != before;
}

/** Hint for a consumer: the oldest unclaimed record is READY. */
bool DataHint(Shared* s) {
  uint64_t read = Peek(&s->read);
  return read < Peek(&s->tail) && At(s, read)->state.load(std::memory_order_acquire) == kReady;
}

/** Hint for a producer wanting `n` records: they fit, or the oldest record is DONE (can be freed). */
bool RoomHint(Shared* s, uint32_t n) {
  uint64_t head = Peek(&s->head);
  return Peek(&s->tail) + uint64_t(n) * kRecord - head <= kCapacity ||
         (head < Peek(&s->read) && At(s, head)->state.load(std::memory_order_acquire) == kDone);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void Stamp(unsigned char* b, uint32_t seq) {
  memcpy(b, &seq, 4);
  memcpy(b + kPayload - 4, &seq, 4);
}

/** Reserves `n` records (waiting for room), copies the messages outside the lock, publishes them. */
void Put(Shared* s, uint32_t tid, uint32_t n, uint32_t* seq, bool end) {
  uint64_t pos;
  for (;;) {
    Lock(s, tid);
    if (s->tail + uint64_t(n) * kRecord - s->head > kCapacity) FreeDone(s);
    if (s->tail + uint64_t(n) * kRecord - s->head <= kCapacity) {
      pos = s->tail;
      for (uint32_t i = 0; i < n; i++) At(s, pos + i * kRecord)->state.store(kBusy, std::memory_order_relaxed);
      Store(&s->tail, s->tail + uint64_t(n) * kRecord);
      Unlock(s);
      break;
    }
    Unlock(s);
    Await(&s->space_seq, &s->space_waiters, [s, n] { return RoomHint(s, n); });
  }
  unsigned char message[kPayload];
  memset(message, 0x5a, kPayload);
  for (uint32_t i = 0; i < n; i++) {
    Record* r = At(s, pos + i * kRecord);
    if (end) {
      r->length = 0;
      memcpy(r->payload, seq, 4);
    } else {
      Stamp(message, (*seq)++);
      r->length = kPayload;
      memcpy(r->payload, message, kPayload);
    }
    r->state.store(kReady, std::memory_order_release);
  }
  Signal(&s->data_seq, &s->data_waiters);
}

void Produce(Shared* s, uint32_t batch, int64_t end) {
  uint32_t tid = uint32_t(syscall(SYS_gettid));
  uint32_t seq = 0;
  do {
    for (int k = 0; k < 64; k += batch) Put(s, tid, batch, &seq, false);
  } while (NowNs() < end);
  Put(s, tid, 1, &seq, true);
}

void Consume(Shared* s, uint32_t claim, int64_t warm_end) {
  uint32_t tid = uint32_t(syscall(SYS_gettid));
  uint64_t received = 0, c0 = 0;
  bool measuring = false;
  unsigned char message[kPayload];
  for (;;) {
    Lock(s, tid);
    FreeDone(s);
    uint64_t pos = s->read;
    uint32_t n = 0;
    while (n < claim && s->read < s->tail && At(s, s->read)->state.load(std::memory_order_acquire) == kReady) {
      At(s, s->read)->state.store(kClaimed, std::memory_order_relaxed);
      Store(&s->read, s->read + kRecord);
      n++;
    }
    Unlock(s);
    if (n == 0) {
      Await(&s->data_seq, &s->data_waiters, [s] { return DataHint(s); });
      continue;
    }
    for (uint32_t i = 0; i < n; i++) {
      Record* r = At(s, pos + i * kRecord);
      uint32_t length = r->length;
      memcpy(message, r->payload, length == 0 ? 4 : length);
      r->state.store(kDone, std::memory_order_release);
      if (length == 0) {
        uint32_t sent;
        memcpy(&sent, message, 4);
        s->t1 = NowNs();
        s->received = received;
        s->measured = received - c0;
        if (sent != received || !measuring) s->error = 1;
        return;
      }
      uint32_t first, last;
      memcpy(&first, message, 4);
      memcpy(&last, message + kPayload - 4, 4);
      if (length != kPayload || first != uint32_t(received) || last != first) {
        fprintf(stderr, "message %u arrived where %llu was expected\n", first, (unsigned long long)received);
        s->error = 1;
        return;
      }
      if (++received % 64 == 0 && !measuring && NowNs() >= warm_end) {
        measuring = true;
        c0 = received;
        s->t0 = NowNs();
      }
    }
    Signal(&s->space_seq, &s->space_waiters);  // DONE records are room for a waiting producer
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || atoi(argv[1]) < 1 || atoi(argv[1]) > 64) {
    fprintf(stderr, "usage: %s BATCH(1-64) WARM_MS RUN_MS\n", argv[0]);
    return 2;
  }
  uint32_t batch = uint32_t(atoi(argv[1]));
  int64_t warm = atoll(argv[2]) * 1000000LL, run = atoll(argv[3]) * 1000000LL;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  auto* s = new (mem) Shared();
  int64_t start = NowNs(), warm_end = start + warm, end = warm_end + run;
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    Consume(s, batch == 1 ? 1 : batch * 4, warm_end);
    _exit(0);
  }
  Produce(s, batch, end);
  int status = 0;
  waitpid(pid, &status, 0);
  if (s->error || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "the consumer lost, reordered or corrupted a message, or did not measure\n");
    return 1;
  }
  double seconds = double(s->t1 - s->t0) / 1e9;
  printf("{\"sent\":%llu,\"received\":%llu,\"measured\":%llu,\"seconds\":%.6f,\"msgsPerSec\":%.1f}\n",
         (unsigned long long)s->received, (unsigned long long)s->received, (unsigned long long)s->measured, seconds,
         double(s->measured) / seconds);
  return 0;
}
