#include "records.h"

#include <algorithm>
#include <cstring>

#include "clock.h"
#include "procfs.h"

namespace shmq {

namespace {

constexpr int64_t kFirstOwnerCheckMs = 2;    // a record stuck this long gets its owner checked...
constexpr int64_t kOwnerCheckEveryMs = 250;  // ... and again this often while it stays stuck
constexpr int kRequeueScanLimit = 4096;      // records a give-back walk looks at, at most

/** Reads one u32 of the untrusted ring exactly once (a scribbler may change it under us). */
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  __atomic_load(reinterpret_cast<const uint32_t*>(p), &v, __ATOMIC_RELAXED);
  return v;
}

inline void StoreU32(uint8_t* p, uint32_t v) {
  __atomic_store(reinterpret_cast<uint32_t*>(p), &v, __ATOMIC_RELAXED);
}

/** A record's state word: acquire, so that a READY seen here makes its payload visible, and a DONE
 *  seen here orders the bytes' reuse after the consumer's reads. */
inline uint32_t LoadState(const uint8_t* p) {
  return __atomic_load_n(reinterpret_cast<const uint32_t*>(p + 4), __ATOMIC_ACQUIRE);
}

inline void StoreState(uint8_t* p, uint32_t v) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(p + 4), v, __ATOMIC_RELEASE);
}

inline uint64_t RecordSize(uint64_t len) {
  return kRecordHeaderSize + Align8(len);
}

inline uint32_t Kind(uint32_t w) {
  return w & kRecStateMask;
}

}  // namespace

int Records::CheckIndices(uint64_t head, uint64_t read, uint64_t tail) {
  if (head > read || read > tail || tail - head > seg_.capacity || head % 8 != 0 || read % 8 != 0 || tail % 8 != 0)
    return log_.Corrupt("its head/read/tail indices are impossible");
  return kOk;
}

// ---------------------------------------------------------------------------------------------
// Puts.

int Records::ReserveLocked(uint32_t len, uint64_t* at, bool first_of_batch) {
  Header* h = seg_.header;
  if (uint32_t shutdown = h->shutdown.load(std::memory_order_relaxed)) {
    if (shutdown == kShutdownImmediate) SweepLocked();
    return kShutdown;
  }
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_relaxed),
           tail = h->tail.load(std::memory_order_relaxed);
  int st = CheckIndices(head, read, tail);
  if (st != kOk) return st;
  if (seg_.maxsize != 0 && CountLocked() >= seg_.maxsize) return kFull;
  uint64_t rec = RecordSize(len);
  // A true byte ring: a record fits whenever it fits in the free bytes, wherever the tail stands.
  // Gets move `head` themselves as they finish; only a put short of room walks the DONE prefix
  // (the walk reads records and cursors that consumers are writing: a put that has room leaves
  // their cache lines alone, and its critical section short).
  if (rec > seg_.capacity - (tail - head)) {
    AdvanceHead();
    head = h->head.load(std::memory_order_acquire);
  }
  // A claimed record at `head` holds bytes back; if its consumer died, its message goes back. A put
  // looks (a read of that record and a clock read; the owner check runs only once it has held the
  // front for milliseconds) when it is short of room, or when the same claim held the front at this
  // process's previous put too: then a get that comes later finds the owner check due, and delivers
  // the message first. While gets keep up, the front moves between two puts and no put looks.
  if (head != read) {
    bool stuck = first_of_batch && head == front_seen_;
    front_seen_ = head;
    if (stuck || rec > seg_.capacity - (tail - head)) {
      RequeueDeadClaimsLocked();
      head = h->head.load(std::memory_order_acquire);
      read = h->read.load(std::memory_order_relaxed);
      st = CheckIndices(head, read, tail);
      if (st != kOk) return st;
    }
  }
  if (rec > seg_.capacity - (tail - head)) return kFull;
  uint8_t* p = seg_.data + seg_.Pos(tail);
  StoreU32(p, len);
  StoreU32(p + 4, kRecBusy | SelfOwnerBits());
  // The reservation: published to other lock holders by the lock, to lock-free readers by `tail`.
  h->tail.store(tail + rec, std::memory_order_release);
  h->count.store(h->count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (seg_.flags & kQueueFlagJoinable) h->unfinished.fetch_add(1, std::memory_order_relaxed);
  *at = tail;
  return kOk;
}

uint32_t Records::ReserveRunLocked(const uint32_t* lens, uint32_t n) {
  Header* h = seg_.header;
  uint64_t head = h->head.load(std::memory_order_acquire), tail = h->tail.load(std::memory_order_relaxed);
  uint32_t count = h->count.load(std::memory_order_relaxed);
  // The reservation just made under this lock checked tail - head <= capacity and the count.
  uint64_t free = seg_.capacity - (tail - head);
  const uint32_t busy = kRecBusy | SelfOwnerBits();
  uint32_t i = 0;
  for (; i < n; i++) {
    uint64_t rec = RecordSize(lens[i]);
    if (rec > free || (seg_.maxsize != 0 && count >= seg_.maxsize)) break;
    uint8_t* p = seg_.data + seg_.Pos(tail);
    StoreU32(p, lens[i]);
    StoreU32(p + 4, busy);
    tail += rec;
    free -= rec;
    count++;
  }
  if (i == 0) return 0;
  h->tail.store(tail, std::memory_order_release);
  h->count.store(count, std::memory_order_relaxed);
  if (seg_.flags & kQueueFlagJoinable) h->unfinished.fetch_add(i, std::memory_order_relaxed);
  return i;
}

void Records::CopyIn(uint64_t at, const uint8_t* data, uint32_t len, uint32_t n) {
  n = std::min(n, len);
  // An empty message may come with data == nullptr (an empty Buffer has no storage), and memcpy
  // with a null pointer is undefined even for 0 bytes (UBSan, npm run test:sanitize).
  if (n == 0) return;
  uint64_t pos = PayloadPos(at);
  uint64_t first = std::min<uint64_t>(n, seg_.capacity - pos);
  memcpy(seg_.data + pos, data, first);
  if (first < n) memcpy(seg_.data, data + first, n - first);
}

void Records::Publish(uint64_t at, uint32_t puts) {
  StoreState(seg_.data + seg_.Pos(at), kRecReady);
  if (puts) seg_.header->puts.fetch_add(puts, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Gets.

int64_t Records::ClaimLocked(uint64_t out_cap, uint64_t* at, bool first_of_batch) {
  Header* h = seg_.header;
  uint32_t shutdown = h->shutdown.load(std::memory_order_relaxed);
  if (shutdown == kShutdownImmediate) {
    SweepLocked();
    return kShutdown;
  }
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_relaxed),
           tail = h->tail.load(std::memory_order_relaxed);
  int st = CheckIndices(head, read, tail);
  if (st != kOk) return st;
  // A claimed record still at `head`: if its consumer died, its message goes first (FIFO).
  if (first_of_batch && head != read && RequeueDeadClaimsLocked()) read = h->read.load(std::memory_order_relaxed);
  for (;;) {
    if (read == tail) return shutdown ? kShutdown : kEmpty;
    uint8_t* p = seg_.data + seg_.Pos(read);
    uint32_t len = LoadU32(p), w = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload() || rec > tail - read) return log_.Corrupt("a record has an impossible length");
    switch (Kind(w)) {
      case kRecDone:
      case kRecClaimed:
        // Behind a record that was given back (RequeueDeadClaimsLocked): already taken, skip it.
        read += rec;
        h->read.store(read, std::memory_order_relaxed);
        continue;
      case kRecBusy:
        if (StuckOwnerGone(busy_watch_, read, w)) {
          DiscardLocked(read);
          read += rec;
          h->read.store(read, std::memory_order_relaxed);
          continue;
        }
        return kInFlight;
      default:  // kRecReady
        if (len > out_cap) {
          needed_ = len;
          return kNeedSpace;
        }
        StoreU32(p + 4, kRecClaimed | SelfOwnerBits());
        h->read.store(read + rec, std::memory_order_relaxed);
        uint32_t c = h->count.load(std::memory_order_relaxed);
        if (c > 0) h->count.store(c - 1, std::memory_order_relaxed);
        *at = read;
        return len;
    }
  }
}

uint32_t Records::ClaimRunLocked(uint64_t out_cap, uint32_t max, uint32_t* lens) {
  Header* h = seg_.header;
  uint64_t read = h->read.load(std::memory_order_relaxed), tail = h->tail.load(std::memory_order_relaxed);
  const uint32_t claimed = kRecClaimed | SelfOwnerBits();
  uint32_t i = 0;
  while (i < max && read != tail) {
    uint8_t* p = seg_.data + seg_.Pos(read);
    uint32_t len = LoadU32(p), w = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (Kind(w) != kRecReady || len > seg_.max_payload() || rec > tail - read || len > out_cap) break;
    StoreU32(p + 4, claimed);
    lens[i++] = len;
    out_cap -= std::min<uint64_t>(out_cap, Align8(len));
    read += rec;
  }
  if (i == 0) return 0;
  h->read.store(read, std::memory_order_relaxed);
  uint32_t c = h->count.load(std::memory_order_relaxed);
  h->count.store(c > i ? c - i : 0, std::memory_order_relaxed);
  return i;
}

void Records::CopyOut(uint64_t at, uint8_t* out, uint32_t len, uint32_t n) const {
  n = std::min(n, len);
  if (n == 0) return;
  uint64_t pos = PayloadPos(at);
  uint64_t first = std::min<uint64_t>(n, seg_.capacity - pos);
  memcpy(out, seg_.data + pos, first);
  if (first < n) memcpy(out + first, seg_.data, n - first);
}

void Records::ReleaseOne(uint64_t at, uint32_t len, bool more) {
  Header* h = seg_.header;
  StoreState(seg_.data + seg_.Pos(at), kRecDone);
  h->gets.fetch_add(1, std::memory_order_relaxed);
  // Our record at `head`: move it over ours with one compare-and-swap, reading neither `read` nor the
  // next record, which belong to lines the producers are writing. Only when a record was behind ours
  // at the claim (`more`) and it is DONE already (another get finished first) is the walk needed.
  uint64_t expected = at, next = at + RecordSize(len);
  if (h->head.load(std::memory_order_relaxed) != at ||
      !h->head.compare_exchange_strong(expected, next, std::memory_order_release, std::memory_order_relaxed))
    return;  // an older record is still being copied out: its get moves `head`, or the next put short of room
  if (more && Kind(LoadState(seg_.data + seg_.Pos(next))) == kRecDone) AdvanceHead();
}

void Records::Release(uint64_t at, uint32_t gets, bool advance) {
  Header* h = seg_.header;
  StoreState(seg_.data + seg_.Pos(at), kRecDone);
  if (gets) h->gets.fetch_add(gets, std::memory_order_relaxed);
  // Only a get whose records start at `head` moves it; the others' DONE records are passed over
  // then, or by the next put (ReserveLocked).
  if (advance) AdvanceHead();
}

void Records::AdvanceHead() {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  for (;;) {
    uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_acquire);
    if (head >= read || read - head > capacity || head % 8 != 0) return;  // nothing to do, or corrupt
    uint64_t x = head;
    while (x < read) {
      const uint8_t* p = seg_.data + seg_.Pos(x);
      uint32_t len = LoadU32(p), w = LoadState(p);
      uint64_t rec = RecordSize(len);
      if (Kind(w) != kRecDone || len > seg_.max_payload() || rec > read - x) break;
      x += rec;
    }
    if (x == head) return;
    // Fails only if another thread moved `head` meanwhile: look again from there. `head` only ever
    // grows, so a stale value cannot compare equal (no ABA).
    if (h->head.compare_exchange_strong(head, x, std::memory_order_release, std::memory_order_relaxed)) return;
  }
}

void Records::AdvanceHeadOver(uint64_t from, uint64_t to) {
  // Safe without looking at the states: every record in [from, to) is one of ours and DONE (our own
  // release stores, in program order before this one), and `head` == `from` means nobody else
  // moved it meanwhile (it only grows).
  uint64_t expected = from;
  seg_.header->head.compare_exchange_strong(expected, to, std::memory_order_release, std::memory_order_relaxed);
  AdvanceHead();
}

int64_t Records::PeekLocked(uint8_t* out, uint64_t out_cap, uint32_t max, uint32_t* lens) {
  Header* h = seg_.header;
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_relaxed),
           tail = h->tail.load(std::memory_order_relaxed);
  int st = CheckIndices(head, read, tail);
  if (st != kOk) return st;
  uint32_t got = 0;
  uint64_t off = 0;
  // READY records cannot be claimed (we hold the lock) nor change (only their claimer writes to
  // them, after claiming): copying them under the lock is safe, and peek is not a hot path.
  for (uint64_t x = read; x != tail && got < max;) {
    const uint8_t* p = seg_.data + seg_.Pos(x);
    uint32_t len = LoadU32(p), w = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload() || rec > tail - x) return log_.Corrupt("a record has an impossible length");
    if (Kind(w) == kRecBusy) break;  // FIFO: nothing after it is next yet
    if (Kind(w) == kRecReady) {
      if (len > out_cap - off) {
        if (got > 0) break;
        needed_ = len;
        return kNeedSpace;
      }
      CopyOut(x, out + off, len);
      lens[got++] = len;
      off = std::min(out_cap, off + Align8(len));
    }
    x += rec;
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// Dead owners.

bool Records::StuckOwnerGone(Watch& watch, uint64_t at, uint32_t w) {
  int64_t now = NowMs();
  if (watch.at != at || watch.word != w) {
    watch = Watch{at, w, now + kFirstOwnerCheckMs, now + kFirstOwnerCheckMs, kFirstOwnerCheckMs, false};
    return false;
  }
  if (watch.gone) return true;
  if (now < watch.stuck_at_ms) return false;
  uint32_t owner = w & kRecOwnerMask;
  if (ProcessGone(int32_t(owner & kRecPidMask))) return watch.gone = true;
  if (now < watch.next_full_ms) return false;
  watch.every_ms = std::min(kOwnerCheckEveryMs, watch.every_ms * 4);
  watch.next_full_ms = now + watch.every_ms;
  watch.gone = OwnerGone(owner, seg_.dev, seg_.ino);
  return watch.gone;
}

void Records::DiscardLocked(uint64_t at) {
  // A BUSY record whose producer died: its put never returned, so nothing acknowledged is lost.
  Header* h = seg_.header;
  StoreState(seg_.data + seg_.Pos(at), kRecDone);
  uint32_t c = h->count.load(std::memory_order_relaxed);
  if (c > 0) h->count.store(c - 1, std::memory_order_relaxed);
  DropUnfinished(1);
  h->recoveries.fetch_add(1, std::memory_order_relaxed);
  changed_ = true;
}

void Records::DropUnfinished(uint64_t n) {
  if (!(seg_.flags & kQueueFlagJoinable) || n == 0) return;
  std::atomic<uint64_t>& unfinished = seg_.header->unfinished;
  uint64_t u = unfinished.load();
  while (!unfinished.compare_exchange_weak(u, u > n ? u - n : 0)) {
  }
}

bool Records::RequeueDeadClaimsLocked() {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  AdvanceHead();
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_relaxed);
  if (head >= read || read - head > capacity) return false;
  const uint8_t* first = seg_.data + seg_.Pos(head);
  uint32_t w = LoadState(first);
  // After AdvanceHead the oldest record is not DONE; only a CLAIMED one holds the front back.
  if (Kind(w) != kRecClaimed || !StuckOwnerGone(claim_watch_, head, w)) return false;
  // Its owner is gone. Give back every claimed record of a dead owner in [head, read), oldest first.
  uint64_t oldest = UINT64_MAX;
  uint32_t last_owner = 0;
  bool last_gone = false;
  int scanned = 0;
  for (uint64_t x = head; x < read && scanned < kRequeueScanLimit; scanned++) {
    uint8_t* p = seg_.data + seg_.Pos(x);
    uint32_t len = LoadU32(p), s = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload() || rec > read - x) break;  // corrupt: the next locked check reports it
    if (Kind(s) == kRecClaimed) {
      uint32_t owner = s & kRecOwnerMask;
      if (owner != last_owner || scanned == 0) {
        last_owner = owner;
        last_gone = x == head || OwnerGone(owner, seg_.dev, seg_.ino);
      }
      if (last_gone) {
        // READY first, then `read`: a holder killed in between leaves a READY record before `read`,
        // which Repair() finds (it re-derives `read` from the states).
        StoreState(p, kRecReady);
        if (oldest == UINT64_MAX) oldest = x;
        h->count.store(h->count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        h->recoveries.fetch_add(1, std::memory_order_relaxed);
      }
    }
    x += rec;
  }
  if (oldest == UINT64_MAX) return false;
  h->read.store(oldest, std::memory_order_release);
  claim_watch_ = Watch{};
  changed_ = true;
  return true;
}

uint32_t Records::SweepLocked() {
  Header* h = seg_.header;
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_relaxed),
           tail = h->tail.load(std::memory_order_relaxed);
  if (CheckIndices(head, read, tail) != kOk) return 0;
  uint32_t discarded = 0;
  bool busy_seen = false;
  for (uint64_t x = read; x != tail;) {
    uint8_t* p = seg_.data + seg_.Pos(x);
    uint32_t len = LoadU32(p), w = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload() || rec > tail - x) break;
    if (Kind(w) == kRecReady) {
      StoreState(p, kRecDone);
      discarded++;
    }
    if (Kind(w) == kRecBusy) busy_seen = true;
    x += rec;
    // `read` moves over everything up to the first BUSY record (whose put is still copying).
    if (!busy_seen) h->read.store(x, std::memory_order_relaxed);
  }
  uint32_t c = h->count.load(std::memory_order_relaxed);
  h->count.store(c > discarded ? c - discarded : 0, std::memory_order_relaxed);
  DropUnfinished(discarded);
  AdvanceHead();
  return discarded;
}

// ---------------------------------------------------------------------------------------------
// Repair, counts, predicates.

int Records::Repair() {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  uint64_t head = h->head.load(), tail = h->tail.load();
  if (head > tail || tail - head > capacity || head % 8 != 0 || tail % 8 != 0)
    return log_.Corrupt("its head/tail indices are impossible");
  // `read` and `count` are derived state: `read` is the first record a get has not taken (BUSY or
  // READY), `count` the number of those. A lock holder killed in the middle of an update leaves
  // them stale; the states are always current (each changes with one store).
  uint32_t count = 0;
  uint64_t read = tail;
  for (uint64_t x = head; x != tail;) {
    const uint8_t* p = seg_.data + seg_.Pos(x);
    uint32_t len = LoadU32(p), w = LoadState(p);
    uint64_t rec = RecordSize(len);
    if (len > seg_.max_payload()) return log_.Corrupt("a record has an impossible length");
    // Compare with the room left, not `x + rec > tail`: with indices scribbled near 2^64 the sum
    // wraps, the check passes and the walk runs on for up to 2^61 steps.
    if (rec > tail - x) return log_.Corrupt("a record runs past the tail");
    if (Kind(w) == kRecBusy || Kind(w) == kRecReady) {
      if (read == tail) read = x;
      count++;
    }
    x += rec;
  }
  h->read.store(read);
  h->count.store(count);
  busy_watch_ = claim_watch_ = Watch{};
  return kOk;
}

uint32_t Records::CountLocked() {
  // `count` is derived state that a scribbler can change without touching the indices. A count
  // that more records than the used bytes can hold would keep a maxsize-bounded queue "full"
  // forever (puts block, not-full waiters never wake): recompute it from the records instead.
  Header* h = seg_.header;
  uint32_t c = h->count.load();
  uint64_t read = h->read.load(), tail = h->tail.load();
  if (read <= tail && tail - read <= seg_.capacity && c > (tail - read) / kRecordHeaderSize && Repair() == kOk)
    c = h->count.load();
  return c;
}

uint32_t Records::Count() const {
  // Lock-free, so it cannot repair; but every record takes at least 8 bytes, so a scribbled count
  // larger than that is clamped rather than reported as billions of messages.
  const Header* h = seg_.header;
  // After shutdown(immediate) nothing is left to get, even while its discard is still pending (the
  // lock was busy when it was asked for).
  if (h->shutdown.load(std::memory_order_acquire) == kShutdownImmediate) return 0;
  uint32_t c = h->count.load(std::memory_order_acquire);
  uint64_t head = h->head.load(std::memory_order_acquire), tail = h->tail.load(std::memory_order_acquire);
  if (head <= tail && tail - head <= seg_.capacity)
    c = uint32_t(std::min<uint64_t>(c, (tail - head) / kRecordHeaderSize));
  return c;
}

Readiness Records::ReadyLocked(Event event, uint32_t needed) {
  Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  if (event == Event::kAllDone) return h->unfinished.load() == 0 ? Readiness::kReady : Readiness::kNotYet;
  if (h->shutdown.load()) return Readiness::kReady;
  AdvanceHead();
  uint64_t head = h->head.load(), read = h->read.load(), tail = h->tail.load();
  if (CheckIndices(head, read, tail) != kOk) return Readiness::kReady;  // let the operation report it
  if (event == Event::kNotEmpty) {
    for (uint64_t x = read; x != tail;) {
      const uint8_t* p = seg_.data + seg_.Pos(x);
      uint32_t len = LoadU32(p), w = LoadState(p);
      uint64_t rec = RecordSize(len);
      if (len > seg_.max_payload() || rec > tail - x) return Readiness::kReady;  // the get reports it
      if (Kind(w) == kRecReady) return Readiness::kReady;
      if (Kind(w) == kRecBusy) return StuckOwnerGone(busy_watch_, x, w) ? Readiness::kReady : Readiness::kStuck;
      x += rec;  // DONE / CLAIMED behind a given-back record: the get skips them too
    }
    if (head != read) {
      if (RequeueDeadClaimsLocked()) return Readiness::kReady;
      return Readiness::kStuck;  // a get is copying out; if its process dies, we give its record back
    }
    return Readiness::kNotYet;
  }
  if (seg_.maxsize != 0 && CountLocked() >= seg_.maxsize) return Readiness::kNotYet;
  if (RecordSize(needed) <= capacity - (tail - head)) return Readiness::kReady;
  if (head != read) {
    RequeueDeadClaimsLocked();  // gives the message back; its bytes come free once it is read
    return Readiness::kStuck;
  }
  return Readiness::kNotYet;
}

bool Records::ReadyHint(Event event, uint32_t needed) const {
  const Header* h = seg_.header;
  const uint64_t capacity = seg_.capacity;
  if (event == Event::kAllDone) return h->unfinished.load(std::memory_order_relaxed) == 0;
  if (h->shutdown.load(std::memory_order_relaxed)) return true;
  uint64_t head = h->head.load(std::memory_order_acquire), read = h->read.load(std::memory_order_acquire),
           tail = h->tail.load(std::memory_order_acquire);
  if (event == Event::kNotEmpty) {
    if (read >= tail || tail - read > capacity || read % 8 != 0) return read != tail;
    return Kind(LoadState(seg_.data + seg_.Pos(read))) != kRecBusy;
  }
  if (seg_.maxsize != 0 && h->count.load(std::memory_order_relaxed) >= seg_.maxsize) return false;
  return tail >= head && tail - head <= capacity && RecordSize(needed) <= capacity - (tail - head);
}

#ifdef SHM_QUEUE_TEST_HOOKS
void Records::TearLocked(const uint8_t* data, uint32_t len, uint32_t written) {
  Header* h = seg_.header;
  uint64_t head = h->head.load(), read = h->read.load(), tail = h->tail.load();
  uint64_t rec = RecordSize(len);
  if (len > 0 && written <= len && CheckIndices(head, read, tail) == kOk && rec <= seg_.capacity - (tail - head)) {
    uint8_t* p = seg_.data + seg_.Pos(tail);
    StoreU32(p, len);
    StoreU32(p + 4, kRecBusy | SelfOwnerBits());
    CopyIn(tail, data, len, written);
  }
}
#endif

}  // namespace shmq
