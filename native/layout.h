// The segment ABI: the bytes every process that maps `/dev/shm/shm-queue.<name>` agrees on.
// Changing any offset, size or meaning here is a layout change: bump kLayoutVersion (openers refuse
// any other version), and update the static_asserts at the end, which pin every field.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace shmq {

/** "SHMQUEUE" read as a little-endian u64: the first eight bytes of every segment. */
constexpr uint64_t kMagic = 0x45554555514d4853ULL;
/** Bumped whenever the segment layout changes; an opener refuses any other value. Version 1 (0.1.x)
 *  had a glibc pthread mutex in the header and copied under it; version 2 has the lock word of
 *  lock_word.h and the record states below. The first cache line (magic ... state) is the same in
 *  every version, so any version can tell which one a segment is. */
constexpr uint32_t kLayoutVersion = 2;
/** The lock protocol of `Header::lock` (lock_word.h): refused when different, so that a process
 *  whose lock means something else never shares a segment with us. */
constexpr uint32_t kLockAbiFutexTid = 0x3144574c;  // "LWD1"
constexpr size_t kCodecNameSize = 32;              // NUL-terminated, so 31 usable characters
constexpr size_t kMaxCodecNameLength = kCodecNameSize - 1;
constexpr size_t kMaxAttached = 64;
/** Every record starts with [u32 length][u32 state]; records are padded to 8 bytes, and the ring's
 *  capacity is a multiple of 8, so a record header never straddles the end of the ring (a payload
 *  may: it is copied in two parts). */
constexpr uint32_t kRecordHeaderSize = 8;
constexpr uint32_t kQueueFlagJoinable = 1;
constexpr uint32_t kKnownQueueFlags = kQueueFlagJoinable;
constexpr uint64_t kMinCapacity = 64;
constexpr uint64_t kMaxCapacity = 1ULL << 40;
/** Largest maxsize (messages): the header stores it as a u32. */
constexpr uint64_t kMaxMaxsize = UINT32_MAX;
constexpr uint32_t kStateReady = 0x52454459;  // "REDY": published last, with release order
constexpr uint32_t kShutdownGraceful = 1;
constexpr uint32_t kShutdownImmediate = 2;

// The record state word (the second u32 of a record header):
//   bits 30-31  the state: DONE (0), BUSY (1), READY (2), CLAIMED (3)
//   bit 29      BUSY/CLAIMED: bits 22-28 hold the low 7 bits of the owner process's start time (clock
//               ticks since boot): a recycled pid is told apart unless it also started on the same tick
//               modulo 128 and maps the segment. Clear when the owner could not read its own start.
//   bits 0-21   BUSY/CLAIMED: the owner's pid (Linux pids are < 2^22, PID_MAX_LIMIT)
// A put reserves a BUSY record under the lock, copies its payload with no lock held and publishes it
// READY (a release store). A get claims the READY record at `read` under the lock (CLAIMED), copies it
// out with no lock held and marks it DONE (a release store). `head` advances over the DONE prefix.
constexpr uint32_t kRecStateShift = 30;
constexpr uint32_t kRecStateMask = 3u << kRecStateShift;
constexpr uint32_t kRecDone = 0u << kRecStateShift;
constexpr uint32_t kRecBusy = 1u << kRecStateShift;
constexpr uint32_t kRecReady = 2u << kRecStateShift;
constexpr uint32_t kRecClaimed = 3u << kRecStateShift;
constexpr uint32_t kRecOwnerMask = ~kRecStateMask;
constexpr uint32_t kRecPidMask = (1u << 22) - 1;
constexpr uint32_t kRecTagShift = 22;
constexpr uint32_t kRecTagMask = 0x7fu << kRecTagShift;
constexpr uint32_t kRecTagValid = 1u << 29;

/** Rounds up to the record alignment (8). Never wraps for the sizes we handle (< 2^63). */
constexpr uint64_t Align8(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

/** One slot of the attached-process table: a pid plus its start time, so a recycled pid is not
 *  mistaken for the process that attached. Guarded by the segment lock. */
struct AttachSlot {
  int32_t pid;
  uint32_t handles;
  uint64_t start_time;  // field 22 of /proc/PID/stat (clock ticks since boot)
};

/** The segment header. Everything in it is untrusted input: any process with write access can
 *  scribble on it, so readers copy values out once and check them before use.
 *
 *  Cache lines, for two cores that should not share one on the uncontended path: the immutable
 *  line (and `shutdown`, written once); the lock line (the lock word and the indices only lock holders write: a lock
 * hand-over moves this one line); the consumers' line (head, advanced without the lock, and gets); the producers' line
 * (puts); one line per futex condition variable; the attach table. */
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
  uint32_t lock_abi;  // kLockAbiFutexTid
  // Read by every put and get, written once (by shutdown()): on this line, which nothing else
  // writes, rather than on the lock line, where the read of a put that has just published (or of a
  // get) would take the line from the other side's critical section. 0, kShutdownGraceful or
  // kShutdownImmediate.
  std::atomic<uint32_t> shutdown;

  // The lock line. Written only with `lock` held (except `lock` itself): atomics so that lock-free
  // readers (qsize, stats, the waiters' spin) see whole values.
  alignas(64) std::atomic<uint32_t> lock;  // lock_word.h: holder tid | OWNER_DIED | WAITERS
  std::atomic<uint32_t> count;             // records BUSY or READY at or after `read`: qsize(), maxsize
  std::atomic<uint64_t> tail;              // total bytes ever reserved; tail - head = bytes in use
  std::atomic<uint64_t> read;              // the next record a get claims (head <= read <= tail)
  uint32_t reserved0;
  uint32_t reserved1;
  std::atomic<uint64_t> unfinished;  // JoinableQueue: puts not yet matched by taskDone()
  std::atomic<uint64_t> recoveries;  // dead lock holders recovered + dead owners' records fixed

  // The consumers' line: written by gets after their copy, without the lock.
  alignas(64) std::atomic<uint64_t> head;  // total bytes ever released (position = head % capacity)
  std::atomic<uint64_t> gets;

  // The producers' line: written by puts after their copy, without the lock.
  alignas(64) std::atomic<uint64_t> puts;

  // Futex condition variables (waiters.h): a sequence word plus a count of waiters. Bit 0 of the
  // sequence says a waiter sleeps (or is about to) on its value; a signal that finds it bumps the
  // sequence by 2, clears it and wakes; one that finds it clear (or no waiter) makes no syscall.
  alignas(64) std::atomic<uint32_t> not_empty_seq;
  std::atomic<uint32_t> not_empty_waiters;
  alignas(64) std::atomic<uint32_t> not_full_seq;
  std::atomic<uint32_t> not_full_waiters;
  alignas(64) std::atomic<uint32_t> all_done_seq;
  std::atomic<uint32_t> all_done_waiters;

  // Guarded by `lock`. Wall-clock ms of the last attach / detach, for `shm-queue gc` (a process
  // killed without detaching is only noticed later, when its slot is pruned).
  alignas(64) uint64_t last_attach_ms;
  uint64_t last_detach_ms;
  AttachSlot attached[kMaxAttached];
};

// The ABI, pinned: the offsets of layout version 2 on 64-bit Linux (the same on every libc: the
// header holds no libc type).
static_assert(std::is_standard_layout<Header>::value, "offsetof needs a standard-layout header");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be lock-free");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "indices must be lock-free");
static_assert(sizeof(std::atomic<uint32_t>) == 4 && sizeof(std::atomic<uint64_t>) == 8, "atomics are plain words");
static_assert(sizeof(AttachSlot) == 16 && offsetof(AttachSlot, pid) == 0 && offsetof(AttachSlot, handles) == 4 &&
                  offsetof(AttachSlot, start_time) == 8,
              "attach slot layout");
// The first line is the same in every layout version (see kLayoutVersion).
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
static_assert(offsetof(Header, lock_abi) == 92, "layout");
static_assert(offsetof(Header, shutdown) == 96, "layout");
static_assert(offsetof(Header, lock) == 128, "layout");
static_assert(offsetof(Header, count) == 132, "layout");
static_assert(offsetof(Header, tail) == 136, "layout");
static_assert(offsetof(Header, read) == 144, "layout");
static_assert(offsetof(Header, unfinished) == 160, "layout");
static_assert(offsetof(Header, recoveries) == 168, "layout");
static_assert(offsetof(Header, head) == 192, "layout");
static_assert(offsetof(Header, gets) == 200, "layout");
static_assert(offsetof(Header, puts) == 256, "layout");
static_assert(offsetof(Header, not_empty_seq) == 320, "layout");
static_assert(offsetof(Header, not_empty_waiters) == 324, "layout");
static_assert(offsetof(Header, not_full_seq) == 384, "layout");
static_assert(offsetof(Header, not_full_waiters) == 388, "layout");
static_assert(offsetof(Header, all_done_seq) == 448, "layout");
static_assert(offsetof(Header, all_done_waiters) == 452, "layout");
static_assert(offsetof(Header, last_attach_ms) == 512, "layout");
static_assert(offsetof(Header, last_detach_ms) == 520, "layout");
static_assert(offsetof(Header, attached) == 528, "layout");
static_assert(sizeof(Header) == 1600, "layout");
static_assert(sizeof(Header) % 64 == 0, "the data ring must start on a cache line");

}  // namespace shmq
