// Status codes of core operations, the one system-error record, and the per-queue "last error"
// (the sentence behind a kCorrupt status).
#pragma once

#include <errno.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace shmq {

/** Results of queue operations. Non-negative values are successes (a length, a count). */
enum Status : int {
  kOk = 0,
  kFull = -1,
  kEmpty = -2,
  kTooLarge = -3,
  kShutdown = -4,
  kCorrupt = -5,
  kNeedSpace = -6,  // the next message is larger than the caller's buffer; see Queue::needed()
  kTimedOut = -7,
  kCancelled = -8,  // internal: a wait interrupted by its caller (the waiter thread); never reaches JS
  kTaskDoneTooMany = -9,
  kIncompatible = -10,
  kSystemError = -11,     // see SysError
  kBusy = -12,            // the lock could not be taken within the bound of a call that must not wait
  kLockStalled = -13,     // a live holder has kept the lock without progress for the stall bound
  kUntrustedOwner = -14,  // open only: the segment belongs to another user the caller did not trust
};

/** What a waiter waits for (the three futex condition variables of the header). */
enum class Event { kNotEmpty, kNotFull, kAllDone };

/** A failed system call: which one and its errno. */
struct SysError {
  int err = 0;
  const char* syscall = "";
};

/** THE system-error fill: records `syscall` and `err` (errno by default) and returns kSystemError. */
inline int FailSys(SysError* out, const char* syscall, int err = errno) {
  out->err = err;
  out->syscall = syscall;
  return kSystemError;
}

/** The sentence explaining the last kCorrupt or kLockStalled of one queue. Written by whichever
 *  thread found it (the JS thread or the handle's waiter thread), read by the JS thread: guarded. */
class ErrorLog {
 public:
  /** Records why the segment is corrupt and returns kCorrupt. */
  int Corrupt(const std::string& what) {
    std::lock_guard<std::mutex> guard(mutex_);
    last_ = "queue segment is corrupt: " + what + "; remove it (Queue.unlink or `shm-queue rm`) and create it again";
    return kCorrupt;
  }
  /** Records which process holds the lock without progress and returns kLockStalled. */
  int Stalled(int32_t pid, int32_t tid, int64_t ms) {
    std::lock_guard<std::mutex> guard(mutex_);
    std::string who = pid > 0 ? "process " + std::to_string(pid) : "thread " + std::to_string(tid);
    if (pid > 0 && pid != tid) who += " (thread " + std::to_string(tid) + ")";
    last_ = "the queue lock has been held by " + who + " for more than " + std::to_string(ms) +
            " ms without any progress: that process is stopped (SIGSTOP, a debugger, a frozen cgroup) or hung. "
            "Nothing is corrupt and waiting is safe: the queue works again, with every message, once it continues "
            "(kill -CONT " +
            std::to_string(pid > 0 ? pid : tid) + ") or dies";
    holder_pid_ = pid > 0 ? pid : tid;
    return kLockStalled;
  }
  std::string last() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return last_;
  }
  /** With kLockStalled: the pid holding the lock. */
  int32_t holder_pid() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return holder_pid_;
  }

 private:
  mutable std::mutex mutex_;
  std::string last_;
  int32_t holder_pid_ = 0;
};

}  // namespace shmq
