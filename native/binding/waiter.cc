#include "waiter.h"

#include "../futex.h"

namespace shmq_binding {

using shmq::Event;

const EventReport* ReportOf(uint32_t event, int32_t status) {
  constexpr int kStatuses = 32;  // 0 .. -31: every shmq::Status
  static const auto* table = [] {
    auto* t = new EventReport[3 * kStatuses];
    for (int e = 0; e < 3; e++)
      for (int s = 0; s < kStatuses; s++) t[e * kStatuses + s] = EventReport{uint32_t(e), int32_t(-s)};
    return t;
  }();
  int s = status <= 0 && status > -kStatuses ? -status : -int(shmq::kCorrupt);
  return &table[(event % 3) * kStatuses + s];
}

void Watcher::Interrupt() {
  interrupt.store(true);
  local_seq.fetch_add(1);
  shmq::FutexWakePrivate(&local_seq);
  int current = current_event.load();
  if (current >= 0) queue->WakeAll(static_cast<Event>(current));
}

void Watcher::Stop() {
  if (!running) return;
  stop.store(true);
  Interrupt();
  pthread_join(thread, nullptr);
  running = false;
}

int Watcher::Start(WakeFn tsfn) {
  wake = tsfn;
  (void)ReportOf(0, 0);  // builds the table here, on the JS thread
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err != 0) return err;
  err = pthread_attr_setstacksize(&attr, kStackSize);
  if (err == 0) err = pthread_create(&thread, &attr, &Watcher::Main, this);
  pthread_attr_destroy(&attr);
  running = err == 0;
  return err;
}

void* Watcher::Main(void* self) {
  static_cast<Watcher*>(self)->Loop();
  return nullptr;
}

void Watcher::Loop() {
  Watcher* w = this;
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
      w->wake.NonBlockingCall(const_cast<EventReport*>(ReportOf(uint32_t(e), int32_t(st))));
    }
  }
}

}  // namespace shmq_binding
