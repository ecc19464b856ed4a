// The attached-process table in the header: which processes have the queue open (pid + start
// time, so a recycled pid is not mistaken for the process that attached), for `shm-queue ls`,
// `stat` and `gc`. Guarded by the segment lock.
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

 private:
  const Segment& seg_;
  bool attached_ = false;
};

}  // namespace shmq
