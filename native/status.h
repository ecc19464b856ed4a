// Status codes of core operations, the one system-error record, and the per-queue "last error"
// (the sentence behind a kCorrupt status).
#pragma once

#include <errno.h>

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
  kSystemError = -11,  // see SysError
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

/** The sentence explaining the last kCorrupt of one queue. Written by whichever thread found the
 *  corruption (the JS thread or the handle's waiter thread), read by the JS thread: guarded. */
class ErrorLog {
 public:
  /** Records why the segment is corrupt and returns kCorrupt. */
  int Corrupt(const std::string& what) {
    std::lock_guard<std::mutex> guard(mutex_);
    last_ = "queue segment is corrupt: " + what + "; remove it (Queue.unlink or `shm-queue rm`) and create it again";
    return kCorrupt;
  }
  std::string last() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return last_;
  }

 private:
  mutable std::mutex mutex_;
  std::string last_;
};

}  // namespace shmq
