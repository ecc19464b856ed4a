#include "waiter.h"

#include "../futex.h"

namespace shmq_binding {

using shmq::Event;

void CallJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, EventReport* report) {
  std::unique_ptr<EventReport> owned(report);
  if (env == nullptr || callback.IsEmpty()) return;  // environment shutting down
  callback.Call({Napi::Number::New(env, report->event), Napi::Number::New(env, report->status)});
}

void Watcher::Interrupt() {
  interrupt.store(true);
  local_seq.fetch_add(1);
  shmq::FutexWakePrivate(&local_seq);
  int current = current_event.load();
  if (current >= 0) queue->WakeAll(static_cast<Event>(current));
}

void Watcher::Stop() {
  if (!thread.joinable()) return;
  stop.store(true);
  Interrupt();
  thread.join();
}

void Watcher::Start(WakeFn wake) {
  thread = std::thread(Loop, this, wake);
}

void Watcher::Loop(Watcher* w, WakeFn wake) {
  while (!w->stop.load()) {
    uint32_t seq = w->local_seq.load();
    // Clear before reading `armed`: an arm() after this point sets it again and cuts our wait.
    w->interrupt.store(false);
    uint32_t armed = w->armed.load();
    if (armed == 0) {
      shmq::FutexWaitPrivate(&w->local_seq, seq, 1000);
      continue;
    }
    bool several = (armed & (armed - 1)) != 0;
    for (int e = 0; e < 3 && !w->stop.load(); e++) {
      if (!(armed & kEventBits[e])) continue;
      w->current_event.store(e);
      uint32_t needed = e == int(Event::kNotFull) ? w->needed.load() : 0;
      int st = w->queue->Wait(static_cast<Event>(e), needed, several ? 20 : 500, &w->interrupt);
      w->current_event.store(-1);
      if (st == shmq::kTimedOut || st == shmq::kCancelled) continue;
      w->armed.fetch_and(~kEventBits[e]);
      wake.NonBlockingCall(new EventReport{uint32_t(e), int32_t(st)});
    }
  }
}

}  // namespace shmq_binding
