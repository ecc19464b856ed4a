// Who has the queue open, two ways:
// - The attach lock, the exact answer to "is the queue in use?": every attached handle holds an
//   open-file-description read lock (F_OFD_SETLK) on byte 0 of the segment file. The kernel drops
//   it when the handle's file is closed, also by kill -9, for any number of processes, whatever
//   /proc shows; F_OFD_GETLK tells whether anyone else holds one.
// - The attached-process table in the header, for listing pids in `shm-queue ls` and `stat`:
//   pid + start time (so a recycled pid is not mistaken for the process that attached), 64 slots,
//   guarded by the segment lock. It can be incomplete (a full table, a lock held by a stopped
//   process at attach time); it is never used to decide that a queue is unused.
#pragma once

#include <vector>

#include "layout.h"
#include "segment.h"

namespace shmq {

class AttachTable {
 public:
  explicit AttachTable(const Segment& seg) : seg_(seg) {}

  /** Counts one more handle of this process (prunes dead entries on the way). A full table only
   *  means this process is not listed; the queue works. */
  void AttachLocked();
  /** Counts one handle of this process less. */
  void DetachLocked();
  /** The live entries; dead ones are cleared (and last_detach_ms set to when that was noticed). */
  std::vector<AttachSlot> LiveLocked();
  /** The live entries, without the lock and without changing anything (read-only mappings). */
  std::vector<AttachSlot> LiveReadOnly() const;
  bool attached() const { return attached_; }

  /** Takes this handle's attach lock on the segment file `fd` (open for reading). */
  static bool HoldAttachLock(int fd);
  /** Does an open file description other than `fd`'s hold an attach lock? 1 yes, 0 no, -1 unknown. */
  static int OthersAttached(int fd);

 private:
  const Segment& seg_;
  bool attached_ = false;
};

}  // namespace shmq
