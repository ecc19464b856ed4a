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

namespace shmq {

uint64_t ProcessStartTime(int32_t pid) {
  if (pid <= 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  // Field 3 is the state: a zombie (Z) or dead (X) process has let go of everything already.
  if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return 0;
  int field = 2;
  for (p++; *p && field < 22; p++) {
    if (*p == ' ') field++;
  }
  return field == 22 ? strtoull(p, nullptr, 10) : 0;
}

bool ThreadAlive(pid_t tid) {
  return kill(tid, 0) == 0 || errno != ESRCH;
}

int MapsFile(pid_t tid, dev_t dev, ino_t ino) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", int(tid));
  FILE* f = fopen(path, "re");
  if (!f) return errno == ENOENT || errno == ESRCH ? 0 : -1;
  char line[512];
  int found = 0;
  bool line_start = true;
  while (fgets(line, sizeof line, f)) {
    bool starts = line_start;
    line_start = strchr(line, '\n') != nullptr;  // a long path spills over several reads
    if (!starts) continue;
    unsigned maj = 0, min = 0;
    unsigned long long inode = 0;
    if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3 && inode == uint64_t(ino) &&
        maj == major(dev) && min == minor(dev)) {
      found = 1;
      break;
    }
  }
  bool read_error = ferror(f) != 0;
  fclose(f);
  return found ? 1 : read_error ? -1 : 0;
}

pid_t CurrentTid() {
  static thread_local pid_t tid = pid_t(syscall(SYS_gettid));
  return tid;
}

}  // namespace shmq
