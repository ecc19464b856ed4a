#include "queue_handle.h"

#include <string.h>

#include <algorithm>
#include <climits>
#include <string>

#include "../names.h"
#include "js_errors.h"

namespace shmq_binding {

using shmq::Event;

void CallJs(Napi::Env env, Napi::Function callback, std::nullptr_t*, EventReport* report) {
  // `report` belongs to the table of ReportOf(): nothing to free.
  if (env == nullptr || callback.IsEmpty()) return;  // environment shutting down
  callback.Call({Napi::Number::New(env, report->event), Napi::Number::New(env, report->status)});
}

/** Is `v` a typed array of exactly this element type? The binding reads lengths and writes
 *  results through raw pointers sized by element count, so a Uint8Array passed where a
 *  Uint32Array is expected must be refused, not reinterpreted. */
static bool IsTyped(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

Napi::Function QueueHandle::Define(Napi::Env env) {
  return DefineClass(env, "QueueHandle",
                     {
                         InstanceMethod("push", &QueueHandle::Push),
                         InstanceMethod("pushMany", &QueueHandle::PushMany),
                         InstanceMethod("setReadBuffer", &QueueHandle::SetReadBuffer),
                         InstanceMethod("shift", &QueueHandle::Shift),
                         InstanceMethod("shiftInto", &QueueHandle::ShiftInto),
                         InstanceMethod("shiftMany", &QueueHandle::ShiftMany),
                         InstanceMethod("peek", &QueueHandle::Peek),
                         InstanceMethod("needed", &QueueHandle::Needed),
                         InstanceMethod("lastError", &QueueHandle::LastError),
                         InstanceMethod("count", &QueueHandle::Count),
                         InstanceMethod("shutdownState", &QueueHandle::ShutdownState),
                         InstanceMethod("unfinished", &QueueHandle::Unfinished),
                         InstanceMethod("stats", &QueueHandle::Stats),
                         InstanceMethod("info", &QueueHandle::Info),
                         InstanceMethod("shutdown", &QueueHandle::ShutdownQueue),
                         InstanceMethod("taskDone", &QueueHandle::TaskDone),
                         InstanceMethod("wait", &QueueHandle::Wait),
                         InstanceMethod("watch", &QueueHandle::Watch),
                         InstanceMethod("arm", &QueueHandle::Arm),
                         InstanceMethod("ref", &QueueHandle::Ref),
                         InstanceMethod("unref", &QueueHandle::Unref),
                         InstanceMethod("close", &QueueHandle::Close),
#ifdef SHM_QUEUE_TEST_HOOKS
                         InstanceMethod("testLockAndTear", &QueueHandle::TestLockAndTear),
                         InstanceMethod("testHoldInCopy", &QueueHandle::TestHoldInCopy),
                         InstanceMethod("testHoldLock", &QueueHandle::TestHoldLock),
#endif
                         StaticMethod("unlink", &QueueHandle::UnlinkName),
                     });
}

QueueHandle::QueueHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<QueueHandle>(info) {
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
  // Optional 8th argument: the uid of another user whose segments this handle may open (-1: none).
  if (info.Length() > 7 && info[7].IsNumber()) opts.trusted_owner = info[7].As<Napi::Number>().Int64Value();
  if (opts.capacity < shmq::kMinCapacity || opts.capacity > shmq::kMaxCapacity || !shmq::ValidCodecName(opts.codec)) {
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
  shmq::OpenResult r = queue_.Open(name, om, opts);
  if (r.status != shmq::kOk) {
    OpenError(env, r, name).ThrowAsJavaScriptException();
    return;
  }
  created_ = r.created;
  name_ = name;
  cleanup_hook_ = env.AddCleanupHook(&QueueHandle::OnEnvCleanup, this);
  DefineFastMethods(env, info.This().As<Napi::Object>());
}

template <Napi::Value (QueueHandle::*Method)(const Napi::CallbackInfo&)>
napi_value QueueHandle::FastCall(napi_env env, napi_callback_info cbinfo) {
  Napi::CallbackInfo info(env, cbinfo);
  QueueHandle* self = static_cast<FastSlot*>(info.Data())->self;
  if (self == nullptr) {  // the handle was collected while a copy of its function lived on
    CodeError(info.Env(), "ERR_QUEUE_CLOSED", "the queue handle is closed").ThrowAsJavaScriptException();
    return nullptr;
  }
  return (self->*Method)(info);
}

void QueueHandle::ReleaseSlot(napi_env, void* slot, void*) {
  auto* s = static_cast<FastSlot*>(slot);
  if (--s->refs == 0) delete s;
}

void QueueHandle::DefineFastMethods(Napi::Env env, Napi::Object self) {
  struct Method {
    const char* name;
    napi_callback callback;
  };
  static constexpr Method kMethods[] = {
      {"push", &FastCall<&QueueHandle::Push>},           {"pushMany", &FastCall<&QueueHandle::PushMany>},
      {"shift", &FastCall<&QueueHandle::Shift>},         {"shiftInto", &FastCall<&QueueHandle::ShiftInto>},
      {"shiftMany", &FastCall<&QueueHandle::ShiftMany>},
  };
  fast_ = new FastSlot{this, 1};
  for (const Method& m : kMethods) {
    // On any failure the prototype's method (found through napi_unwrap) stays in use: slower, the same.
    napi_value fn;
    if (napi_create_function(env, m.name, NAPI_AUTO_LENGTH, m.callback, fast_, &fn) != napi_ok) break;
    if (napi_add_finalizer(env, fn, fast_, &QueueHandle::ReleaseSlot, nullptr, nullptr) != napi_ok) break;
    fast_->refs++;
    napi_property_descriptor d{m.name, nullptr, nullptr, nullptr, nullptr, fn, napi_default, nullptr};
    if (napi_define_properties(env, self, 1, &d) != napi_ok) break;
  }
  if (env.IsExceptionPending()) env.GetAndClearPendingException();
}

QueueHandle::~QueueHandle() {
  // A handle garbage-collected without close() still had its cleanup hook registered, and the
  // environment ran it at exit on the freed object (heap-use-after-free in OnEnvCleanup, found by
  // ASan in npm run test:sanitize). Deregister it here; when the hook has already run it is empty.
  if (!cleanup_hook_.IsEmpty()) {
    cleanup_hook_.Remove(Env());
    cleanup_hook_ = CleanupHook();
  }
  Shutdown();
  if (fast_ != nullptr) {
    fast_->self = nullptr;
    ReleaseSlot(nullptr, fast_, nullptr);
  }
}

void QueueHandle::OnEnvCleanup(QueueHandle* self) {
  self->cleanup_hook_ = CleanupHook();  // it has run; removing it again would be an error
  self->Shutdown();
}

void QueueHandle::Shutdown() {
  StopWatcher();
  queue_.Close();
}

void QueueHandle::StopWatcher() {
  if (!watcher_) return;
  watcher_->Stop();
  if (!watcher_->finalized) wake_.Release();
  watcher_.reset();
}

bool QueueHandle::Guard(Napi::Env env) {
  if (!queue_.is_open()) {
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

bool QueueHandle::GuardOpen(Napi::Env env) {
  if (queue_.is_open()) return true;
  CodeError(env, "ERR_QUEUE_CLOSED", "the queue handle is closed").ThrowAsJavaScriptException();
  return false;
}

namespace {

int64_t TimeoutArg(const Napi::Value& v) {
  double d;
  // One napi call: napi_number_expected when it is not a number.
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) return -1;
  if (d < 0 || d != d) return -1;
  if (d > double(INT64_MAX / 2)) return INT64_MAX / 2;
  return int64_t(d);
}

/** A Uint8Array argument's data and length, with one napi call for type, length and data (this
 *  is the hot path of every put); false after throwing a TypeError naming `method`. */
inline bool BytesArg(Napi::Env env, Napi::Value value, const char* method, void** data, size_t* length) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, data, nullptr, nullptr) == napi_ok &&
      type == napi_uint8_array) {
    return true;
  }
  Napi::TypeError::New(env, std::string(method) + ": bytes must be a Uint8Array").ThrowAsJavaScriptException();
  return false;
}

}  // namespace

// push(bytes: Uint8Array, timeoutMs: number) -> status
Napi::Value QueueHandle::Push(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  void* data = nullptr;
  size_t length = 0;
  if (!BytesArg(env, info[0], "push", &data, &length)) return env.Undefined();
  if (length > queue_.max_payload()) return Napi::Number::New(env, shmq::kTooLarge);
  int st = queue_.Push(static_cast<const uint8_t*>(data), uint32_t(length), TimeoutArg(info[1]));
  return Napi::Number::New(env, st);
}

// pushMany(bytes: Uint8Array, lens: Uint32Array, n: number, timeoutMs) -> pushed; status()
Napi::Value QueueHandle::PushMany(const Napi::CallbackInfo& info) {
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
  last_status_ = queue_.PushMany(bytes.Data(), lens.Data(), n, TimeoutArg(info[3]), &pushed);
  return Napi::Number::New(env, pushed);
}

// setReadBuffer(slab: ArrayBuffer): gets copy into this JS-owned memory (DESIGN.md §7).
Napi::Value QueueHandle::SetReadBuffer(const Napi::CallbackInfo& info) {
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

bool QueueHandle::ReadWindow(Napi::Env env, const Napi::Value& offset_arg, uint8_t** out, uint64_t* cap) {
  // The read buffer is JS-owned. Detaching it is prevented and checked in JS (the slabs are
  // untransferable, and a detached one is replaced before the next get): checking here too
  // would cost two napi calls on every get.
  if (read_data_ == nullptr) {
    Napi::RangeError::New(env, "no read buffer").ThrowAsJavaScriptException();
    return false;
  }
  double off;
  if (napi_get_value_double(env, offset_arg, &off) != napi_ok) off = -1;
  if (!(off >= 0) || off > double(read_size_)) {
    Napi::RangeError::New(env, "bad read buffer offset").ThrowAsJavaScriptException();
    return false;
  }
  *out = read_data_ + uint64_t(off);
  *cap = read_size_ - uint64_t(off);
  return true;
}

// shift(offset, timeoutMs) -> length >= 0, or a negative status
Napi::Value QueueHandle::Shift(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  uint8_t* out;
  uint64_t cap;
  if (!ReadWindow(env, info[0], &out, &cap)) return env.Undefined();
  return Napi::Number::New(env, double(queue_.Shift(out, cap, TimeoutArg(info[1]))));
}

// shiftInto(bytes: Uint8Array, timeoutMs) -> length >= 0, or a negative status: the next message
// copied straight into the caller's buffer (getSync({ into })), no slab. kNeedSpace (nothing taken,
// needed() says how much) when it does not fit.
Napi::Value QueueHandle::ShiftInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  void* data = nullptr;
  size_t length = 0;
  if (!BytesArg(env, info[0], "shiftInto", &data, &length)) return env.Undefined();
  return Napi::Number::New(env, double(queue_.Shift(static_cast<uint8_t*>(data), length, TimeoutArg(info[1]))));
}

bool QueueHandle::ParseBatch(const Napi::CallbackInfo& info, const char* method, BatchArgs* args) {
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
Napi::Value QueueHandle::ShiftMany(const Napi::CallbackInfo& info) {
  BatchArgs a;
  if (!ParseBatch(info, "shiftMany", &a)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), double(queue_.ShiftMany(a.out, a.cap, a.max, a.lens, TimeoutArg(info[3]))));
}

// peek(offset, max, lens) -> count or a negative status; removes nothing.
Napi::Value QueueHandle::Peek(const Napi::CallbackInfo& info) {
  BatchArgs a;
  if (!ParseBatch(info, "peek", &a)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), double(queue_.Peek(a.out, a.cap, a.max, a.lens)));
}

Napi::Value QueueHandle::Needed(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(queue_.needed()));
}
Napi::Value QueueHandle::LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("message", queue_.last_error());
  o.Set("status", last_status_);
  o.Set("holderPid", queue_.holder_pid());
  return o;
}

Napi::Value QueueHandle::Count(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  return Napi::Number::New(env, queue_.Count());
}

// shutdownState() -> 0 none, 1 graceful, 2 immediate; unfinished() -> JoinableQueue tasks. One
// atomic load each, unlike stats(), which locks and checks every attached process.
Napi::Value QueueHandle::ShutdownState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  return Napi::Number::New(env, queue_.ShutdownState());
}

Napi::Value QueueHandle::Unfinished(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  return Napi::Number::New(env, double(queue_.Unfinished()));
}

Napi::Value QueueHandle::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!GuardOpen(env)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("capacity", double(queue_.capacity()));
  o.Set("maxsize", queue_.maxsize());
  o.Set("flags", queue_.flags());
  o.Set("codec", queue_.codec());
  o.Set("maxPayload", double(queue_.max_payload()));
  o.Set("created", created_);
  return o;
}

Napi::Value QueueHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!GuardOpen(env)) return env.Undefined();
  shmq::Snapshot s = queue_.Stats();
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
  if (s.in_use < 0) {
    o.Set("inUse", env.Null());
  } else {
    o.Set("inUse", s.in_use == 1);
  }
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

Napi::Value QueueHandle::ShutdownQueue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  return Napi::Number::New(env, queue_.Shutdown(info[0].ToBoolean().Value()));
}

Napi::Value QueueHandle::TaskDone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  return Napi::Number::New(env, queue_.TaskDone());
}

// wait(event, needed, timeoutMs) -> status: blocks this thread (the sync API's joinSync).
Napi::Value QueueHandle::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  uint32_t e = info[0].ToNumber().Uint32Value();
  if (e > 2) {
    Napi::RangeError::New(env, "wait: bad event").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(
      env, queue_.Wait(static_cast<Event>(e), info[1].ToNumber().Uint32Value(), TimeoutArg(info[2]), nullptr));
}

// watch(callback(event, status)): starts the waiter thread once; the TSFN starts unreferenced.
Napi::Value QueueHandle::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  if (watcher_) return env.Undefined();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(env, "watch: expected a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto watcher = std::make_shared<Watcher>();
  watcher->queue = &queue_;
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
  int err = watcher->Start(wake_);
  if (err != 0) {
    // No thread (RLIMIT_NPROC, a pids cgroup, no memory for a stack): the operation that needed
    // it fails with a system error; the handle stays usable, and a later watch() tries again.
    wake_.Release();
    ErrnoError(env, "pthread_create", err, shmq::ShmPath(name_)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  watcher_ = watcher;
  return env.Undefined();
}

// arm(event, neededBytes): report `event` once its predicate holds.
Napi::Value QueueHandle::Arm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Guard(env)) return env.Undefined();
  uint32_t e = info[0].ToNumber().Uint32Value();
  if (e > 2) return env.Undefined();
  if (!watcher_) return env.Undefined();
  // A new head put may need less room than the one the thread waits for: re-read it then too.
  bool needed_changed = e == uint32_t(Event::kNotFull) &&
                        watcher_->needed.exchange(info[1].ToNumber().Uint32Value()) != info[1].ToNumber().Uint32Value();
  uint32_t before = watcher_->armed.fetch_or(kEventBits[e]);
  if (!(before & kEventBits[e]) || needed_changed) watcher_->Interrupt();
  return env.Undefined();
}

Napi::Value QueueHandle::Ref(const Napi::CallbackInfo& info) {
  if (watcher_ && !watcher_->finalized) wake_.Ref(info.Env());
  return info.Env().Undefined();
}
Napi::Value QueueHandle::Unref(const Napi::CallbackInfo& info) {
  if (watcher_ && !watcher_->finalized) wake_.Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value QueueHandle::Close(const Napi::CallbackInfo& info) {
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

#ifdef SHM_QUEUE_TEST_HOOKS
/** The test hooks also need SHM_QUEUE_TEST_HOOKS=1 at run time. */
bool QueueHandle::HooksEnabled(Napi::Env env) {
  const char* hooks = getenv("SHM_QUEUE_TEST_HOOKS");
  if (!hooks || strcmp(hooks, "1") != 0) {
    Napi::Error::New(env, "this is a test hook; set SHM_QUEUE_TEST_HOOKS=1").ThrowAsJavaScriptException();
    return false;
  }
  return Guard(env);
}

// testLockAndTear(bytes?: Uint8Array, written?: number) -> status. TEST ONLY: returns holding the
// queue lock (see shmq::Queue::TestLockAndTear), so that a test can SIGKILL a process that provably
// holds it, optionally mid-copy of a record.
Napi::Value QueueHandle::TestLockAndTear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!HooksEnabled(env)) return env.Undefined();
  const uint8_t* data = nullptr;
  uint32_t len = 0, written = 0;
  if (info[0].IsTypedArray()) {
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    data = bytes.Data();
    len = uint32_t(std::min<size_t>(bytes.ByteLength(), queue_.max_payload()));
    written = std::min<uint32_t>(len, info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : len / 2);
  }
  return Napi::Number::New(env, queue_.TestLockAndTear(data, len, written));
}

// testHoldLock(ms) -> status. TEST ONLY: holds the queue lock for `ms`, then releases it (SIGSTOP
// the process meanwhile to get a stopped lock holder that can be continued).
Napi::Value QueueHandle::TestHoldLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!HooksEnabled(env)) return env.Undefined();
  return Napi::Number::New(env, queue_.TestHoldLock(info[0].IsNumber() ? info[0].As<Napi::Number>().Int64Value() : 0));
}
#endif

#ifdef SHM_QUEUE_TEST_HOOKS
// testHoldInCopy(bytes?: Uint8Array, written?: number) -> status (only on failure). TEST ONLY: a put
// of `bytes` (or, without bytes, a get) that stops for good inside its unlocked copy after
// `written` bytes, its record BUSY (CLAIMED) and the lock free; see shmq::Queue::TestHoldInCopy.
// Refused unless SHM_QUEUE_TEST_HOOKS=1.
Napi::Value QueueHandle::TestHoldInCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!HooksEnabled(env)) return env.Undefined();
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  if (info[0].IsTypedArray()) {
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    data = bytes.Data();
    len = uint32_t(std::min<size_t>(bytes.ByteLength(), queue_.max_payload()));
  }
  uint32_t written = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : UINT32_MAX / 2;
  if (data && written > len) written = len / 2;
  return Napi::Number::New(env, queue_.TestHoldInCopy(data, len, written));
}
#endif

Napi::Value QueueHandle::UnlinkName(const Napi::CallbackInfo& info) {
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
  int err = shmq::Queue::Unlink(name);
  if (err != 0) ErrnoError(env, "shm_unlink", err, shmq::ShmPath(name)).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace shmq_binding
