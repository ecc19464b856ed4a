// Facts about other processes from /proc and kill(2): start times (to tell a recycled pid from the
// process that attached), whether a thread exists, and whether a process maps a given file.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace shmq {

/** Start time of a process (field 22 of /proc/PID/stat), 0 when it does not exist or is a zombie. */
uint64_t ProcessStartTime(int32_t pid);
/** Is the process that recorded (pid, start_time) still there? "Cannot tell" is alive: /proc may be
 *  unreadable (out of file descriptors, hidepid=2, another pid namespace), and a queue judged unused
 *  while a live process uses it loses messages. Dead only when kill(pid, 0) says ESRCH, or /proc
 *  says zombie or shows another start time (the pid was recycled). start_time 0 (unknown when it
 *  attached) is checked by kill(2) alone. */
bool ProcessMayBeAlive(int32_t pid, uint64_t start_time);
/** The process (thread group) of thread `tid`, from /proc; 0 when unknown. */
int32_t ProcessOfThread(int32_t tid);
/** Does thread `tid` exist? (kill(tid, 0): anything but ESRCH, EPERM included, means it does.) */
bool ThreadAlive(pid_t tid);
/** Does thread `tid`'s process map the file (dev, ino)? 1 yes, 0 no, -1 unknown (unreadable). */
int MapsFile(pid_t tid, dev_t dev, ino_t ino);

}  // namespace shmq

namespace shmq {

/** This process's owner bits for a BUSY/CLAIMED record state word (layout.h): pid | start-time tag
 *  << 22. Computed once per process (again in a forked child). */
uint32_t SelfOwnerBits();
/** Can the process named by a record's owner bits no longer be copying it? True only when the
 *  kernel proves it: no such process (kill: ESRCH), a zombie, another process's start time under
 *  that pid, or a process that does not map the segment (dev, ino). Unreadable /proc, hidepid or
 *  EPERM: alive. Never true for our own pid. */
bool OwnerGone(uint32_t owner_bits, dev_t dev, ino_t ino);
/** The cheap half of OwnerGone: no process with this pid at all (kill: ESRCH). Never our own. */
bool ProcessGone(int32_t pid);

}  // namespace shmq
