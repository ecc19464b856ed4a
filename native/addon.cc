// shm-queue N-API binding: a thin ObjectWrap over shmq::Ring. It checks argument *types* only
// (the TypeScript layer validates values and owns the public contract), turns errno values into
// Node-style system errors, and runs the per-handle waiter thread that wakes async operations.
//
// Threading rules:
// - Every method runs on the JS thread of the environment that created the handle.
// - The waiter thread only calls Ring::Wait/WakeAll and TSFN NonBlockingCall; it never touches
//   napi values and never throws.
// - Close(), the destructor and the environment cleanup hook stop and join the waiter thread
//   before the Ring is unmapped (glibc BZ 14485: never unmap while a thread may be in unlock).
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <memory>
#include <string>
#include <thread>

#include "napi.h"
#include "ring.h"

namespace {

using shmq::Event;
using shmq::Ring;

// Event ids shared with src/native.ts.
constexpr uint32_t kEventBits[] = {1, 2, 4};  // kNotEmpty, kNotFull, kAllDone

/** Builds an Error shaped like Node's SystemError: code ('ENOENT'), errno, syscall, path. */
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& path) {
  const char* code = nullptr;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  code = strerrordesc_np(err) ? strerrorname_np(err) : nullptr;
#endif
  std::string code_str = code ? code : ("E" + std::to_string(err));
  std::string msg = code_str + ": " + strerror(err) + ", " + syscall + " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code_str);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", syscall);
  e.Set("path", path);
  return e;
}

/** Is `v` a typed array of exactly this element type? The binding reads lengths and writes
 *  results through raw pointers sized by element count, so a Uint8Array passed where a
 *  Uint32Array is expected must be refused, not reinterpreted. */
bool IsTyped(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

Napi::Error CodeError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code);
  return e;
}

void FutexWakePrivate(std::atomic<uint32_t>* w) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
void FutexWaitPrivate(std::atomic<uint32_t>* w, uint32_t expected, int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
}

/** Data passed from the waiter thread to JS: which event fired and with what status. */
struct EventReport {
  uint32_t event;
  int32_t status;
};

void CallJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, EventReport* report) {
  std::unique_ptr<EventReport> owned(report);
  if (env == nullptr || callback.IsEmpty()) return;  // environment shutting down
  callback.Call({Napi::Number::New(env, report->event), Napi::Number::New(env, report->status)});
}

using WakeFn = Napi::TypedThreadSafeFunction<std::nullptr_t, EventReport, CallJs>;

/**
 * One open queue. JS arms events with `arm(event, needed)`; the waiter thread waits for the first
 * armed event whose predicate holds, disarms it and reports it once through the TSFN. JS then
 * retries its pending operations and re-arms if any remain, so at most one report per event is
 * in flight and a lost race with another process simply re-arms.
 */
class QueueHandle : public Napi::ObjectWrap<QueueHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "QueueHandle",
                       {
                           InstanceMethod("push", &QueueHandle::Push),
                           InstanceMethod("pushMany", &QueueHandle::PushMany),
                           InstanceMethod("setReadBuffer", &QueueHandle::SetReadBuffer),
                           InstanceMethod("shift", &QueueHandle::Shift),
                           InstanceMethod("shiftMany", &QueueHandle::ShiftMany),
                           InstanceMethod("peek", &QueueHandle::Peek),
                           InstanceMethod("needed", &QueueHandle::Needed),
                           InstanceMethod("lastError", &QueueHandle::LastError),
                           InstanceMethod("count", &QueueHandle::Count),
                           InstanceMethod("shutdownState", &QueueHandle::ShutdownState),
                           InstanceMethod("unfinished", &QueueHandle::Unfinished),
                           InstanceMethod("stats", &QueueHandle::Stats),
                           InstanceMethod("info", &QueueHandle::Info),
                           InstanceMethod("shutdown", &QueueHandle::Shutdown),
                           InstanceMethod("taskDone", &QueueHandle::TaskDone),
                           InstanceMethod("wait", &QueueHandle::Wait),
                           InstanceMethod("watch", &QueueHandle::Watch),
                           InstanceMethod("arm", &QueueHandle::Arm),
                           InstanceMethod("ref", &QueueHandle::Ref),
                           InstanceMethod("unref", &QueueHandle::Unref),
                           InstanceMethod("close", &QueueHandle::Close),
                           InstanceMethod("testLockAndTear", &QueueHandle::TestLockAndTear),
                           StaticMethod("unlink", &QueueHandle::UnlinkName),
                       });
  }

  // new QueueHandle(mode, name, capacity, maxsize, flags, codec, fileMode)
  explicit QueueHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<QueueHandle>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber() ||
        !info[4].IsNumber() || !info[5].IsString() || !info[6].IsNumber()) {
      Napi::TypeError::New(env, "QueueHandle: bad arguments").ThrowAsJavaScriptException();
      return;
    }
    int mode = info[0].As<Napi::Number>().Int32Value();
    std::string name = info[1].As<Napi::String>().Utf8Value();
    if (!shmq::ValidName(name)) {
      Napi::TypeError::New(env, "QueueHandle: invalid name").ThrowAsJavaScriptException();
      return;
    }
    shmq::CreateOptions opts;
    opts.capacity = uint64_t(info[2].As<Napi::Number>().Int64Value());
    opts.maxsize = info[3].As<Napi::Number>().Uint32Value();
    opts.flags = info[4].As<Napi::Number>().Uint32Value();
    opts.codec = info[5].As<Napi::String>().Utf8Value();
    opts.mode = mode_t(info[6].As<Napi::Number>().Uint32Value() & 07777);
    if (opts.capacity < shmq::kMinCapacity || opts.capacity > shmq::kMaxCapacity ||
        !shmq::ValidCodecName(opts.codec.c_str(), shmq::kCodecNameSize)) {
      Napi::RangeError::New(env, "QueueHandle: bad capacity or codec").ThrowAsJavaScriptException();
      return;
    }
    if (mode < 0 || mode > 3) {
      Napi::RangeError::New(env, "QueueHandle: bad mode").ThrowAsJavaScriptException();
      return;
    }
    static constexpr shmq::OpenMode kModes[] = {shmq::OpenMode::kCreate, shmq::OpenMode::kOpen,
                                                shmq::OpenMode::kCreateOrOpen, shmq::OpenMode::kInspect};
    shmq::OpenMode om = kModes[mode];
    read_only_ = om == shmq::OpenMode::kInspect;
    shmq::OpenResult r = ring_.Open(name, om, opts);
    if (r.status == shmq::kSystemError) {
      ErrnoError(env, r.syscall, r.sys_errno, "/dev/shm" + Ring::ShmPath(name)).ThrowAsJavaScriptException();
      return;
    }
    if (r.status != shmq::kOk) {
      CodeError(env, r.status == shmq::kCorrupt ? "ERR_QUEUE_CORRUPT" : "ERR_QUEUE_INCOMPATIBLE", r.message)
          .ThrowAsJavaScriptException();
      return;
    }
    created_ = r.created;
    cleanup_hook_ = env.AddCleanupHook(&QueueHandle::OnEnvCleanup, this);
  }

  ~QueueHandle() override {
    // A handle garbage-collected without close() still had its cleanup hook registered, and the
    // environment ran it at exit on the freed object (heap-use-after-free in OnEnvCleanup, found by
    // ASan in npm run test:sanitize). Deregister it here; when the hook has already run it is empty.
    if (!cleanup_hook_.IsEmpty()) {
      cleanup_hook_.Remove(Env());
      cleanup_hook_ = CleanupHook();
    }
    Shutdown();
  }

 private:
  static void OnEnvCleanup(QueueHandle* self) {
    self->cleanup_hook_ = CleanupHook();  // it has run; removing it again would be an error
    self->Shutdown();
  }

  /** Stops the waiter thread (joining it), releases the TSFN and unmaps. Idempotent. */
  void Shutdown() {
    StopWatcher();
    ring_.Close();
  }

  /** Waiter-thread state. Shared with the TSFN finalizer, which may run after this handle is
   *  gone (a Release() is finalized asynchronously) or before our cleanup hook (at environment
   *  teardown Node finalizes TSFNs itself); whoever comes first joins the thread. */
  struct Watcher {
    std::thread thread;
    std::atomic<bool> stop{false};
    std::atomic<bool> interrupt{false};
    std::atomic<uint32_t> armed{0};
    std::atomic<uint32_t> needed{0};
    std::atomic<uint32_t> local_seq{0};
    std::atomic<int> current_event{-1};
    bool finalized = false;  // JS thread only
    Ring* ring = nullptr;

    /** Makes the thread re-read its armed events now, wherever it is sleeping. */
    void Interrupt() {
      interrupt.store(true);
      local_seq.fetch_add(1);
      FutexWakePrivate(&local_seq);
      int current = current_event.load();
      if (current >= 0) ring->WakeAll(static_cast<Event>(current));
    }
    void Stop() {
      if (!thread.joinable()) return;
      stop.store(true);
      Interrupt();
      thread.join();
    }
  };

  void StopWatcher() {
    if (!watcher_) return;
    watcher_->Stop();
    if (!watcher_->finalized) wake_.Release();
    watcher_.reset();
  }

  static void WatcherLoop(Watcher* w, WakeFn wake) {
    while (!w->stop.load()) {
      uint32_t seq = w->local_seq.load();
      // Clear before reading `armed`: an arm() after this point sets it again and cuts our wait.
      w->interrupt.store(false);
      uint32_t armed = w->armed.load();
      if (armed == 0) {
        FutexWaitPrivate(&w->local_seq, seq, 1000);
        continue;
      }
      bool several = (armed & (armed - 1)) != 0;
      for (int e = 0; e < 3 && !w->stop.load(); e++) {
        if (!(armed & kEventBits[e])) continue;
        w->current_event.store(e);
        uint32_t needed = e == int(Event::kNotFull) ? w->needed.load() : 0;
        int st = w->ring->Wait(static_cast<Event>(e), needed, several ? 20 : 500, &w->interrupt);
        w->current_event.store(-1);
        if (st == shmq::kTimedOut || st == shmq::kCancelled) continue;
        w->armed.fetch_and(~kEventBits[e]);
        wake.NonBlockingCall(new EventReport{uint32_t(e), int32_t(st)});
      }
    }
  }

  bool Guard(Napi::Env env) {
    if (!ring_.is_open()) {
      CodeError(env, "ERR_QUEUE_CLOSED", "the queue handle is closed").ThrowAsJavaScriptException();
      return false;
    }
    if (read_only_) {
      Napi::TypeError::New(env, "an inspect handle only supports stats(), info() and close()")
          .ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  bool GuardOpen(Napi::Env env) {
    if (ring_.is_open()) return true;
    CodeError(env, "ERR_QUEUE_CLOSED", "the queue handle is closed").ThrowAsJavaScriptException();
    return false;
  }

  static int64_t TimeoutArg(const Napi::Value& v) {
    if (!v.IsNumber()) return -1;
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != d) return -1;
    if (d > double(INT64_MAX / 2)) return INT64_MAX / 2;
    return int64_t(d);
  }

  // push(bytes: Uint8Array, timeoutMs: number) -> status
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    // One napi call for type, length and data: this is the hot path of every put.
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      Napi::TypeError::New(env, "push: bytes must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (length > ring_.max_payload()) return Napi::Number::New(env, shmq::kTooLarge);
    int st = ring_.Push(static_cast<const uint8_t*>(data), uint32_t(length), TimeoutArg(info[1]));
    return Napi::Number::New(env, st);
  }

  // pushMany(bytes: Uint8Array, lens: Uint32Array, n: number, timeoutMs) -> pushed; status()
  Napi::Value PushMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    if (!IsTyped(info[0], napi_uint8_array) || !IsTyped(info[1], napi_uint32_array) || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "pushMany: bad arguments").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    Napi::Uint32Array lens = info[1].As<Napi::Uint32Array>();
    uint32_t n = info[2].As<Napi::Number>().Uint32Value();
    if (n > lens.ElementLength()) n = uint32_t(lens.ElementLength());
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += lens[i];
    if (total > bytes.ByteLength()) {
      Napi::RangeError::New(env, "pushMany: lengths exceed the buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t pushed = 0;
    last_status_ = ring_.PushMany(bytes.Data(), lens.Data(), n, TimeoutArg(info[3]), &pushed);
    return Napi::Number::New(env, pushed);
  }

  // setReadBuffer(slab: ArrayBuffer): gets copy into this JS-owned memory (DESIGN.md §7).
  Napi::Value SetReadBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArrayBuffer()) {
      Napi::TypeError::New(env, "setReadBuffer: expected an ArrayBuffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    read_ref_ = Napi::Persistent(ab);
    read_data_ = static_cast<uint8_t*>(ab.Data());
    read_size_ = ab.ByteLength();
    return env.Undefined();
  }

  bool ReadWindow(Napi::Env env, const Napi::Value& offset_arg, uint8_t** out, uint64_t* cap) {
    // The read buffer is JS-owned. Detaching it is prevented and checked in JS (the slabs are
    // untransferable, and a detached one is replaced before the next get): checking here too
    // would cost two napi calls on every get.
    if (read_data_ == nullptr) {
      Napi::RangeError::New(env, "no read buffer").ThrowAsJavaScriptException();
      return false;
    }
    double off = offset_arg.IsNumber() ? offset_arg.As<Napi::Number>().DoubleValue() : -1;
    if (!(off >= 0) || off > double(read_size_)) {
      Napi::RangeError::New(env, "bad read buffer offset").ThrowAsJavaScriptException();
      return false;
    }
    *out = read_data_ + uint64_t(off);
    *cap = read_size_ - uint64_t(off);
    return true;
  }

  // shift(offset, timeoutMs) -> length >= 0, or a negative status
  Napi::Value Shift(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    uint8_t* out;
    uint64_t cap;
    if (!ReadWindow(env, info[0], &out, &cap)) return env.Undefined();
    return Napi::Number::New(env, double(ring_.Shift(out, cap, TimeoutArg(info[1]))));
  }

  /** The arguments shared by shiftMany and peek: (offset, max, lens: Uint32Array). */
  struct BatchArgs {
    uint8_t* out;
    uint64_t cap;
    uint32_t max;
    uint32_t* lens;
  };

  bool ParseBatch(const Napi::CallbackInfo& info, const char* method, BatchArgs* args) {
    Napi::Env env = info.Env();
    if (!Guard(env) || !ReadWindow(env, info[0], &args->out, &args->cap)) return false;
    if (!info[1].IsNumber() || !IsTyped(info[2], napi_uint32_array)) {
      Napi::TypeError::New(env, std::string(method) + ": bad arguments").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint32Array lens = info[2].As<Napi::Uint32Array>();
    args->max = std::min<uint32_t>(info[1].As<Napi::Number>().Uint32Value(), uint32_t(lens.ElementLength()));
    args->lens = lens.Data();
    return true;
  }

  // shiftMany(offset, max, lens: Uint32Array, timeoutMs) -> count or a negative status
  Napi::Value ShiftMany(const Napi::CallbackInfo& info) {
    BatchArgs a;
    if (!ParseBatch(info, "shiftMany", &a)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), double(ring_.ShiftMany(a.out, a.cap, a.max, a.lens, TimeoutArg(info[3]))));
  }

  // peek(offset, max, lens) -> count or a negative status; removes nothing.
  Napi::Value Peek(const Napi::CallbackInfo& info) {
    BatchArgs a;
    if (!ParseBatch(info, "peek", &a)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), double(ring_.Peek(a.out, a.cap, a.max, a.lens)));
  }

  Napi::Value Needed(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(ring_.needed())); }
  Napi::Value LastError(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("message", ring_.last_error());
    o.Set("status", last_status_);
    return o;
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    return Napi::Number::New(env, ring_.Count());
  }

  // shutdownState() -> 0 none, 1 graceful, 2 immediate; unfinished() -> JoinableQueue tasks. One
  // atomic load each, unlike stats(), which locks and checks every attached process.
  Napi::Value ShutdownState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    return Napi::Number::New(env, ring_.ShutdownState());
  }

  Napi::Value Unfinished(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    return Napi::Number::New(env, double(ring_.Unfinished()));
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!GuardOpen(env)) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("capacity", double(ring_.capacity()));
    o.Set("maxsize", ring_.maxsize());
    o.Set("flags", ring_.flags());
    o.Set("codec", ring_.codec());
    o.Set("maxPayload", double(ring_.max_payload()));
    o.Set("created", created_);
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!GuardOpen(env)) return env.Undefined();
    shmq::Snapshot s = ring_.Stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("messages", s.count);
    o.Set("bytesUsed", double(s.tail - s.head));
    o.Set("capacity", double(s.capacity));
    o.Set("maxsize", s.maxsize);
    o.Set("puts", double(s.puts));
    o.Set("gets", double(s.gets));
    o.Set("recoveries", double(s.recoveries));
    o.Set("unfinishedTasks", double(s.unfinished));
    o.Set("shutdown", s.shutdown == 0 ? "none" : s.shutdown == shmq::kShutdownImmediate ? "immediate" : "graceful");
    o.Set("waitingConsumers", s.not_empty_waiters);
    o.Set("waitingProducers", s.not_full_waiters);
    o.Set("layoutVersion", s.version);
    o.Set("creatorUid", s.creator_uid);
    o.Set("creatorPid", s.creator_pid);
    o.Set("createdAt", double(s.created_at_ms));
    o.Set("lastAttachAt", double(s.last_attach_ms));
    o.Set("lastDetachAt", double(s.last_detach_ms));
    o.Set("segmentSize", double(s.total_size));
    o.Set("codec", s.codec);
    o.Set("fileMode", s.file_mode);
    o.Set("fileUid", s.file_uid);
    Napi::Array procs = Napi::Array::New(env, s.attached.size());
    for (size_t i = 0; i < s.attached.size(); i++) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("pid", s.attached[i].pid);
      p.Set("handles", s.attached[i].handles);
      procs.Set(uint32_t(i), p);
    }
    o.Set("attached", procs);
    return o;
  }

  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    return Napi::Number::New(env, ring_.Shutdown(info[0].ToBoolean().Value()));
  }

  Napi::Value TaskDone(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    return Napi::Number::New(env, ring_.TaskDone());
  }

  // wait(event, needed, timeoutMs) -> status: blocks this thread (the sync API's joinSync).
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    uint32_t e = info[0].ToNumber().Uint32Value();
    if (e > 2) {
      Napi::RangeError::New(env, "wait: bad event").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(
        env, ring_.Wait(static_cast<Event>(e), info[1].ToNumber().Uint32Value(), TimeoutArg(info[2]), nullptr));
  }

  // watch(callback(event, status)): starts the waiter thread once; the TSFN starts unreferenced.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    if (watcher_) return env.Undefined();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "watch: expected a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto watcher = std::make_shared<Watcher>();
    watcher->ring = &ring_;
    auto* keep = new std::shared_ptr<Watcher>(watcher);
    wake_ = WakeFn::New(
        env, info[0].As<Napi::Function>(), "shm-queue waiter", 0, 1, static_cast<std::nullptr_t*>(nullptr),
        [](Napi::Env, std::shared_ptr<Watcher>* w, std::nullptr_t*) {
          (*w)->Stop();
          (*w)->finalized = true;
          delete w;
        },
        keep);
    wake_.Unref(env);
    watcher->thread = std::thread(WatcherLoop, watcher.get(), wake_);
    watcher_ = watcher;
    return env.Undefined();
  }

  // arm(event, neededBytes): report `event` once its predicate holds.
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Guard(env)) return env.Undefined();
    uint32_t e = info[0].ToNumber().Uint32Value();
    if (e > 2) return env.Undefined();
    if (!watcher_) return env.Undefined();
    // A new head put may need less room than the one the thread waits for: re-read it then too.
    bool needed_changed =
        e == uint32_t(Event::kNotFull) &&
        watcher_->needed.exchange(info[1].ToNumber().Uint32Value()) != info[1].ToNumber().Uint32Value();
    uint32_t before = watcher_->armed.fetch_or(kEventBits[e]);
    if (!(before & kEventBits[e]) || needed_changed) watcher_->Interrupt();
    return env.Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (watcher_ && !watcher_->finalized) wake_.Ref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (watcher_ && !watcher_->finalized) wake_.Unref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    if (!cleanup_hook_.IsEmpty()) {
      cleanup_hook_.Remove(info.Env());
      cleanup_hook_ = CleanupHook();
    }
    read_ref_.Reset();
    read_data_ = nullptr;
    read_size_ = 0;
    return info.Env().Undefined();
  }

  // testLockAndTear(bytes?: Uint8Array, written?: number) -> status. TEST ONLY: returns holding
  // the queue lock (see Ring::TestLockAndTear), so that a test can SIGKILL a process that provably
  // holds it, optionally mid-copy of a record. Refused unless SHM_QUEUE_TEST_HOOKS=1.
  Napi::Value TestLockAndTear(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const char* hooks = getenv("SHM_QUEUE_TEST_HOOKS");
    if (!hooks || strcmp(hooks, "1") != 0) {
      Napi::Error::New(env, "testLockAndTear is a test hook; set SHM_QUEUE_TEST_HOOKS=1").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!Guard(env)) return env.Undefined();
    const uint8_t* data = nullptr;
    uint32_t len = 0, written = 0;
    if (info[0].IsTypedArray()) {
      Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
      data = bytes.Data();
      len = uint32_t(std::min<size_t>(bytes.ByteLength(), ring_.max_payload()));
      written = std::min<uint32_t>(len, info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : len / 2);
    }
    return Napi::Number::New(env, ring_.TestLockAndTear(data, len, written));
  }

  static Napi::Value UnlinkName(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "unlink: expected a name").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    if (!shmq::ValidName(name)) {
      Napi::TypeError::New(env, "unlink: invalid name").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int err = Ring::Unlink(name);
    if (err != 0) ErrnoError(env, "shm_unlink", err, "/dev/shm" + Ring::ShmPath(name)).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Ring ring_;
  bool created_ = false;
  bool read_only_ = false;
  using CleanupHook = Napi::Env::CleanupHook<void (*)(QueueHandle*), QueueHandle>;
  CleanupHook cleanup_hook_;
  int last_status_ = 0;
  Napi::Reference<Napi::ArrayBuffer> read_ref_;
  uint8_t* read_data_ = nullptr;
  uint64_t read_size_ = 0;

  std::shared_ptr<Watcher> watcher_;
  WakeFn wake_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("QueueHandle", QueueHandle::Define(env));
  Napi::Object status = Napi::Object::New(env);
  status.Set("ok", int(shmq::kOk));
  status.Set("full", int(shmq::kFull));
  status.Set("empty", int(shmq::kEmpty));
  status.Set("tooLarge", int(shmq::kTooLarge));
  status.Set("shutdown", int(shmq::kShutdown));
  status.Set("corrupt", int(shmq::kCorrupt));
  status.Set("needSpace", int(shmq::kNeedSpace));
  status.Set("timedOut", int(shmq::kTimedOut));
  status.Set("cancelled", int(shmq::kCancelled));
  status.Set("taskDoneTooMany", int(shmq::kTaskDoneTooMany));
  exports.Set("status", status);
  exports.Set("layoutVersion", shmq::kLayoutVersion);
  exports.Set("recordHeaderSize", shmq::kRecordHeaderSize);
  return exports;
}

}  // namespace

NODE_API_MODULE(shm_queue, Init)
