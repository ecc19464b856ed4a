#include "js_errors.h"

#include <string.h>

#include "../names.h"

namespace shmq_binding {

std::string ErrnoCode(int err) {
  const char* code = nullptr;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  code = strerrordesc_np(err) ? strerrorname_np(err) : nullptr;
#endif
  return code ? code : ("E" + std::to_string(err));
}

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& path) {
  std::string code = ErrnoCode(err);
  std::string msg = code + ": " + strerror(err) + ", " + syscall + " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", syscall);
  e.Set("path", path);
  return e;
}

Napi::Error CodeError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", code);
  return e;
}

Napi::Error OpenError(Napi::Env env, const shmq::OpenResult& r, const std::string& name) {
  if (r.status == shmq::kSystemError) {
    Napi::Error e = ErrnoError(env, r.sys.syscall, r.sys.err, shmq::ShmPath(name));
    if (!r.message.empty()) e.Set("message", r.message);
    return e;
  }
  if (r.status == shmq::kUntrustedOwner) {
    Napi::Error e = CodeError(env, "ERR_QUEUE_UNTRUSTED_OWNER", r.message);
    e.Set("ownerUid", Napi::Number::New(env, r.owner_uid));
    if (r.owner_name.empty()) {
      e.Set("ownerName", env.Null());
    } else {
      e.Set("ownerName", r.owner_name);
    }
    e.Set("path", shmq::ShmPath(name));
    return e;
  }
  Napi::Error e =
      CodeError(env, r.status == shmq::kCorrupt ? "ERR_QUEUE_CORRUPT" : "ERR_QUEUE_INCOMPATIBLE", r.message);
  e.Set("reason", shmq::ReasonName(r.reason));
  return e;
}

}  // namespace shmq_binding
