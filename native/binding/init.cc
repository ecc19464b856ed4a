// shm-queue N-API binding: module init and the exports (see the package's addon contract):
// QueueHandle, status, layoutVersion, limits, queueFlags, isValidName, isValidCodecName, probe,
// lookupUser.
#include <string>

#include "../layout.h"
#include "../names.h"
#include "../segment.h"
#include "../status.h"
#include "../users.h"
#include "js_errors.h"
#include "napi.h"
#include "queue_handle.h"

namespace shmq_binding {
namespace {

Napi::Value IsValidName(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), info[0].IsString() && shmq::ValidName(info[0].As<Napi::String>().Utf8Value()));
}

Napi::Value IsValidCodecName(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(),
                            info[0].IsString() && shmq::ValidCodecName(info[0].As<Napi::String>().Utf8Value()));
}

// probe(name) -> { kind, message, uid?, mode?, ... }: never blocks, never attaches, never maps.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !shmq::ValidName(info[0].As<Napi::String>().Utf8Value())) {
    Napi::TypeError::New(env, "probe: invalid name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  using K = shmq::ProbeResult::Kind;
  shmq::ProbeResult r = shmq::ProbeSegment(info[0].As<Napi::String>().Utf8Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", shmq::ProbeKindName(r.kind));
  o.Set("message", r.message);
  if (r.has_stat) {
    o.Set("uid", r.uid);
    o.Set("mode", r.mode);
  }
  switch (r.kind) {
    case K::kQueue:
      o.Set("layoutVersion", r.layout_version);
      o.Set("joinable", r.joinable);
      o.Set("codec", r.codec);
      if (r.in_use < 0) {
        o.Set("inUse", env.Null());
      } else {
        o.Set("inUse", r.in_use == 1);
      }
      break;
    case K::kIncompatible:
      o.Set("layoutVersion", r.layout_version);
      break;
    case K::kNotRegular:
      o.Set("fileType", r.file_type);
      break;
    case K::kUnfinished:
      o.Set("ageMs", double(r.age_ms));
      break;
    case K::kCorrupt:
      o.Set("detail", r.detail);
      break;
    case K::kPermissionDenied:
      o.Set("code", r.sys.err == EPERM ? "EPERM" : "EACCES");
      break;
    case K::kError:
      o.Set("code", ErrnoCode(r.sys.err));
      o.Set("errno", -r.sys.err);
      o.Set("syscall", r.sys.syscall);
      break;
    default:
      break;
  }
  return o;
}

// lookupUser(name) -> uid | null (getpwnam_r), for the `owner` option.
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "lookupUser: expected a user name").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uid_t uid = 0;
  if (!shmq::LookupUser(info[0].As<Napi::String>().Utf8Value(), &uid)) return env.Null();
  return Napi::Number::New(env, double(uid));
}

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
  status.Set("taskDoneTooMany", int(shmq::kTaskDoneTooMany));
  status.Set("busy", int(shmq::kBusy));
  status.Set("lockStalled", int(shmq::kLockStalled));
  exports.Set("status", status);
  exports.Set("layoutVersion", shmq::kLayoutVersion);
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("minCapacity", double(shmq::kMinCapacity));
  limits.Set("maxCapacity", double(shmq::kMaxCapacity));
  limits.Set("maxMaxsize", double(shmq::kMaxMaxsize));
  limits.Set("maxNameLength", double(shmq::kMaxNameLength));
  limits.Set("maxCodecNameLength", double(shmq::kMaxCodecNameLength));
  exports.Set("limits", limits);
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("joinable", shmq::kQueueFlagJoinable);
  exports.Set("queueFlags", flags);
  exports.Set("isValidName", Napi::Function::New(env, IsValidName, "isValidName"));
  exports.Set("isValidCodecName", Napi::Function::New(env, IsValidCodecName, "isValidCodecName"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser, "lookupUser"));
  return exports;
}

}  // namespace
}  // namespace shmq_binding

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return shmq_binding::Init(env, exports);
}

NODE_API_MODULE(shm_queue, InitModule)
