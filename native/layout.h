// The segment ABI: the bytes every process that maps `/dev/shm/shm-queue.<name>` agrees on.
// Changing any offset, size or meaning here is a layout change: bump kLayoutVersion (openers refuse
// any other version), and update the static_asserts at the end, which pin every field.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmq {

/** "SHMQUEUE" read as a little-endian u64: the first eight bytes of every segment. */
constexpr uint64_t kMagic = 0x45554555514d4853ULL;
/** Bumped whenever the segment layout changes; an opener refuses any other value. */
constexpr uint32_t kLayoutVersion = 1;
constexpr size_t kCodecNameSize = 32;  // NUL-terminated, so 31 usable characters
constexpr size_t kMaxCodecNameLength = kCodecNameSize - 1;
constexpr size_t kMaxAttached = 64;
/** Every record starts with [u32 length][u32 flags]; records are padded to 8 bytes. */
constexpr uint32_t kRecordHeaderSize = 8;
constexpr uint32_t kRecordFlagWrap = 1;  // "skip to the start of the ring" marker
constexpr uint32_t kQueueFlagJoinable = 1;
constexpr uint32_t kKnownQueueFlags = kQueueFlagJoinable;
constexpr uint64_t kMinCapacity = 64;
constexpr uint64_t kMaxCapacity = 1ULL << 40;
/** Largest maxsize (messages): the header stores it as a u32. */
constexpr uint64_t kMaxMaxsize = UINT32_MAX;
constexpr uint32_t kStateReady = 0x52454459;  // "REDY": published last, with release order
constexpr uint32_t kShutdownGraceful = 1;
constexpr uint32_t kShutdownImmediate = 2;

/** Rounds up to the record alignment (8). Never wraps for the sizes we handle (< 2^63). */
constexpr uint64_t Align8(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

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

  alignas(64) pthread_mutex_t mutex;  // robust, process-shared (see lock.h)

  // Guarded by `mutex` for writes; atomics so that lock-free readers (qsize, stats) see whole values.
  alignas(64) std::atomic<uint64_t> head;  // total bytes ever consumed (position = head % capacity)
  std::atomic<uint64_t> tail;              // total bytes ever produced; tail - head = bytes in use
  std::atomic<uint32_t> count;             // messages in the ring
  std::atomic<uint32_t> shutdown;          // 0, kShutdownGraceful or kShutdownImmediate
  std::atomic<uint64_t> unfinished;        // JoinableQueue: puts not yet matched by taskDone()
  std::atomic<uint64_t> puts;
  std::atomic<uint64_t> gets;
  std::atomic<uint64_t> recoveries;  // times a lock held by a dead process was recovered

  // Futex condition variables (waiters.h): a sequence word bumped on every signal plus a count of
  // waiters, so that a put or get with nobody waiting makes no syscall.
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

// The ABI, pinned: the offsets of layout version 1 on 64-bit Linux. The mutex is 40 bytes on x86-64
// (glibc and musl) and 48 on arm64 glibc; either way it ends before `head`'s cache line.
static_assert(std::is_standard_layout<Header>::value, "offsetof needs a standard-layout header");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be lock-free");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "indices must be lock-free");
static_assert(sizeof(std::atomic<uint32_t>) == 4 && sizeof(std::atomic<uint64_t>) == 8, "atomics are plain words");
static_assert(sizeof(AttachSlot) == 16 && offsetof(AttachSlot, pid) == 0 && offsetof(AttachSlot, handles) == 4 &&
                  offsetof(AttachSlot, start_time) == 8,
              "attach slot layout");
static_assert(sizeof(pthread_mutex_t) <= 64, "the mutex fits in its own cache line");
static_assert(offsetof(Header, magic) == 0, "layout");
static_assert(offsetof(Header, version) == 8, "layout");
static_assert(offsetof(Header, header_size) == 12, "layout");
static_assert(offsetof(Header, total_size) == 16, "layout");
static_assert(offsetof(Header, capacity) == 24, "layout");
static_assert(offsetof(Header, maxsize) == 32, "layout");
static_assert(offsetof(Header, flags) == 36, "layout");
static_assert(offsetof(Header, codec) == 40, "layout");
static_assert(offsetof(Header, creator_uid) == 72, "layout");
static_assert(offsetof(Header, creator_pid) == 76, "layout");
static_assert(offsetof(Header, created_at_ms) == 80, "layout");
static_assert(offsetof(Header, state) == 88, "layout");
static_assert(offsetof(Header, mutex) == 128, "layout");
static_assert(offsetof(Header, head) == 192, "layout");
static_assert(offsetof(Header, tail) == 200, "layout");
static_assert(offsetof(Header, count) == 208, "layout");
static_assert(offsetof(Header, shutdown) == 212, "layout");
static_assert(offsetof(Header, unfinished) == 216, "layout");
static_assert(offsetof(Header, puts) == 224, "layout");
static_assert(offsetof(Header, gets) == 232, "layout");
static_assert(offsetof(Header, recoveries) == 240, "layout");
static_assert(offsetof(Header, not_empty_seq) == 256, "layout");
static_assert(offsetof(Header, not_empty_waiters) == 260, "layout");
static_assert(offsetof(Header, not_full_seq) == 320, "layout");
static_assert(offsetof(Header, not_full_waiters) == 324, "layout");
static_assert(offsetof(Header, all_done_seq) == 384, "layout");
static_assert(offsetof(Header, all_done_waiters) == 388, "layout");
static_assert(offsetof(Header, last_attach_ms) == 448, "layout");
static_assert(offsetof(Header, last_detach_ms) == 456, "layout");
static_assert(offsetof(Header, attached) == 464, "layout");
static_assert(sizeof(Header) == 1536, "layout");
static_assert(sizeof(Header) % 64 == 0, "the data ring must start on a cache line");

}  // namespace shmq
