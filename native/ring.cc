// shm-queue native core. See ring.h for the threading rules and DESIGN.md §3-§4 for the layout.
//
// Crash-safety invariant: every change of the queue's contents is published by ONE store of an
// index made as the LAST step under the lock. A put copies the record first and then advances
// `tail`; a get copies the payload out first and then advances `head`. A process killed at any
// instant therefore leaves either the old or the new state, never a torn record; `count` is the
// only derived field and Repair() recomputes it by walking the records.
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace shmq {

static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be lock-free");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "indices must be lock-free");
static_assert(sizeof(Header) % 64 == 0, "the data ring must start on a cache line");

namespace {

constexpr int64_t kWaitSliceMs = 200;     // waits wake at least this often to re-check state
constexpr int64_t kLockSliceMs = 250;     // lock waits re-check the holder's liveness this often
constexpr int64_t kLockFirstSliceMs = 2;  // ... and first after this long
constexpr int64_t kLockStallMs = 15000;   // a live holder that makes no progress this long is reported
constexpr int64_t kReadyWaitMs = 2000;    // how long an opener waits for a creator to publish READY
constexpr uint32_t kFutexTidMask = 0x3fffffff;
constexpr uint32_t kFutexOwnerDied = 0x40000000;
constexpr uint32_t kFutexWaiters = 0x80000000;

inline uint64_t Align8(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

uint64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

/** An absolute CLOCK_MONOTONIC deadline; timeout < 0 never expires. */
class Deadline {
 public:
  explicit Deadline(TimeoutMs timeout) : timeout_(timeout) {}
  bool expired() { return timeout_ >= 0 && NowMs() >= At(); }
  /** Milliseconds to sleep now: at most `slice`, never past the deadline. */
  int64_t Slice(int64_t slice) {
    if (timeout_ < 0) return slice;
    return std::max<int64_t>(0, std::min(slice, At() - NowMs()));
  }

 private:
  // The clock is read when the deadline is first consulted, not when it is made: an operation
  // that completes at once (every uncontended put and get) never reads it. Callers make their
  // first attempt with the raw timeout, so the deadline starts after that attempt, which takes
  // microseconds (or returns at once with kTimedOut when the lock itself stayed busy).
  int64_t At() {
    if (!started_) {
      at_ = NowMs() + timeout_;
      started_ = true;
    }
    return at_;
  }
  TimeoutMs timeout_;
  bool started_ = false;
  int64_t at_ = 0;
};

/** FUTEX_WAIT on a shared (not process-private) word, with a relative timeout in ms. */
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int64_t ms) {
  timespec ts{time_t(ms / 1000), long((ms % 1000) * 1000000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void FutexWake(void* word, int n) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

/** Reads one u32 of the untrusted ring exactly once (a scribbler may change it under us). */
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  __atomic_load(reinterpret_cast<const uint32_t*>(p), &v, __ATOMIC_RELAXED);
  return v;
}

inline void StoreU32(uint8_t* p, uint32_t v) {
  __atomic_store(reinterpret_cast<uint32_t*>(p), &v, __ATOMIC_RELAXED);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

bool ThreadAlive(pid_t tid) {
  return kill(tid, 0) == 0 || errno != ESRCH;
}

/** kLockStallMs, unless SHM_QUEUE_LOCK_STALL_MS overrides it (for the fuzzer and tests). */
int64_t LockStallMs() {
  static const int64_t ms = [] {
    const char* env = getenv("SHM_QUEUE_LOCK_STALL_MS");
    long long v = env ? atoll(env) : 0;
    return v > 0 ? int64_t(v) : kLockStallMs;
  }();
  return ms;
}

pid_t CurrentTid() {
  static thread_local pid_t tid = pid_t(syscall(SYS_gettid));
  return tid;
}

#ifdef __GLIBC__
/** The __kind glibc stores for a robust, process-shared mutex (what Open() initialises). */
int ExpectedMutexKind() {
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
#endif

/** Does thread `tid`'s process map the file (dev, ino)? 1 yes, 0 no, -1 unknown (unreadable). */
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

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

constexpr int kLockSpins = 200;         // trylock attempts before sleeping on the mutex
constexpr int64_t kWaitSpinNs = 30000;  // longest a waiter polls before it sleeps on the futex
constexpr int64_t kMinSpinNs = 1000;    // below this, a waiter sleeps at once (but see kSpinProbe)
constexpr uint32_t kSpinProbe = 64;     // ...and polls in full once every kSpinProbe waits

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidCodecName(const char* codec, size_t size) {
  size_t n = strnlen(codec, size);
  if (n == 0 || n >= size) return false;
  for (size_t i = 0; i < n; i++) {
    char c = codec[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

uint64_t ProcessStartTime(int32_t pid) {
  if (pid <= 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  Fd f;
  f.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(f.fd, buf, sizeof buf - 1);
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

Ring::~Ring() {
  Close();
}

uint64_t Ring::max_payload() const {
  uint64_t m = capacity_ - kRecordHeaderSize;
  return std::min<uint64_t>(m, UINT32_MAX - 7);
}

int Ring::Unlink(const std::string& name) {
  return shm_unlink(ShmPath(name).c_str()) == 0 ? 0 : errno;
}

// ---------------------------------------------------------------------------------------------
// Open, create, validate.

OpenResult Ring::Open(const std::string& name, OpenMode mode, const CreateOptions& options) {
  OpenResult r;
  std::string path = ShmPath(name);
  if (mode != OpenMode::kOpen) {
    uint64_t capacity = Align8(options.capacity);
    uint64_t total = sizeof(Header) + capacity;
    Fd f;
    f.fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (f.fd >= 0) {
      // shm_open applies the umask; the caller asked for exactly `mode`.
      if (fchmod(f.fd, options.mode) != 0 || ftruncate(f.fd, off_t(total)) != 0) {
        r.status = kSystemError;
        r.sys_errno = errno;
        r.syscall = "ftruncate";
        shm_unlink(path.c_str());
        return r;
      }
      void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, 0);
      if (p == MAP_FAILED) {
        r.status = kSystemError;
        r.sys_errno = errno;
        r.syscall = "mmap";
        shm_unlink(path.c_str());
        return r;
      }
      Header* h = static_cast<Header*>(p);
      // ftruncate zero-fills, so atomics and counters already read as 0.
      h->magic = kMagic;
      h->version = kLayoutVersion;
      h->header_size = sizeof(Header);
      h->total_size = total;
      h->capacity = capacity;
      h->maxsize = options.maxsize;
      h->flags = options.flags & kKnownQueueFlags;
      snprintf(h->codec, kCodecNameSize, "%s", options.codec.c_str());
      h->creator_uid = getuid();
      h->creator_pid = getpid();
      timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      h->created_at_ms = uint64_t(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
      pthread_mutexattr_t attr;
      pthread_mutexattr_init(&attr);
      pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
      pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
      int err = pthread_mutex_init(&h->mutex, &attr);
      pthread_mutexattr_destroy(&attr);
      if (err != 0) {
        munmap(p, total);
        shm_unlink(path.c_str());
        r.status = kSystemError;
        r.sys_errno = err;
        r.syscall = "pthread_mutex_init";
        return r;
      }
      h->state.store(kStateReady, std::memory_order_release);
      header_ = h;
      data_ = static_cast<uint8_t*>(p) + sizeof(Header);
      map_size_ = total;
      capacity_ = capacity;
      maxsize_ = h->maxsize;
      flags_ = h->flags;
      codec_ = options.codec;
      struct stat st;
      if (fstat(f.fd, &st) == 0) {
        dev_ = st.st_dev;
        ino_ = st.st_ino;
      }
      fd_ = f.fd;
      f.fd = -1;
      r.created = true;
      if (Lock(-1) == kOk) {
        AttachLocked();
        Unlock();
      }
      return r;
    }
    if (errno != EEXIST || mode == OpenMode::kCreate) {
      r.status = kSystemError;
      r.sys_errno = errno;
      r.syscall = "shm_open";
      return r;
    }
    // kCreateOrOpen and someone else created it first: open theirs.
  }
  bool writable = mode != OpenMode::kInspect;
  Fd f;
  f.fd = shm_open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
  if (f.fd < 0) {
    r.status = kSystemError;
    r.sys_errno = errno;
    r.syscall = "shm_open";
    return r;
  }
  r = MapAndValidate(f.fd, name, writable);
  if (r.status == kOk) {
    fd_ = f.fd;
    f.fd = -1;
  }
  if (r.status == kOk && writable && Lock(-1) == kOk) {
    AttachLocked();
    Unlock();
  }
  return r;
}

OpenResult Ring::MapAndValidate(int fd, const std::string& name, bool writable) {
  OpenResult r;
  auto fail = [&](int status, const std::string& msg) {
    r.status = status;
    r.message = msg;
    return r;
  };
  // A creator publishes READY only after the header is complete; wait a bounded time for it.
  int64_t give_up = NowMs() + kReadyWaitMs;
  struct stat st;
  for (;;) {
    if (fstat(fd, &st) != 0) {
      r.status = kSystemError;
      r.sys_errno = errno;
      r.syscall = "fstat";
      return r;
    }
    // A creator sets the whole size with one ftruncate, so 0 < size < header is never a queue
    // being created: refuse it now instead of waiting kReadyWaitMs for a READY that cannot come.
    if (st.st_size > 0 && uint64_t(st.st_size) < sizeof(Header)) {
      return fail(kCorrupt, "queue '" + name + "' is smaller (" + std::to_string(st.st_size) +
                                " bytes) than a queue header (" + std::to_string(sizeof(Header)) + ")");
    }
    if (uint64_t(st.st_size) >= sizeof(Header)) {
      const Header* h = static_cast<const Header*>(mmap(nullptr, sizeof(Header), PROT_READ, MAP_SHARED, fd, 0));
      if (h == MAP_FAILED) {
        r.status = kSystemError;
        r.sys_errno = errno;
        r.syscall = "mmap";
        return r;
      }
      bool ready = h->state.load(std::memory_order_acquire) == kStateReady;
      bool foreign = h->magic != kMagic && h->magic != 0;
      munmap(const_cast<Header*>(h), sizeof(Header));
      if (ready || foreign) break;
    }
    if (NowMs() >= give_up) {
      return fail(kIncompatible, "queue '" + name +
                                     "' was never finished by its creator (it may have died while creating it); remove "
                                     "it with Queue.unlink() and create it again");
    }
    usleep(1000);
  }
  void* p = mmap(nullptr, st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    r.status = kSystemError;
    r.sys_errno = errno;
    r.syscall = "mmap";
    return r;
  }
  Header* h = static_cast<Header*>(p);
  // Copy every field once, then check the copies.
  uint64_t magic = h->magic, total = h->total_size, capacity = h->capacity;
  uint32_t version = h->version, header_size = h->header_size, flags = h->flags, maxsize = h->maxsize;
  char codec[kCodecNameSize];
  memcpy(codec, h->codec, kCodecNameSize);
  std::string problem;
  int status = kIncompatible;
  if (magic != kMagic) {
    problem = "is not a shm-queue segment (bad magic number)";
  } else if (version != kLayoutVersion) {
    problem = "uses layout version " + std::to_string(version) + ", this build reads version " +
              std::to_string(kLayoutVersion) + "; use the same shm-queue version in every process";
  } else if (header_size != sizeof(Header)) {
    problem = "has a header of " + std::to_string(header_size) + " bytes, expected " + std::to_string(sizeof(Header));
  } else {
    status = kCorrupt;
    if (capacity < kMinCapacity || capacity > kMaxCapacity || capacity % 8 != 0) {
      problem = "has an impossible capacity (" + std::to_string(capacity) + ")";
    } else if (total != sizeof(Header) + capacity) {
      problem = "has a total size that does not match its capacity";
    } else if (uint64_t(st.st_size) < total) {
      problem = "is smaller (" + std::to_string(st.st_size) + " bytes) than its header claims (" +
                std::to_string(total) + ")";
    } else if ((flags & ~kKnownQueueFlags) != 0) {
      problem = "has unknown flags";
    } else if (!ValidCodecName(codec, kCodecNameSize)) {
      problem = "has an invalid codec name";
    }
  }
  if (!problem.empty()) {
    munmap(p, st.st_size);
    return fail(status, "queue '" + name + "' " + problem);
  }
  header_ = h;
  data_ = static_cast<uint8_t*>(p) + sizeof(Header);
  map_size_ = st.st_size;
  capacity_ = capacity;
  maxsize_ = maxsize;
  flags_ = flags;
  codec_ = codec;
  read_only_ = !writable;
  file_mode_ = st.st_mode & 07777;
  file_uid_ = st.st_uid;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return r;
}

void Ring::Close() {
  if (!header_) return;
  if (attached_ && Lock(1000) == kOk) {
    DetachLocked();
    Unlock();
  }
  // Note: no thread of ours may be inside Unlock() now (glibc BZ 14485); the binding joins its
  // waiter thread before calling Close().
  munmap(header_, map_size_);
  header_ = nullptr;
  data_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------------------------------------
// Locking and recovery.

int Ring::Corrupt(const std::string& what) {
  std::lock_guard<std::mutex> guard(error_mutex_);
  last_error_ =
      "queue segment is corrupt: " + what + "; remove it (Queue.unlink or `shm-queue rm`) and create it again";
  return kCorrupt;
}

namespace {
/** What a thread saw of a lock it could not get: kept across Lock() calls, because sync callers
 *  wait in slices (so that worker.terminate() is honoured) and the stall bound below spans many
 *  slices. An observation older than a second belongs to an earlier, unrelated wait. */
struct StallWatch {
  const void* ring = nullptr;
  uint32_t tid = 0;
  uint64_t progress = 0;
  int64_t since = 0;
  int64_t last_seen = 0;
};
thread_local StallWatch tls_stall;
}  // namespace

int Ring::Lock(TimeoutMs timeout) {
#ifdef __GLIBC__
  // The mutex kind is written once by pthread_mutex_init and never changes. A scribbled kind
  // turns the lock into another kind of mutex (non-robust, process-private, priority-protected)
  // whose glibc code paths may wait on a private futex forever or assert(); refuse instead.
  if (header_->mutex.__data.__kind != ExpectedMutexKind())
    return Corrupt("its lock was overwritten (unknown mutex kind)");
#endif
  // Lock waits are sliced so that a lock word naming a holder that no longer exists (a scribbled
  // word, or a robust list the kernel never processed) is noticed instead of waited on forever.
  // Critical sections are a few hundred nanoseconds, and glibc's robust mutex sleeps at once when
  // contended: a short trylock spin avoids a futex round trip per operation between two busy peers.
  for (int i = 0; i < kLockSpins; i++) {
    int err = pthread_mutex_trylock(&header_->mutex);
    if (err == 0) return kOk;
    if (err == EOWNERDEAD) return RecoverLocked();
    if (err != EBUSY) break;  // errors are reported by the slow path below
    CpuRelax();
  }
  Deadline deadline(timeout < 0 ? -1 : std::max<TimeoutMs>(timeout, 100));
  // The first slice is short so that a stale lock word is recovered within milliseconds (even by
  // a get/put with timeout 0); later slices grow to kLockSliceMs.
  int64_t slice = kLockFirstSliceMs;
  StallWatch& stall = tls_stall;
  if (stall.ring != this || NowMs() - stall.last_seen > 1000) stall = StallWatch{this, 0, 0, NowMs(), NowMs()};
  for (;;) {
    timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    int64_t ms = deadline.Slice(slice);
    slice = std::min<int64_t>(slice * 4, kLockSliceMs);
    abs.tv_sec += ms / 1000;
    abs.tv_nsec += (ms % 1000) * 1000000;
    if (abs.tv_nsec >= 1000000000) {
      abs.tv_sec++;
      abs.tv_nsec -= 1000000000;
    }
    int err = pthread_mutex_clocklock(&header_->mutex, CLOCK_MONOTONIC, &abs);
    if (err == 0) return kOk;
    if (err == EOWNERDEAD) return RecoverLocked();
    if (err != ETIMEDOUT) return Corrupt("the queue lock is unusable (" + std::string(strerror(err)) + ")");
#ifdef __GLIBC__
    // glibc keeps the holder's thread id in the first word of a robust mutex. If that word names no
    // possible holder, hand the lock back the way the kernel does for a robust holder that died:
    // mark it OWNER_DIED, so that the next locker gets EOWNERDEAD and repairs. The compare-exchange
    // only succeeds if the word still holds the value we judged, so a lock that changed hands in
    // between is left alone.
    auto* word = reinterpret_cast<std::atomic<uint32_t>*>(&header_->mutex.__data.__lock);
    uint32_t seen = word->load();
    if (HolderGone(seen)) {
      uint32_t expected = seen;
      if (word->compare_exchange_strong(expected, kFutexOwnerDied | (seen & kFutexWaiters))) FutexWake(word, 1);
      continue;
    }
    // A live holder that keeps the lock while the queue makes no progress at all for
    // kLockStallMs is stopped (SIGSTOP, a debugger) or is a live process named by a scribbled
    // word: report it rather than wait forever (guarantee: lock waits are bounded).
    uint32_t tid = seen & kFutexTidMask;
    uint64_t progress = header_->head.load(std::memory_order_relaxed) + header_->tail.load(std::memory_order_relaxed) +
                        header_->puts.load(std::memory_order_relaxed) + header_->gets.load(std::memory_order_relaxed);
    stall.last_seen = NowMs();
    if (tid != stall.tid || progress != stall.progress) {
      stall.tid = tid;
      stall.progress = progress;
      stall.since = stall.last_seen;
    } else if (stall.last_seen - stall.since >= LockStallMs()) {
      return Corrupt("its lock has been held by thread " + std::to_string(tid) + " for more than " +
                     std::to_string(LockStallMs()) +
                     " ms without any progress (a stopped process, or a corrupt lock word)");
    }
#endif
    if (deadline.expired()) return kTimedOut;
  }
}

#ifdef __GLIBC__
bool Ring::HolderGone(uint32_t word) const {
  if (word == 0) return false;  // free right now: just retry
  pid_t tid = pid_t(word & kFutexTidMask);
  // OWNER_DIED without a holder is the kernel's own hand-back, which glibc turns into EOWNERDEAD.
  // Any other value without a holder (e.g. a lone FUTEX_WAITERS bit) is never written by glibc or
  // the kernel and would make every locker wait forever.
  if (tid == 0) return (word & kFutexOwnerDied) == 0;
  if (tid == CurrentTid()) return true;  // we never lock recursively, so it is not ours
  if (!ThreadAlive(tid)) return true;
  // A thread that exists but whose process does not map this segment (a recycled id, a scribbled
  // word naming e.g. pid 1, a zombie) cannot hold the lock. Unknown (no permission to read its
  // maps) counts as "may hold it".
  return MapsFile(tid, dev_, ino_) == 0;
}
#endif

int Ring::RecoverLocked() {
  // We hold the lock, and its previous holder died holding it. Indices are always valid (see the
  // invariant at the top); only `count` may be stale. Repair, make the mutex usable again, count it.
  // A process that shrank the file (ftruncate) makes any access past the new end SIGBUS. That
  // cannot be prevented cheaply on every access (see README, "Crash safety"), but a recovery is
  // the moment something went wrong, and Repair() is about to read every record: check first.
  struct stat fst;
  int st = fd_ >= 0 && fstat(fd_, &fst) == 0 && uint64_t(fst.st_size) < map_size_
               ? Corrupt("its file was truncated to " + std::to_string(fst.st_size) + " bytes while open")
               : Repair();
  pthread_mutex_consistent(&header_->mutex);
  header_->recoveries.fetch_add(1, std::memory_order_relaxed);
  if (st != kOk) {
    Unlock();
    return st;
  }
  return kOk;
}

void Ring::Unlock() {
  pthread_mutex_unlock(&header_->mutex);
}

int Ring::CheckIndices(uint64_t head, uint64_t tail) {
  if (head > tail || tail - head > capacity_ || head % 8 != 0 || tail % 8 != 0)
    return Corrupt("its head/tail indices are impossible");
  return kOk;
}

int Ring::Repair() {
  uint64_t head = header_->head.load(), tail = header_->tail.load();
  int st = CheckIndices(head, tail);
  if (st != kOk) return st;
  uint32_t count = 0;
  uint64_t cursor = head;
  while (cursor != tail) {
    uint64_t pos = cursor % capacity_;
    uint32_t len = LoadU32(data_ + pos), flags = LoadU32(data_ + pos + 4);
    uint64_t rec = (flags & kRecordFlagWrap) ? capacity_ - pos : kRecordHeaderSize + Align8(len);
    if (!(flags & kRecordFlagWrap) && (len > max_payload() || pos + rec > capacity_))
      return Corrupt("a record has an impossible length");
    // Compare with the room left, not `cursor + rec > tail`: with indices scribbled near 2^64 the
    // sum wraps, the check passes and the walk runs on for up to 2^61 steps.
    if (rec > tail - cursor) return Corrupt("a record runs past the tail");
    if (!(flags & kRecordFlagWrap)) count++;
    cursor += rec;
  }
  header_->count.store(count);
  return kOk;
}

// ---------------------------------------------------------------------------------------------
// Waiting and signalling.

namespace {
struct EventWords {
  std::atomic<uint32_t>* seq;
  std::atomic<uint32_t>* waiters;
};
EventWords WordsOf(Header* h, Event e) {
  switch (e) {
    case Event::kNotEmpty:
      return {&h->not_empty_seq, &h->not_empty_waiters};
    case Event::kNotFull:
      return {&h->not_full_seq, &h->not_full_waiters};
    default:
      return {&h->all_done_seq, &h->all_done_waiters};
  }
}
}  // namespace

void Ring::Signal(Event event) {
  // Pairs with the waiter's fetch_add + seq load: either the waiter sees our state change when it
  // re-checks its predicate, or we see its count here and bump the sequence it waits on.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  EventWords w = WordsOf(header_, event);
  if (w.waiters->load(std::memory_order_relaxed) == 0) return;
  w.seq->fetch_add(1);
  FutexWake(w.seq, INT_MAX);
}

void Ring::WakeAll(Event event) {
  EventWords w = WordsOf(header_, event);
  w.seq->fetch_add(1);
  FutexWake(w.seq, INT_MAX);
}

bool Ring::PredicateLocked(Event event, uint32_t needed) {
  Header* h = header_;
  if (event == Event::kAllDone) return h->unfinished.load() == 0;
  if (h->shutdown.load()) return true;
  uint64_t head = h->head.load(), tail = h->tail.load();
  if (CheckIndices(head, tail) != kOk) return true;  // let the operation report it
  if (event == Event::kNotEmpty) return head != tail;
  if (maxsize_ != 0 && CountLocked() >= maxsize_) return false;
  uint64_t used = tail - head, pos = tail % capacity_, contiguous = capacity_ - pos;
  uint64_t rec = kRecordHeaderSize + Align8(needed);
  if (used == 0) return true;
  uint64_t need = contiguous < rec ? contiguous + rec : rec;
  return need <= capacity_ - used;
}

bool Ring::LockFreeHint(Event event, uint32_t needed) {
  Header* h = header_;
  if (event == Event::kAllDone) return h->unfinished.load(std::memory_order_relaxed) == 0;
  if (h->shutdown.load(std::memory_order_relaxed)) return true;
  uint64_t head = h->head.load(std::memory_order_acquire), tail = h->tail.load(std::memory_order_acquire);
  if (event == Event::kNotEmpty) return head != tail;
  if (maxsize_ != 0 && h->count.load(std::memory_order_relaxed) >= maxsize_) return false;
  return tail >= head && tail - head + 2 * (kRecordHeaderSize + Align8(needed)) <= capacity_;
}

int Ring::Wait(Event event, uint32_t needed, TimeoutMs timeout, const std::atomic<bool>* cancel) {
  Deadline deadline(timeout);
  if (timeout != 0) {
    // Spin briefly first: between two busy peers the condition usually turns true within
    // microseconds, and a futex sleep + wake-up costs tens of them. The hint is only a hint; the
    // caller retries the real operation under the lock.
    // Polling pays only while the peer has a core to run on: with more runnable threads than
    // cores it takes CPU time from the very peer it waits for (a 64-byte ping-pong went from
    // 16 us with no polling to 83 us with 30 us of polling on a loaded 2-core machine). So the
    // budget adapts: doubled (up to kWaitSpinNs) when a poll saw the event, cut by a quarter when
    // it did not (so polling goes on while at least ~30% of polls pay off); below kMinSpinNs the
    // waiter sleeps at once, except for one full poll every kSpinProbe waits that notices when
    // polling would pay again.
    int64_t budget = spin_ns_.load(std::memory_order_relaxed);
    bool probe = budget < kMinSpinNs && spin_probe_.fetch_add(1, std::memory_order_relaxed) % kSpinProbe == 0;
    if (probe) budget = kWaitSpinNs;
    if (budget >= kMinSpinNs) {
      int64_t until = NowNs() + budget;
      for (int i = 0;; i++) {
        if (LockFreeHint(event, needed)) {
          spin_ns_.store(std::min(kWaitSpinNs, budget * 2), std::memory_order_relaxed);
          return kOk;
        }
        if (cancel && cancel->load(std::memory_order_relaxed)) return kCancelled;
        if ((i & 63) == 63 && NowNs() >= until) break;
        CpuRelax();
      }
      spin_ns_.store(probe ? 0 : budget - budget / 4, std::memory_order_relaxed);
    }
  }
  EventWords w = WordsOf(header_, event);
  w.waiters->fetch_add(1);
  int result = kTimedOut;
  for (;;) {
    uint32_t seq = w.seq->load();
    if (cancel && cancel->load()) {
      result = kCancelled;
      break;
    }
    int st = Lock(deadline.Slice(INT32_MAX));
    if (st == kTimedOut) break;
    if (st != kOk) {
      result = st;
      break;
    }
    bool ready = PredicateLocked(event, needed);
    Unlock();
    if (ready) {
      result = kOk;
      break;
    }
    if (deadline.expired()) break;
    FutexWait(w.seq, seq, deadline.Slice(kWaitSliceMs));
  }
  w.waiters->fetch_sub(1);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Records.

int Ring::TryPushLocked(const uint8_t* data, uint32_t len) {
  Header* h = header_;
  if (h->shutdown.load()) return kShutdown;
  uint64_t head = h->head.load(), tail = h->tail.load();
  int st = CheckIndices(head, tail);
  if (st != kOk) return st;
  if (maxsize_ != 0 && CountLocked() >= maxsize_) return kFull;
  uint64_t rec = kRecordHeaderSize + Align8(len);
  uint64_t used = tail - head, pos = tail % capacity_, contiguous = capacity_ - pos;
  if (used == 0 && contiguous < rec) {
    // Empty, but the record would not fit before the end: skip to the start. The marker is
    // published by `tail` first, so a crash between the two stores leaves a valid lone marker.
    StoreU32(data_ + pos, 0);
    StoreU32(data_ + pos + 4, kRecordFlagWrap);
    tail += contiguous;
    h->tail.store(tail, std::memory_order_release);
    h->head.store(tail, std::memory_order_release);
    head = tail;
    pos = 0;
    contiguous = capacity_;
  }
  uint64_t need = contiguous < rec ? contiguous + rec : rec;
  if (need > capacity_ - used) return kFull;
  if (contiguous < rec) {
    StoreU32(data_ + pos, 0);
    StoreU32(data_ + pos + 4, kRecordFlagWrap);
    pos = 0;
  }
  StoreU32(data_ + pos, len);
  StoreU32(data_ + pos + 4, 0);
  // An empty message may come with data == nullptr (an empty Buffer has no storage), and memcpy
  // with a null pointer is undefined even for 0 bytes (UBSan, npm run test:sanitize).
  if (len > 0) memcpy(data_ + pos + kRecordHeaderSize, data, len);
  h->tail.store(tail + need, std::memory_order_release);  // publication: the last step
  h->count.fetch_add(1, std::memory_order_relaxed);
  h->puts.fetch_add(1, std::memory_order_relaxed);
  if (flags_ & kQueueFlagJoinable) h->unfinished.fetch_add(1, std::memory_order_relaxed);
  return kOk;
}

int64_t Ring::TryShiftLocked(uint8_t* out, uint64_t out_cap, bool consume, uint64_t* cursor) {
  Header* h = header_;
  uint64_t head = consume ? h->head.load() : *cursor, tail = h->tail.load();
  int st = CheckIndices(consume ? head : h->head.load(), tail);
  if (st != kOk) return st;
  if (!consume && (head < h->head.load() || head > tail)) return Corrupt("the queue changed while it was read");
  for (;;) {
    if (head == tail) return h->shutdown.load() ? kShutdown : kEmpty;
    uint64_t pos = head % capacity_;
    uint32_t len = LoadU32(data_ + pos), flags = LoadU32(data_ + pos + 4);
    if (flags & kRecordFlagWrap) {
      uint64_t skip = capacity_ - pos;
      if (skip > tail - head) return Corrupt("a wrap marker points past the tail");  // no wrapping sum
      head += skip;
      if (consume) h->head.store(head, std::memory_order_release);
      continue;
    }
    uint64_t rec = kRecordHeaderSize + Align8(len);
    if (len > max_payload() || pos + rec > capacity_ || rec > tail - head)
      return Corrupt("a record has an impossible length");
    if (len > out_cap) {
      needed_ = len;
      if (!consume) *cursor = head;
      return kNeedSpace;
    }
    memcpy(out, data_ + pos + kRecordHeaderSize, len);
    if (consume) {
      h->head.store(head + rec, std::memory_order_release);  // removal: the last step
      uint32_t c = h->count.load(std::memory_order_relaxed);
      if (c > 0) h->count.store(c - 1, std::memory_order_relaxed);
      h->gets.fetch_add(1, std::memory_order_relaxed);
    } else {
      *cursor = head + rec;
    }
    return len;
  }
}

int Ring::Push(const uint8_t* data, uint32_t len, TimeoutMs timeout) {
  if (len > max_payload()) return kTooLarge;
  Deadline deadline(timeout);
  bool first = true;
  for (;;) {
    int st = Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return kFull;
    if (st != kOk) return st;
    st = TryPushLocked(data, len);
    Unlock();
    if (st == kOk) Signal(Event::kNotEmpty);
    if (st != kFull || timeout == 0) return st;
    st = Wait(Event::kNotFull, len, timeout < 0 ? -1 : deadline.Slice(INT32_MAX), nullptr);
    if (st == kTimedOut) return kFull;
    if (st != kOk) return st;
  }
}

int Ring::PushMany(const uint8_t* data, const uint32_t* lens, uint32_t n, TimeoutMs timeout, uint32_t* pushed) {
  *pushed = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (lens[i] > max_payload()) return kTooLarge;
  }
  Deadline deadline(timeout);
  bool first = true;
  const uint8_t* p = data;
  for (;;) {
    int st = Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return kFull;
    if (st != kOk) return st;
    uint32_t before = *pushed;
    while (*pushed < n) {
      st = TryPushLocked(p, lens[*pushed]);
      if (st != kOk) break;
      p += lens[*pushed];
      ++*pushed;
    }
    Unlock();
    if (*pushed > before) Signal(Event::kNotEmpty);
    if (*pushed == n) return kOk;
    if (st != kFull || timeout == 0) return st;
    st = Wait(Event::kNotFull, lens[*pushed], timeout < 0 ? -1 : deadline.Slice(INT32_MAX), nullptr);
    if (st == kTimedOut) return kFull;
    if (st != kOk) return st;
  }
}

int64_t Ring::Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout) {
  Deadline deadline(timeout);
  bool first = true;
  for (;;) {
    int st = Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return kEmpty;
    if (st != kOk) return st;
    int64_t got = TryShiftLocked(out, out_cap, true, nullptr);
    Unlock();
    if (got >= 0) Signal(Event::kNotFull);
    if (got != kEmpty || timeout == 0) return got;
    st = Wait(Event::kNotEmpty, 0, timeout < 0 ? -1 : deadline.Slice(INT32_MAX), nullptr);
    if (st == kTimedOut) return kEmpty;
    if (st != kOk) return st;
  }
}

int64_t Ring::ShiftMany(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens, TimeoutMs timeout) {
  Deadline deadline(timeout);
  bool first = true;
  for (;;) {
    int st = Lock(first ? timeout : deadline.Slice(INT32_MAX));
    first = false;
    if (st == kTimedOut) return kEmpty;
    if (st != kOk) return st;
    uint32_t got = 0;
    uint64_t off = 0;
    int64_t r = 0;
    while (got < max) {
      r = TryShiftLocked(out + off, out_cap - off, true, nullptr);
      if (r < 0) break;
      lens[got++] = uint32_t(r);
      off += Align8(uint64_t(r));
      if (off > out_cap) off = out_cap;
    }
    Unlock();
    if (got > 0) {
      Signal(Event::kNotFull);
      return got;
    }
    if (r != kEmpty || timeout == 0) return r;
    st = Wait(Event::kNotEmpty, 0, timeout < 0 ? -1 : deadline.Slice(INT32_MAX), nullptr);
    if (st == kTimedOut) return kEmpty;
    if (st != kOk) return st;
  }
}

int64_t Ring::Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens) {
  int st = Lock(1000);
  if (st == kTimedOut) return kEmpty;
  if (st != kOk) return st;
  uint64_t cursor = header_->head.load();
  uint32_t got = 0;
  uint64_t off = 0;
  int64_t r = 0;
  while (got < max) {
    r = TryShiftLocked(out + off, out_cap - off, false, &cursor);
    if (r < 0) break;
    lens[got++] = uint32_t(r);
    off += Align8(uint64_t(r));
    if (off > out_cap) off = out_cap;
  }
  Unlock();
  if (got > 0 || r == kEmpty || r == kShutdown) return got;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Shutdown, joinable tasks, stats, attached processes.

int Ring::Shutdown(bool immediate) {
  int st = Lock(-1);
  if (st != kOk) return st;
  Header* h = header_;
  uint32_t prev = h->shutdown.load();
  h->shutdown.store(std::max(prev, immediate ? kShutdownImmediate : kShutdownGraceful));
  if (immediate) {
    // Discard what is left, as Python's shutdown(immediate=True) does, and count each discarded
    // item as done so that join() returns.
    uint64_t tail = h->tail.load();
    uint32_t discarded = h->count.load();
    h->head.store(tail, std::memory_order_release);
    h->count.store(0);
    if (flags_ & kQueueFlagJoinable) {
      uint64_t u = h->unfinished.load();
      h->unfinished.store(u > discarded ? u - discarded : 0);
    }
  }
  Unlock();
  WakeAll(Event::kNotEmpty);
  WakeAll(Event::kNotFull);
  WakeAll(Event::kAllDone);
  return kOk;
}

int Ring::TaskDone() {
  int st = Lock(-1);
  if (st != kOk) return st;
  uint64_t u = header_->unfinished.load();
  if (u == 0) {
    Unlock();
    return kTaskDoneTooMany;
  }
  header_->unfinished.store(u - 1);
  Unlock();
  if (u == 1) Signal(Event::kAllDone);
  return kOk;
}

int Ring::Join(TimeoutMs timeout) {
  return Wait(Event::kAllDone, 0, timeout, nullptr);
}

int Ring::Verify() {
  int st = Lock(1000);
  if (st != kOk) return st;
  st = Repair();
  Unlock();
  return st;
}

int Ring::TestLockAndTear(const uint8_t* data, uint32_t len, uint32_t written) {
  int st = Lock(-1);
  if (st != kOk) return st;
  uint64_t head = header_->head.load(), tail = header_->tail.load(), pos = tail % capacity_;
  uint64_t rec = kRecordHeaderSize + Align8(len);
  if (len > 0 && written <= len && CheckIndices(head, tail) == kOk && rec <= capacity_ - pos &&
      rec <= capacity_ - (tail - head)) {
    StoreU32(data_ + pos, len);
    StoreU32(data_ + pos + 4, 0);
    memcpy(data_ + pos + kRecordHeaderSize, data, written);
  }
  return kOk;  // deliberately still locked
}

uint32_t Ring::Count() const {
  // Lock-free, so it cannot repair; but every record takes at least 8 bytes, so a scribbled count
  // larger than that is clamped rather than reported as billions of messages.
  uint32_t c = header_->count.load(std::memory_order_acquire);
  uint64_t head = header_->head.load(std::memory_order_acquire), tail = header_->tail.load(std::memory_order_acquire);
  if (head <= tail && tail - head <= capacity_) c = uint32_t(std::min<uint64_t>(c, (tail - head) / kRecordHeaderSize));
  return c;
}

uint32_t Ring::CountLocked() {
  // `count` is derived state that a scribbler can change without touching the indices. A count
  // that more records than the used bytes can hold would keep a maxsize-bounded queue "full"
  // forever (puts block, not-full waiters never wake): recompute it from the records instead.
  uint32_t c = header_->count.load();
  uint64_t head = header_->head.load(), tail = header_->tail.load();
  if (head <= tail && tail - head <= capacity_ && c > (tail - head) / kRecordHeaderSize && Repair() == kOk)
    c = header_->count.load();
  return c;
}

Snapshot Ring::Stats() {
  Snapshot s{};
  Header* h = header_;
  s.head = h->head.load();
  s.tail = h->tail.load();
  s.capacity = capacity_;
  s.unfinished = h->unfinished.load();
  s.puts = h->puts.load();
  s.gets = h->gets.load();
  s.recoveries = h->recoveries.load();
  s.created_at_ms = h->created_at_ms;
  s.last_attach_ms = h->last_attach_ms;
  s.last_detach_ms = h->last_detach_ms;
  s.total_size = map_size_;
  s.count = h->count.load();
  s.maxsize = maxsize_;
  s.flags = flags_;
  s.shutdown = h->shutdown.load();
  s.version = h->version;
  s.creator_uid = h->creator_uid;
  s.creator_pid = h->creator_pid;
  s.not_empty_waiters = h->not_empty_waiters.load();
  s.not_full_waiters = h->not_full_waiters.load();
  s.codec = codec_;
  s.file_mode = file_mode_;
  s.file_uid = file_uid_;
  if (read_only_) {
    // No lock (we may not have write access to it): copy the table and report the live entries.
    for (const auto& slot : h->attached) {
      AttachSlot copy = slot;
      if (copy.pid > 0 && ProcessStartTime(copy.pid) == copy.start_time) s.attached.push_back(copy);
    }
  } else if (Lock(1000) == kOk) {
    for (auto& slot : h->attached) {
      AttachSlot copy = slot;
      if (copy.pid == 0) continue;
      if (ProcessStartTime(copy.pid) != copy.start_time) {
        slot = AttachSlot{};           // pruned: that process is gone (or its pid was recycled)
        h->last_detach_ms = WallMs();  // when its death was noticed: the best bound we have
        continue;
      }
      s.attached.push_back(copy);
    }
    Unlock();
  }
  return s;
}

void Ring::AttachLocked() {
  header_->last_attach_ms = WallMs();
  int32_t self = getpid();
  uint64_t start = ProcessStartTime(self);
  AttachSlot* free_slot = nullptr;
  for (auto& slot : header_->attached) {
    if (slot.pid == self && slot.start_time == start) {
      slot.handles++;
      attached_ = true;
      return;
    }
    if (slot.pid != 0 && ProcessStartTime(slot.pid) != slot.start_time) slot = AttachSlot{};  // a dead process
    if (slot.pid == 0 && !free_slot) free_slot = &slot;
  }
  if (free_slot) {
    *free_slot = AttachSlot{self, 1, start};
    attached_ = true;
  }
  // A full table only means this process is not listed by `shm-queue ls`; the queue works.
}

void Ring::DetachLocked() {
  header_->last_detach_ms = WallMs();
  int32_t self = getpid();
  uint64_t start = ProcessStartTime(self);
  for (auto& slot : header_->attached) {
    if (slot.pid == self && slot.start_time == start) {
      if (slot.handles > 1) {
        slot.handles--;
      } else {
        slot = AttachSlot{};
      }
      break;
    }
  }
  attached_ = false;
}

}  // namespace shmq
