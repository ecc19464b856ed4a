#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <atomic>

#include <pthread.h>

#include "layout.h"

namespace shmq {

namespace {

enum class StatRead { kOk, kZombie, kGone, kUnreadable };

/** Reads field 22 (start time) of /proc/PID/stat. */
StatRead ReadStartTime(int32_t pid, uint64_t* start) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ESRCH ? StatRead::kGone : StatRead::kUnreadable;  // ENOENT: gone, or hidepid
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (n < 0) return err == ESRCH ? StatRead::kGone : StatRead::kUnreadable;
  if (n == 0) return StatRead::kUnreadable;
  buf[n] = 0;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  char* p = strrchr(buf, ')');
  if (!p) return StatRead::kUnreadable;
  // Field 3 is the state: a zombie (Z) or dead (X) process has let go of everything already.
  if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return StatRead::kZombie;
  int field = 2;
  for (p++; *p && field < 22; p++) {
    if (*p == ' ') field++;
  }
  if (field != 22) return StatRead::kUnreadable;
  *start = strtoull(p, nullptr, 10);
  return StatRead::kOk;
}

}  // namespace

uint64_t ProcessStartTime(int32_t pid) {
  uint64_t start = 0;
  if (pid <= 0 || ReadStartTime(pid, &start) != StatRead::kOk) return 0;
  return start;
}

bool ProcessMayBeAlive(int32_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;  // EPERM: it exists (another user's)
  uint64_t start = 0;
  switch (ReadStartTime(pid, &start)) {
    case StatRead::kOk:
      return start_time == 0 || start == start_time;
    case StatRead::kZombie:
    case StatRead::kGone:
      return false;
    case StatRead::kUnreadable:
      break;
  }
  return true;  // kill(2) says it exists and /proc cannot tell us more
}

int32_t ProcessOfThread(int32_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];  // Tgid is on the 4th line
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* p = strstr(buf, "\nTgid:");
  return p ? int32_t(strtol(p + 6, nullptr, 10)) : 0;
}

bool ThreadAlive(pid_t tid) {
  return kill(tid, 0) == 0 || errno != ESRCH;
}

int MapsFile(pid_t tid, dev_t dev, ino_t ino) {
  // open/read into stack buffers, not stdio: this runs on waiter threads, and a thread that
  // mallocs gets a malloc arena of its own (64 MiB of address space each, up to 8 per core).
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", int(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ESRCH ? 0 : -1;
  char buf[4096];
  char line[256];  // the start of the current line: the fields we need come first
  size_t len = 0;
  int found = 0;
  bool read_error = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      read_error = true;
      break;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n && !found; i++) {
      if (buf[i] != '\n') {
        if (len < sizeof line - 1) line[len++] = buf[i];
        continue;
      }
      line[len] = 0;
      len = 0;
      unsigned maj = 0, min = 0;
      unsigned long long inode = 0;
      if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3 && inode == uint64_t(ino) &&
          maj == major(dev) && min == minor(dev))
        found = 1;
    }
    if (found) break;
  }
  close(fd);
  return found ? 1 : read_error ? -1 : 0;
}

}  // namespace shmq

namespace shmq {

namespace {

/** 1 and *start: the process exists (not a zombie); 0: it does not, or is a zombie; -1: cannot tell
 *  (EMFILE, EACCES, hidepid hides it: ENOENT while kill(2) says it exists). */
int ReadStart(int32_t pid, uint64_t* start) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT && errno != ESRCH) return -1;
    return kill(pid, 0) != 0 && errno == ESRCH ? 0 : -1;
  }
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return n == 0 ? 0 : -1;
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return 0;
  int field = 2;
  for (p++; *p && field < 22; p++) {
    if (*p == ' ') field++;
  }
  if (field != 22) return -1;
  *start = strtoull(p, nullptr, 10);
  return 1;
}

std::atomic<uint32_t> g_self_owner{0};

void ResetSelfOwner() {
  g_self_owner.store(0, std::memory_order_relaxed);
}

}  // namespace

uint32_t SelfOwnerBits() {
  uint32_t bits = g_self_owner.load(std::memory_order_relaxed);
  if (bits != 0) return bits;
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(nullptr, nullptr, ResetSelfOwner); });
  int32_t pid = int32_t(getpid());
  uint64_t start = 0;
  bits = uint32_t(pid) & kRecPidMask;
  if (ReadStart(pid, &start) == 1) bits |= kRecTagValid | ((uint32_t(start) << kRecTagShift) & kRecTagMask);
  g_self_owner.store(bits, std::memory_order_relaxed);
  return bits;
}

bool ProcessGone(int32_t pid) {
  return pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

bool OwnerGone(uint32_t owner_bits, dev_t dev, ino_t ino) {
  int32_t pid = int32_t(owner_bits & kRecPidMask);
  if (pid <= 0) return true;  // no owner at all: a scribble
  if (pid == getpid()) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  uint64_t start = 0;
  int known = ReadStart(pid, &start);
  if (known == 0) return true;
  if (known < 0) return false;
  if ((owner_bits & kRecTagValid) && ((uint32_t(start) << kRecTagShift) & kRecTagMask) != (owner_bits & kRecTagMask))
    return true;
  // /proc/PID/stat was readable, so a missing maps file means the process is gone.
  return MapsFile(pid, dev, ino) == 0;
}

}  // namespace shmq
