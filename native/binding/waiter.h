// The per-handle waiter thread: sleeps on the queue's futex words for the events JS armed and
// reports each one once through a ThreadSafeFunction (DESIGN.md §6: never the libuv threadpool).
//
// Threading rules: the thread only calls Queue::Wait/WakeAll and the TSFN's NonBlockingCall; it
// never touches napi values and never throws. Stop() joins it, and must run before the Queue is
// unmapped (glibc BZ 14485: never unmap while a thread may be in unlock).
#pragma once

#include <atomic>
#include <cstdint>
#include <pthread.h>

#include <memory>

#include "../queue.h"
#include "napi.h"

namespace shmq_binding {

/** Event bits of `armed`, indexed by shmq::Event (kNotEmpty, kNotFull, kAllDone). */
constexpr uint32_t kEventBits[] = {1, 2, 4};

/** Data passed from the waiter thread to JS: which event fired and with what status. */
struct EventReport {
  uint32_t event;
  int32_t status;
};

/** The report of (event, status), from a table that lives as long as the module: the waiter thread
 *  allocates nothing (a thread that mallocs gets a malloc arena of its own, 64 MiB of address space),
 *  and CallJs frees nothing. Statuses are 0 or negative and few. */
const EventReport* ReportOf(uint32_t event, int32_t status);

/** Runs on the JS thread for each report (defined in queue_handle.cc, where the TSFN is made: its
 *  template checks `CallJs != nullptr` at compile time, which GCC folds under -fsanitize=undefined
 *  (npm run test:sanitize) only for a non-inline function defined in the same file). */
void CallJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, EventReport* report);
using WakeFn = Napi::TypedThreadSafeFunction<std::nullptr_t, EventReport, CallJs>;

/** Waiter-thread state. Shared with the TSFN finalizer, which may run after its handle is gone (a
 *  Release() is finalized asynchronously) or before the handle's cleanup hook (at environment
 *  teardown Node finalizes TSFNs itself); whoever comes first joins the thread. */
struct Watcher {
  /** The thread's stack: it only sleeps in futex waits and reads /proc a little, and a default
   *  8 MiB reservation per handle made 1,000 pending handles cost 9.3 GiB of address space. */
  static constexpr size_t kStackSize = 256 * 1024;

  pthread_t thread{};
  bool running = false;  // JS thread only
  WakeFn wake;           // the thread's own copy of the TSFN (only NonBlockingCall is used on it)
  std::atomic<bool> stop{false};
  std::atomic<bool> interrupt{false};
  std::atomic<uint32_t> armed{0};
  std::atomic<uint32_t> needed{0};
  std::atomic<uint32_t> local_seq{0};
  std::atomic<int> current_event{-1};
  bool finalized = false;  // JS thread only
  shmq::Queue* queue = nullptr;

  /** Makes the thread re-read its armed events now, wherever it is sleeping. */
  void Interrupt();
  /** Stops and joins the thread (idempotent). */
  void Stop();
  /** Starts the thread: 0, or the errno of pthread_create (EAGAIN under RLIMIT_NPROC or a pids
   *  cgroup, ENOMEM), never an abort. */
  int Start(WakeFn wake);

 private:
  static void* Main(void* self);
  void Loop();
};

}  // namespace shmq_binding
