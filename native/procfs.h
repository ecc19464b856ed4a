// Facts about other processes from /proc and kill(2): start times (to tell a recycled pid from the
// process that attached), whether a thread exists, and whether a process maps a given file.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace shmq {

/** Start time of a process (field 22 of /proc/PID/stat), 0 when it does not exist or is a zombie. */
uint64_t ProcessStartTime(int32_t pid);
/** Does thread `tid` exist? (kill(tid, 0): anything but ESRCH, EPERM included, means it does.) */
bool ThreadAlive(pid_t tid);
/** Does thread `tid`'s process map the file (dev, ino)? 1 yes, 0 no, -1 unknown (unreadable). */
int MapsFile(pid_t tid, dev_t dev, ino_t ino);
/** The calling thread's kernel id (cached per thread). */
pid_t CurrentTid();

}  // namespace shmq
