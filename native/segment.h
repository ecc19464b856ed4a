// The segment as a file and a mapping: create, open, validate, probe, close, unlink. Knows the
// header's meaning (layout.h) but nothing about records, locking or waiting.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "layout.h"
#include "status.h"

namespace shmq {

/** kInspect reads a private copy of the header (pread, no shared mapping) and does not attach:
 *  for `shm-queue ls/stat`, which must neither change a queue nor need write access to it, and
 *  must not die of SIGBUS when a hostile owner truncates the file. Only Stats() may be called on
 *  it; its counters are those of the moment of the open. */
enum class OpenMode { kCreate, kOpen, kCreateOrOpen, kInspect };

struct CreateOptions {
  uint64_t capacity = 1 << 20;
  uint32_t maxsize = 0;
  uint32_t flags = 0;
  std::string codec = "msgpack";
  mode_t mode = 0600;
  /** Opening a segment whose file belongs to another user is refused (kUntrustedOwner) unless its
   *  owner is this uid: queues shared between users on purpose. -1 trusts nobody else. */
  int64_t trusted_owner = -1;
};

/** Why a segment was refused (kIncompatible or kCorrupt); JS maps (code, reason), never messages. */
enum class SegmentReason {
  kNone,
  kNotAQueue,   // bad magic number                                  (incompatible)
  kVersion,     // another layout version                            (incompatible)
  kHeaderSize,  // another header size                               (incompatible)
  kLockAbi,     // another lock protocol (Header::lock_abi)          (incompatible)
  kUnfinished,  // never published READY by its creator              (incompatible)
  kNotRegular,  // a FIFO, directory, socket, ...: not even a file   (incompatible)
  kCapacity,    // impossible capacity                               (corrupt)
  kSize,        // total size does not match the capacity            (corrupt)
  kFlags,       // unknown queue flags                               (corrupt)
  kCodec,       // invalid codec name                                (corrupt)
  kTruncated,   // the file is smaller than the header says          (corrupt)
};
/** The stable string of a reason ('not-a-queue', 'version', ...; "" for kNone). */
const char* ReasonName(SegmentReason reason);

struct OpenResult {
  int status = kOk;  // kOk, kSystemError, kIncompatible, kCorrupt or kUntrustedOwner
  SysError sys;      // with kSystemError (and `message` when there is more to say, e.g. ENOSPC)
  SegmentReason reason = SegmentReason::kNone;
  std::string message;  // with kIncompatible / kCorrupt / kUntrustedOwner
  bool created = false;
  uint32_t owner_uid = 0;  // with kUntrustedOwner
  std::string owner_name;  // with kUntrustedOwner ("" when the uid has no name)
};

/** A mapped segment whose header passed validation. The copies of the immutable header fields
 *  are taken once at open: the shared ones may be scribbled on later, these never change. */
struct Segment {
  Header* header = nullptr;
  uint8_t* data = nullptr;  // the ring: capacity bytes right after the header
  size_t map_size = 0;
  uint64_t capacity = 0;
  uint32_t maxsize = 0;
  uint32_t flags = 0;
  std::string codec;
  bool read_only = false;
  /** `header` is a private copy of sizeof(Header) bytes (kInspect), not the shared mapping;
   *  `data` is null. */
  bool header_copy = false;
  // The segment file, kept open to re-check its size on recovery; its identity, to recognise it
  // in another process's /proc/PID/maps.
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  uint32_t file_mode = 0, file_uid = 0;

  bool is_open() const { return header != nullptr; }
  /** The ring offset of byte counter `x` (x % capacity): a mask when the capacity is a power of two
   *  (the default, and most), as a 64-bit division costs tens of cycles and a put or get makes
   *  several. */
  uint64_t Pos(uint64_t x) const { return (capacity & (capacity - 1)) == 0 ? x & (capacity - 1) : x % capacity; }
  /** Largest payload a single message may have. */
  uint64_t max_payload() const {
    uint64_t m = capacity - kRecordHeaderSize;
    return m < UINT32_MAX - 7 ? m : UINT32_MAX - 7;
  }
};

/** Creates and/or opens the segment of `name` (validated by the caller) into `*seg`, which must
 *  be closed. Does not attach (Queue::Open does). */
OpenResult OpenSegment(const std::string& name, OpenMode mode, const CreateOptions& options, Segment* seg);
/** Unmaps and closes the file. Safe to call twice. */
void CloseSegment(Segment* seg);
/** Removes the name; open mappings keep working. 0 or errno. */
int UnlinkSegment(const std::string& name);

/** What probe() found at `/dev/shm/shm-queue.<name>` (see ProbeSegment). */
struct ProbeResult {
  enum class Kind {
    kMissing,
    kQueue,
    kPermissionDenied,
    kNotRegular,
    kNotAQueue,
    kIncompatible,
    kUnfinished,
    kCorrupt,
    kError
  };
  Kind kind = Kind::kError;
  std::string message;  // what is wrong and what to do
  bool has_stat = false;
  uint32_t uid = 0, mode = 0;   // with has_stat
  uint32_t layout_version = 0;  // kQueue, kIncompatible
  bool joinable = false;        // kQueue
  std::string codec;            // kQueue
  const char* file_type = "";   // kNotRegular: 'fifo', 'directory', ...
  int64_t age_ms = 0;           // kUnfinished: now - mtime
  std::string detail;           // kCorrupt
  int in_use = -1;              // kQueue: a handle is attached (1, 0; -1 unknown)
  SysError sys;                 // kError, kPermissionDenied
};
const char* ProbeKindName(ProbeResult::Kind kind);

/** Read-only, non-attaching, never blocking classification of a segment file: opened with
 *  O_RDONLY|O_NONBLOCK|O_NOFOLLOW, refused without reading unless it is a regular file, header read
 *  with pread. Never maps it, so a file truncated under us cannot SIGBUS. */
ProbeResult ProbeSegment(const std::string& name);

}  // namespace shmq
