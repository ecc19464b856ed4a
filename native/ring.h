// shm-queue native core: a bounded FIFO of variable-length records in a POSIX shared-memory
// segment. Node-free C++17 so that it can be unit-tested, fuzzed and run under sanitizers alone.
//
// Threading rules: a Ring is owned by one handle. Its methods may be called from the JS thread and
// from that handle's waiter thread at the same time (every shared field is an atomic or guarded by
// the segment mutex; the Ring's own fields are immutable after Open()). Close() must only run once
// no other thread is inside a method.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shmq {

/** "SHMQUEUE" read as a little-endian u64: the first eight bytes of every segment. */
constexpr uint64_t kMagic = 0x45554555514d4853ULL;
/** Bumped whenever the segment layout changes; an opener refuses any other value. */
constexpr uint32_t kLayoutVersion = 1;
constexpr size_t kCodecNameSize = 32;  // NUL-terminated, so 31 usable characters
constexpr size_t kMaxAttached = 64;
/** Every record starts with [u32 length][u32 flags]; records are padded to 8 bytes. */
constexpr uint32_t kRecordHeaderSize = 8;
constexpr uint32_t kRecordFlagWrap = 1;  // "skip to the start of the ring" marker
constexpr uint32_t kQueueFlagJoinable = 1;
constexpr uint32_t kKnownQueueFlags = kQueueFlagJoinable;
constexpr uint64_t kMinCapacity = 64;
constexpr uint64_t kMaxCapacity = 1ULL << 40;
constexpr uint32_t kStateReady = 0x52454459;  // "REDY": published last, with release order

/** One slot of the attached-process table: a pid plus its start time, so a recycled pid is not
 *  mistaken for the process that attached. Guarded by the segment mutex. */
struct AttachSlot {
  int32_t pid;
  uint32_t handles;
  uint64_t start_time;  // field 22 of /proc/PID/stat (clock ticks since boot)
};

/** The segment header. Everything in it is untrusted input: any process with write access can
 *  scribble on it, so readers copy values out once and check them before use. */
struct alignas(64) Header {
  // Written once by the creator before `state` becomes kStateReady; never changed afterwards.
  uint64_t magic;
  uint32_t version;
  uint32_t header_size;
  uint64_t total_size;
  uint64_t capacity;  // bytes of the data ring, a multiple of 8
  uint32_t maxsize;   // messages; 0 = bounded by bytes only
  uint32_t flags;     // kQueueFlag*
  char codec[kCodecNameSize];
  uint32_t creator_uid;
  int32_t creator_pid;
  uint64_t created_at_ms;  // wall clock, for `shm-queue ls`
  std::atomic<uint32_t> state;

  alignas(64) pthread_mutex_t mutex;  // robust, process-shared

  // Guarded by `mutex` for writes; atomics so that lock-free readers (qsize, stats) see whole values.
  alignas(64) std::atomic<uint64_t> head;  // total bytes ever consumed (position = head % capacity)
  std::atomic<uint64_t> tail;              // total bytes ever produced; tail - head = bytes in use
  std::atomic<uint32_t> count;             // messages in the ring
  std::atomic<uint32_t> shutdown;          // 0, kShutdownGraceful or kShutdownImmediate
  std::atomic<uint64_t> unfinished;        // JoinableQueue: puts not yet matched by taskDone()
  std::atomic<uint64_t> puts;
  std::atomic<uint64_t> gets;
  std::atomic<uint64_t> recoveries;  // times a lock held by a dead process was recovered

  // Futex condition variables: a sequence word bumped on every signal plus a count of waiters, so
  // that a put or get with nobody waiting makes no syscall. A waiter killed while waiting leaves a
  // stale count behind: that costs spurious wake-ups, never a missed one.
  alignas(64) std::atomic<uint32_t> not_empty_seq;
  std::atomic<uint32_t> not_empty_waiters;
  alignas(64) std::atomic<uint32_t> not_full_seq;
  std::atomic<uint32_t> not_full_waiters;
  alignas(64) std::atomic<uint32_t> all_done_seq;
  std::atomic<uint32_t> all_done_waiters;

  // Guarded by `mutex`. Wall-clock ms of the last attach / detach, for `shm-queue gc` (a process
  // killed without detaching is only noticed later, when its slot is pruned).
  alignas(64) uint64_t last_attach_ms;
  uint64_t last_detach_ms;
  AttachSlot attached[kMaxAttached];
};

constexpr uint32_t kShutdownGraceful = 1;
constexpr uint32_t kShutdownImmediate = 2;

/** Results of ring operations. Non-negative values are successes (a length, a count). */
enum Status : int {
  kOk = 0,
  kFull = -1,
  kEmpty = -2,
  kTooLarge = -3,
  kShutdown = -4,
  kCorrupt = -5,
  kNeedSpace = -6,  // the next message is larger than the caller's buffer; see Ring::needed()
  kTimedOut = -7,
  kCancelled = -8,
  kTaskDoneTooMany = -9,
  kIncompatible = -10,
  kSystemError = -11,  // see OpenResult::sys_errno
};

/** What a waiter waits for. */
enum class Event { kNotEmpty, kNotFull, kAllDone };

/** kInspect maps the segment read-only and does not attach: for `shm-queue ls/stat`, which must
 *  neither change a queue nor need write access to it. Only Stats() may be called on it. */
enum class OpenMode { kCreate, kOpen, kCreateOrOpen, kInspect };

struct CreateOptions {
  uint64_t capacity = 1 << 20;
  uint32_t maxsize = 0;
  uint32_t flags = 0;
  std::string codec = "msgpack";
  mode_t mode = 0600;
};

struct OpenResult {
  int status = kOk;   // kOk, kSystemError, kIncompatible or kCorrupt
  int sys_errno = 0;  // with kSystemError
  const char* syscall = "";
  std::string message;  // with kIncompatible / kCorrupt
  bool created = false;
};

/** A consistent-enough snapshot for stats() and the CLI (lock-free reads of atomics). */
struct Snapshot {
  uint64_t head, tail, capacity, unfinished, puts, gets, recoveries, created_at_ms, total_size, last_attach_ms,
      last_detach_ms;
  uint32_t count, maxsize, flags, shutdown, version, creator_uid, not_empty_waiters, not_full_waiters;
  int32_t creator_pid;
  std::string codec;
  std::vector<AttachSlot> attached;  // live processes only
  uint32_t file_mode, file_uid;      // of the /dev/shm file
};

/** Milliseconds: < 0 waits forever, 0 does not wait. */
using TimeoutMs = int64_t;

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /** Maps the segment `/shm-queue.<name>`; the name must already be validated by the caller. */
  OpenResult Open(const std::string& name, OpenMode mode, const CreateOptions& options);
  /** Detaches from the process table and unmaps. Safe to call twice. */
  void Close();
  bool is_open() const { return header_ != nullptr; }

  static int Unlink(const std::string& name);  // 0 or errno
  static std::string ShmPath(const std::string& name) { return "/shm-queue." + name; }

  /** Copies `len` bytes in as one message. kOk, kFull, kTooLarge, kShutdown or kCorrupt. */
  int Push(const uint8_t* data, uint32_t len, TimeoutMs timeout);
  /** Pushes lens[0..n) (payloads back to back in `data`), as many per lock as fit. Sets *pushed.
   *  Returns kOk once all are in, else the status that stopped it (kFull at the deadline). */
  int PushMany(const uint8_t* data, const uint32_t* lens, uint32_t n, TimeoutMs timeout, uint32_t* pushed);
  /** Copies the next message into out[0..out_cap). Returns its length, or kEmpty, kShutdown,
   *  kNeedSpace (nothing consumed; needed() says how much), kCorrupt. */
  int64_t Shift(uint8_t* out, uint64_t out_cap, TimeoutMs timeout);
  /** Copies up to `max` messages back to back (each padded to 8 bytes) into `out`, their lengths
   *  into `lens`. Waits for at least one. Returns the count, or a status as Shift. */
  int64_t ShiftMany(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens, TimeoutMs timeout);
  /** Copies up to `max` messages without removing them (for `shm-queue peek`). */
  int64_t Peek(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens);

  /** Blocks until the event's predicate holds (kOk), the timeout passes (kTimedOut), `*cancel`
   *  becomes true (kCancelled), or the segment is found corrupt. `needed` is the record size a
   *  kNotFull waiter needs room for. */
  int Wait(Event event, uint32_t needed, TimeoutMs timeout, const std::atomic<bool>* cancel);
  /** Wakes every thread of every process waiting on `event` (they re-check and may sleep again). */
  void WakeAll(Event event);

  int Shutdown(bool immediate);
  int TaskDone();
  int Join(TimeoutMs timeout);

  /** Takes the lock, re-validates the indices and recomputes `count` (what a recovery does). */
  int Verify();

  /** TEST ONLY (the binding enables it with SHM_QUEUE_TEST_HOOKS=1): takes the lock and returns
   *  still holding it, after writing a record header for `len` bytes plus the first `written`
   *  payload bytes at the tail, unpublished, as a put killed mid-copy leaves it (`len` 0: no
   *  record). Kill the process to release the lock. */
  int TestLockAndTear(const uint8_t* data, uint32_t len, uint32_t written);

  uint32_t Count() const;
  uint32_t ShutdownState() const { return header_->shutdown.load(std::memory_order_acquire); }
  uint64_t Unfinished() const { return header_->unfinished.load(std::memory_order_acquire); }
  Snapshot Stats();

  uint64_t capacity() const { return capacity_; }
  uint32_t maxsize() const { return maxsize_; }
  uint32_t flags() const { return flags_; }
  const std::string& codec() const { return codec_; }
  /** Largest payload a single message may have. */
  uint64_t max_payload() const;
  /** With kNeedSpace: the length of the message that did not fit. */
  uint64_t needed() const { return needed_; }
  /** A copy: the waiter thread may set it (Corrupt()) while the JS thread reads it. */
  std::string last_error() const {
    std::lock_guard<std::mutex> guard(error_mutex_);
    return last_error_;
  }

 private:
  int Lock(TimeoutMs timeout);
  bool HolderGone(uint32_t lock_word) const;
  void Unlock();
  int Repair();
  uint32_t CountLocked();
  int RecoverLocked();
  int TryPushLocked(const uint8_t* data, uint32_t len);
  int64_t TryShiftLocked(uint8_t* out, uint64_t out_cap, bool consume, uint64_t* cursor);
  bool PredicateLocked(Event event, uint32_t needed);
  bool LockFreeHint(Event event, uint32_t needed);
  int CheckIndices(uint64_t head, uint64_t tail);
  void Signal(Event event);
  int Corrupt(const std::string& what);
  void AttachLocked();
  void DetachLocked();
  OpenResult MapAndValidate(int fd, const std::string& name, bool writable);

  Header* header_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t map_size_ = 0;
  // Copies of the immutable header fields, validated once at open. The shared copies may be
  // scribbled on later; these never change.
  uint64_t capacity_ = 0;
  uint32_t maxsize_ = 0;
  uint32_t flags_ = 0;
  std::string codec_;
  uint64_t needed_ = 0;
  mutable std::mutex error_mutex_;
  std::string last_error_;
  bool attached_ = false;
  bool read_only_ = false;
  uint32_t file_mode_ = 0, file_uid_ = 0;
  // The segment file, kept open to re-check its size on recovery; its identity, to recognise it
  // in another process's /proc/PID/maps.
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  // How long Wait() polls before it sleeps, learned from whether polling paid off (see Wait()).
  // Used by the JS thread and the waiter thread alike: relaxed atomics, a lost update only
  // changes the next guess.
  std::atomic<int64_t> spin_ns_{30000};
  std::atomic<uint32_t> spin_probe_{0};
};

/** Start time of a process from /proc, 0 when it does not exist. */
uint64_t ProcessStartTime(int32_t pid);
/** Is `name` a valid queue name: ^[A-Za-z0-9_.-]{1,200}$ and not "." or ".."? */
bool ValidName(const std::string& name);
bool ValidCodecName(const char* codec, size_t size);

}  // namespace shmq
