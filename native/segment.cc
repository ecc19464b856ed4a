#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "clock.h"
#include "attach.h"
#include "names.h"
#include "users.h"

namespace shmq {

namespace {

constexpr int64_t kReadyWaitMs = 2000;  // how long an opener waits for a creator to publish READY

/** Closes a file descriptor on scope exit unless released. */
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

/** The immutable header fields, copied once (a scribbler may change the shared ones under us). */
struct HeaderFields {
  uint64_t magic = 0, total = 0, capacity = 0;
  uint32_t version = 0, header_size = 0, flags = 0, maxsize = 0, state = 0, lock_abi = 0;
  char codec[kCodecNameSize] = {};
};

HeaderFields CopyFields(const Header* h) {
  HeaderFields f;
  f.magic = h->magic;
  f.total = h->total_size;
  f.capacity = h->capacity;
  f.version = h->version;
  f.header_size = h->header_size;
  f.flags = h->flags;
  f.maxsize = h->maxsize;
  f.state = h->state.load(std::memory_order_acquire);
  f.lock_abi = h->lock_abi;
  memcpy(f.codec, h->codec, kCodecNameSize);
  return f;
}

/** The same from raw header bytes (a pread), at the offsets layout.h pins. */
HeaderFields FieldsFromBytes(const uint8_t* b) {
  HeaderFields f;
  memcpy(&f.magic, b + offsetof(Header, magic), 8);
  memcpy(&f.total, b + offsetof(Header, total_size), 8);
  memcpy(&f.capacity, b + offsetof(Header, capacity), 8);
  memcpy(&f.version, b + offsetof(Header, version), 4);
  memcpy(&f.header_size, b + offsetof(Header, header_size), 4);
  memcpy(&f.flags, b + offsetof(Header, flags), 4);
  memcpy(&f.maxsize, b + offsetof(Header, maxsize), 4);
  memcpy(&f.state, b + offsetof(Header, state), 4);
  memcpy(&f.lock_abi, b + offsetof(Header, lock_abi), 4);
  memcpy(f.codec, b + offsetof(Header, codec), kCodecNameSize);
  return f;
}

bool IsIncompatible(SegmentReason r) {
  return r == SegmentReason::kNotAQueue || r == SegmentReason::kVersion || r == SegmentReason::kHeaderSize ||
         r == SegmentReason::kLockAbi || r == SegmentReason::kUnfinished || r == SegmentReason::kNotRegular;
}

/** THE header check of a READY segment of `file_size` bytes. kNone, or the reason with `*problem`
 *  completing the sentence "queue 'NAME' ...". */
SegmentReason CheckFields(const HeaderFields& f, uint64_t file_size, std::string* problem) {
  if (f.magic != kMagic) {
    *problem = "is not a shm-queue segment (bad magic number)";
    return SegmentReason::kNotAQueue;
  }
  if (f.version != kLayoutVersion) {
    *problem = "uses layout version " + std::to_string(f.version) + (f.version == 1 ? " (shm-queue 0.1.x)" : "") +
               ", this build reads version " + std::to_string(kLayoutVersion) +
               "; use the same shm-queue version in every process: drain it with the release that created it, "
               "then remove it (Queue.unlink or `shm-queue rm`) and create it again";
    return SegmentReason::kVersion;
  }
  if (f.header_size != sizeof(Header)) {
    *problem =
        "has a header of " + std::to_string(f.header_size) + " bytes, expected " + std::to_string(sizeof(Header));
    return SegmentReason::kHeaderSize;
  }
  if (f.lock_abi != kLockAbiFutexTid) {
    char abi[16];
    snprintf(abi, sizeof abi, "0x%08x", f.lock_abi);
    *problem = std::string("has lock ABI ") + abi + ", this build speaks 0x" +
               [] {
                 char own[16];
                 snprintf(own, sizeof own, "%08x", kLockAbiFutexTid);
                 return std::string(own);
               }() +
               " (the futex lock word of layout 2); a process with another lock cannot share it: use the same "
               "shm-queue build everywhere";
    return SegmentReason::kLockAbi;
  }
  if (f.capacity < kMinCapacity || f.capacity > kMaxCapacity || f.capacity % 8 != 0) {
    *problem = "has an impossible capacity (" + std::to_string(f.capacity) + ")";
    return SegmentReason::kCapacity;
  }
  if (f.total != sizeof(Header) + f.capacity) {
    *problem = "has a total size that does not match its capacity";
    return SegmentReason::kSize;
  }
  if (file_size < f.total) {
    *problem =
        "is smaller (" + std::to_string(file_size) + " bytes) than its header claims (" + std::to_string(f.total) + ")";
    return SegmentReason::kTruncated;
  }
  if ((f.flags & ~kKnownQueueFlags) != 0) {
    *problem = "has unknown flags";
    return SegmentReason::kFlags;
  }
  if (!ValidCodecName(f.codec, kCodecNameSize)) {
    *problem = "has an invalid codec name";
    return SegmentReason::kCodec;
  }
  return SegmentReason::kNone;
}

const char* FileTypeName(mode_t m) {
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISDIR(m)) return "directory";
  if (S_ISSOCK(m)) return "socket";
  if (S_ISLNK(m)) return "symlink";
  if (S_ISCHR(m)) return "char-device";
  if (S_ISBLK(m)) return "block-device";
  return "other";
}

OpenResult Refuse(SegmentReason reason, const std::string& message) {
  OpenResult r;
  r.status = IsIncompatible(reason) ? kIncompatible : kCorrupt;
  r.reason = reason;
  r.message = message;
  return r;
}

OpenResult SysFail(const char* syscall, int err = errno) {
  OpenResult r;
  r.status = FailSys(&r.sys, syscall, err);
  return r;
}

OpenResult NotRegular(const std::string& name, mode_t m) {
  return Refuse(SegmentReason::kNotRegular, ShmPath(name) + " is a " + FileTypeName(m) +
                                                ", not a regular file, so not a shm-queue segment; if nothing uses it, "
                                                "remove it with 'shm-queue rm --force " +
                                                name + "'");
}

std::string NoSpaceMessage(const std::string& name, uint64_t total) {
  struct statvfs fs;
  std::string free_part = statvfs("/dev/shm", &fs) == 0
                              ? std::to_string(uint64_t(fs.f_bavail) * fs.f_frsize) + " bytes are free there"
                              : "the free space there is unknown";
  return "ENOSPC: no space left in /dev/shm for queue '" + name + "': it needs " + std::to_string(total) +
         " bytes (its capacity plus a " + std::to_string(sizeof(Header)) + "-byte header) and " + free_part +
         ". Give /dev/shm more room (docker run --shm-size=512m, `shm_size:` or `ipc: host` in compose, a "
         "memory-backed emptyDir in Kubernetes), free some, or create the queue with a smaller capacity";
}

/** Creates the segment; EEXIST is returned as a system error for the caller to decide. */
OpenResult Create(const std::string& name, const CreateOptions& options, Segment* seg) {
  std::string shm = ShmName(name);
  uint64_t capacity = Align8(options.capacity);
  uint64_t total = sizeof(Header) + capacity;
  Fd f;
  f.fd = shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (f.fd < 0) return SysFail("shm_open");
  // From here on, any failure removes what we created.
  auto fail = [&](const char* syscall, int err) {
    shm_unlink(shm.c_str());
    return SysFail(syscall, err);
  };
  // shm_open applies the umask; the caller asked for exactly `mode`.
  if (fchmod(f.fd, options.mode) != 0) return fail("fchmod", errno);
  if (ftruncate(f.fd, off_t(total)) != 0) return fail("ftruncate", errno);
  // Reserve every page now: tmpfs allocates lazily, so without this a full /dev/shm (a small
  // docker --shm-size, or any other program filling it) is a SIGBUS at some later write of any
  // process, header and attach table included. With it, it is ENOSPC here, and nothing is left.
  int err;
  while ((err = posix_fallocate(f.fd, 0, off_t(total))) == EINTR) {
  }
  if (err != 0) {
    OpenResult r = fail("posix_fallocate", err);
    if (err == ENOSPC) r.message = NoSpaceMessage(name, total);
    return r;
  }
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, 0);
  if (p == MAP_FAILED) return fail("mmap", errno);
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
  h->created_at_ms = WallMs();
  h->lock_abi = kLockAbiFutexTid;  // the lock word itself starts free (0), as ftruncate left it
  h->state.store(kStateReady, std::memory_order_release);
  seg->header = h;
  seg->data = static_cast<uint8_t*>(p) + sizeof(Header);
  seg->map_size = total;
  seg->capacity = capacity;
  seg->maxsize = h->maxsize;
  seg->flags = h->flags;
  seg->codec = options.codec;
  seg->read_only = false;
  struct stat st;
  if (fstat(f.fd, &st) == 0) {
    seg->dev = st.st_dev;
    seg->ino = st.st_ino;
    seg->file_mode = st.st_mode & 07777;
    seg->file_uid = st.st_uid;
  }
  seg->fd = f.release();
  OpenResult r;
  r.created = true;
  return r;
}

/** Refuses a segment owned by a user the caller does not trust (squatting: another local user may
 *  pre-create the name to read, inject, or truncate the file under us for a SIGBUS). */
OpenResult Untrusted(const std::string& name, uid_t owner) {
  OpenResult r;
  r.status = kUntrustedOwner;
  r.owner_uid = owner;
  r.owner_name = UserName(owner);
  std::string who = r.owner_name.empty() ? "uid " + std::to_string(owner)
                                         : "user '" + r.owner_name + "' (uid " + std::to_string(owner) + ")";
  std::string trust = r.owner_name.empty() ? std::to_string(owner) : "'" + r.owner_name + "'";
  r.message = "queue '" + name + "' (" + ShmPath(name) + ") belongs to " + who + ", not to you (uid " +
              std::to_string(geteuid()) +
              "): another user may have created it to read or inject messages. If you share this queue with that "
              "user on purpose, open it with { owner: " +
              trust + " }; otherwise have it removed and use it only once you created it";
  return r;
}

/** Waits (bounded) for READY, then maps and validates an existing segment. */
OpenResult MapAndValidate(int fd, const std::string& name, bool writable, int64_t trusted_owner, Segment* seg) {
  // A creator publishes READY only after the header is complete; wait a bounded time for it.
  int64_t give_up = NowMs() + kReadyWaitMs;
  struct stat st;
  for (;;) {
    if (fstat(fd, &st) != 0) return SysFail("fstat");
    if (!S_ISREG(st.st_mode)) return NotRegular(name, st.st_mode);
    // Before reading a byte of it. Read-only inspection (`shm-queue ls`) looks at anyone's queue.
    if (writable && st.st_uid != geteuid() && int64_t(st.st_uid) != trusted_owner) return Untrusted(name, st.st_uid);
    // A creator sets the whole size with one ftruncate, so 0 < size < header is never a queue
    // being created: refuse it now instead of waiting kReadyWaitMs for a READY that cannot come.
    if (st.st_size > 0 && uint64_t(st.st_size) < sizeof(Header)) {
      return Refuse(SegmentReason::kTruncated, "queue '" + name + "' is smaller (" + std::to_string(st.st_size) +
                                                   " bytes) than a queue header (" + std::to_string(sizeof(Header)) +
                                                   ")");
    }
    if (uint64_t(st.st_size) >= sizeof(Header)) {
      // pread, not a mapping: a file its owner shrinks meanwhile gives a short read, not SIGBUS.
      uint8_t bytes[sizeof(Header)];
      ssize_t got = pread(fd, bytes, sizeof bytes, 0);
      if (got < 0) return SysFail("pread");
      HeaderFields early = FieldsFromBytes(bytes);
      bool complete = size_t(got) == sizeof bytes;
      if (complete && (early.state == kStateReady || (early.magic != kMagic && early.magic != 0))) break;
    }
    if (NowMs() >= give_up) {
      return Refuse(SegmentReason::kUnfinished,
                    "queue '" + name +
                        "' was never finished by its creator (it may have died while creating it); remove "
                        "it with Queue.unlink() and create it again");
    }
    usleep(1000);
  }
  // Inspection (read-only, any owner) works on a private copy of the header read with pread: it
  // never maps the file, so an owner that truncates it cannot make the inspecting process die of
  // SIGBUS, and the ring (which Stats() does not read) is never touched.
  void* p = writable ? mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                     : mmap(nullptr, sizeof(Header), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return SysFail("mmap");
  size_t mapped = writable ? size_t(st.st_size) : sizeof(Header);
  if (!writable) {
    ssize_t got = pread(fd, p, sizeof(Header), 0);
    if (got < 0 || size_t(got) < sizeof(Header)) {
      int err = errno;
      munmap(p, mapped);
      if (got < 0) return SysFail("pread", err);
      return Refuse(SegmentReason::kTruncated,
                    "queue '" + name + "' was truncated to " + std::to_string(got) + " bytes while it was being read");
    }
  }
  Header* h = static_cast<Header*>(p);
  HeaderFields f = CopyFields(h);
  std::string problem;
  SegmentReason reason = CheckFields(f, uint64_t(st.st_size), &problem);
  if (reason != SegmentReason::kNone) {
    munmap(p, mapped);
    return Refuse(reason, "queue '" + name + "' " + problem);
  }
  seg->header = h;
  seg->header_copy = !writable;
  seg->data = writable ? static_cast<uint8_t*>(p) + sizeof(Header) : nullptr;
  seg->map_size = st.st_size;
  seg->capacity = f.capacity;
  seg->maxsize = f.maxsize;
  seg->flags = f.flags;
  seg->codec = f.codec;
  seg->read_only = !writable;
  seg->file_mode = st.st_mode & 07777;
  seg->file_uid = st.st_uid;
  seg->dev = st.st_dev;
  seg->ino = st.st_ino;
  return OpenResult{};
}

}  // namespace

const char* ReasonName(SegmentReason reason) {
  switch (reason) {
    case SegmentReason::kNone:
      return "";
    case SegmentReason::kNotAQueue:
      return "not-a-queue";
    case SegmentReason::kVersion:
      return "version";
    case SegmentReason::kHeaderSize:
      return "header-size";
    case SegmentReason::kLockAbi:
      return "lock-abi";
    case SegmentReason::kUnfinished:
      return "unfinished";
    case SegmentReason::kNotRegular:
      return "not-regular";
    case SegmentReason::kCapacity:
      return "capacity";
    case SegmentReason::kSize:
      return "size";
    case SegmentReason::kFlags:
      return "flags";
    case SegmentReason::kCodec:
      return "codec";
    case SegmentReason::kTruncated:
      return "truncated";
  }
  return "";
}

OpenResult OpenSegment(const std::string& name, OpenMode mode, const CreateOptions& options, Segment* seg) {
  if (mode != OpenMode::kOpen && mode != OpenMode::kInspect) {
    OpenResult r = Create(name, options, seg);
    if (r.status != kSystemError || r.sys.err != EEXIST || mode == OpenMode::kCreate) return r;
    // kCreateOrOpen and someone else created it first: open theirs.
  }
  bool writable = mode != OpenMode::kInspect;
  Fd f;
  // O_NONBLOCK: a FIFO named like a queue must not block the open (O_RDONLY would wait for a
  // writer); it is refused below as not a regular file. It means nothing for a regular file.
  f.fd = shm_open(ShmName(name).c_str(), (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC, 0);
  if (f.fd < 0) return SysFail("shm_open");
  OpenResult r = MapAndValidate(f.fd, name, writable, options.trusted_owner, seg);
  if (r.status == kOk) seg->fd = f.release();
  return r;
}

void CloseSegment(Segment* seg) {
  if (seg->header) munmap(seg->header, seg->header_copy ? sizeof(Header) : seg->map_size);
  seg->header_copy = false;
  seg->header = nullptr;
  seg->data = nullptr;
  if (seg->fd >= 0) close(seg->fd);
  seg->fd = -1;
}

int UnlinkSegment(const std::string& name) {
  return shm_unlink(ShmName(name).c_str()) == 0 ? 0 : errno;
}

const char* ProbeKindName(ProbeResult::Kind kind) {
  using K = ProbeResult::Kind;
  switch (kind) {
    case K::kMissing:
      return "missing";
    case K::kQueue:
      return "queue";
    case K::kPermissionDenied:
      return "permission-denied";
    case K::kNotRegular:
      return "not-regular";
    case K::kNotAQueue:
      return "not-a-queue";
    case K::kIncompatible:
      return "incompatible";
    case K::kUnfinished:
      return "unfinished";
    case K::kCorrupt:
      return "corrupt";
    case K::kError:
      return "error";
  }
  return "error";
}

ProbeResult ProbeSegment(const std::string& name) {
  using K = ProbeResult::Kind;
  ProbeResult r;
  std::string path = ShmPath(name);
  auto sys_error = [&](const char* syscall, int err) {
    r.sys.err = err;
    r.sys.syscall = syscall;
    if (err == EACCES || err == EPERM) {
      r.kind = K::kPermissionDenied;
      r.message = std::string(err == EACCES ? "EACCES" : "EPERM") + ": permission denied reading queue '" + name +
                  "' (" + path + "); run as its owner (or root)";
    } else {
      r.kind = K::kError;
      r.message = "queue '" + name + "': " + syscall + " " + path + " failed: " + strerror(err);
    }
    return r;
  };
  auto not_regular = [&](const struct stat& s) {
    r.kind = K::kNotRegular;
    r.has_stat = true;
    r.uid = s.st_uid;
    r.mode = s.st_mode & 07777;
    r.file_type = FileTypeName(s.st_mode);
    r.message = path + " is a " + r.file_type +
                ", not a regular file, so not a shm-queue segment; if nothing uses it, remove it with 'shm-queue rm "
                "--force " +
                name + "'";
    return r;
  };
  Fd f;
  f.fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (f.fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      r.kind = K::kMissing;
      r.message = "queue '" + name + "' does not exist (no " + path + ")";
      return r;
    }
    // A symlink (O_NOFOLLOW: ELOOP), a socket (ENXIO), a device we may not open: say what it is.
    if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return not_regular(st);
    return sys_error("open", err);
  }
  if (fstat(f.fd, &st) != 0) return sys_error("fstat", errno);
  if (!S_ISREG(st.st_mode)) return not_regular(st);
  r.has_stat = true;
  r.uid = st.st_uid;
  r.mode = st.st_mode & 07777;
  {
    uint8_t bytes[sizeof(Header)] = {};
    uint64_t size = uint64_t(st.st_size);
    ssize_t got = size > 0 ? pread(f.fd, bytes, sizeof bytes, 0) : 0;
    if (got < 0) return sys_error("pread", errno);
    HeaderFields fields = FieldsFromBytes(bytes);
    // A creator writes the magic number before anything else, so a non-zero foreign one is final.
    if (got >= 8 && fields.magic != kMagic && fields.magic != 0) {
      r.kind = K::kNotAQueue;
      r.message = path +
                  " is not a shm-queue segment (bad magic number): something else wrote it; if nothing uses it, "
                  "remove it with 'shm-queue rm --force " +
                  name + "'";
      return r;
    }
    // A finished header (magic + READY) on a file too small for it was truncated: corrupt. Anything
    // else that small is a creation that never got as far as its single ftruncate: unfinished.
    bool finished = fields.magic == kMagic && fields.state == kStateReady;
    if (size > 0 && size < sizeof(Header) && finished) {
      r.kind = K::kCorrupt;
      r.detail =
          "smaller (" + std::to_string(size) + " bytes) than a queue header (" + std::to_string(sizeof(Header)) + ")";
    } else if (size < sizeof(Header) || !finished) {
      timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      r.kind = K::kUnfinished;
      r.age_ms = (int64_t(now.tv_sec) - int64_t(st.st_mtim.tv_sec)) * 1000 +
                 (int64_t(now.tv_nsec) - int64_t(st.st_mtim.tv_nsec)) / 1000000;
      r.message = "queue '" + name +
                  "' was never finished by its creator (it may have died while creating it); remove it with "
                  "'shm-queue rm --force " +
                  name + "' and create it again";
      return r;
    } else {
      std::string problem;
      SegmentReason reason = CheckFields(fields, size, &problem);
      if (reason == SegmentReason::kNone) {
        r.kind = K::kQueue;
        r.layout_version = fields.version;
        r.joinable = (fields.flags & kQueueFlagJoinable) != 0;
        r.codec = fields.codec;
        r.in_use = AttachTable::OthersAttached(f.fd);
        r.message = "queue '" + name + "' is a shm-queue queue (layout version " + std::to_string(fields.version) + ")";
        return r;
      }
      if (reason == SegmentReason::kVersion || reason == SegmentReason::kHeaderSize ||
          reason == SegmentReason::kLockAbi) {
        r.kind = K::kIncompatible;
        r.layout_version = fields.version;
        r.message = reason == SegmentReason::kVersion
                        ? "queue '" + name + "' uses layout version " + std::to_string(fields.version) +
                              ", this shm-queue reads version " + std::to_string(kLayoutVersion) +
                              "; inspect it with the shm-queue release that created it"
                        : "queue '" + name + "' " + problem + "; inspect it with the shm-queue release that created it";
        return r;
      }
      r.kind = K::kCorrupt;
      r.detail = problem;
    }
    r.message = "queue '" + name + "' " + r.detail;
    return r;
  }
}

}  // namespace shmq
