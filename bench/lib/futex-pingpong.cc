// Reference point for S5: the round trip of two processes that hand a 64-byte message back and
// forth through a shared mapping, waking each other with FUTEX_WAIT/FUTEX_WAKE and nothing else:
// no lock, no spinning, no runtime. It is what a futex wake-up costs on this machine, the floor
// under any cross-process wake-up (shm-queue spins briefly before it sleeps, so it can beat it).
//
// Built by bench/run.mjs with g++ into a temporary directory. Usage: futex-pingpong WARM_MS RUN_MS
// Prints one JSON line: {"samples":N,"p50":us,"p90":us,"p99":us,"mean":us}.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct Shared {
  alignas(64) std::atomic<uint32_t> turn;  // 0: the server's turn (a ping waits), 1: the client's
  alignas(64) std::atomic<uint32_t> stop;
  alignas(64) unsigned char message[64];
};

void Wait(std::atomic<uint32_t>* word, uint32_t while_value) {
  while (word->load(std::memory_order_acquire) == while_value) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, while_value, nullptr, nullptr, 0);
  }
}

void Set(std::atomic<uint32_t>* word, uint32_t value) {
  word->store(value, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s WARM_MS RUN_MS\n", argv[0]);
    return 2;
  }
  int64_t warm = atoll(argv[1]) * 1000000LL, run = atoll(argv[2]) * 1000000LL;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  auto* s = new (mem) Shared();
  s->turn.store(1);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {  // server: wait for a ping, echo it
    unsigned char local[64];
    for (;;) {
      Wait(&s->turn, 1);
      if (s->stop.load()) _exit(0);
      memcpy(local, s->message, 64);
      memcpy(s->message, local, 64);
      Set(&s->turn, 1);
    }
  }
  std::vector<double> samples;
  samples.reserve(1 << 20);
  unsigned char msg[64] = {0};
  int64_t start = NowNs(), warm_end = start + warm, end = warm_end + run;
  for (uint32_t seq = 0;; seq++) {
    memcpy(msg, &seq, 4);
    int64_t t = NowNs();
    memcpy(s->message, msg, 64);
    Set(&s->turn, 0);
    Wait(&s->turn, 0);
    uint32_t back;
    memcpy(&back, s->message, 4);
    int64_t t2 = NowNs();
    if (back != seq) {
      fprintf(stderr, "lost a message: got %u, expected %u\n", back, seq);
      return 1;
    }
    if (t >= warm_end) samples.push_back(double(t2 - t) / 1000.0);
    if (t2 >= end) break;
  }
  s->stop.store(1);
  Set(&s->turn, 0);
  waitpid(pid, nullptr, 0);
  std::sort(samples.begin(), samples.end());
  auto at = [&](double p) {
    return samples.empty() ? 0.0 : samples[std::min(samples.size() - 1, size_t(p * samples.size()))];
  };
  double sum = 0;
  for (double v : samples) sum += v;
  printf("{\"samples\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"mean\":%.3f}\n", samples.size(), at(0.5), at(0.9),
         at(0.99), samples.empty() ? 0.0 : sum / samples.size());
  return 0;
}
