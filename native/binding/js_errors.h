// JS error helpers of the binding: Node-style system errors and errors with a stable `code`.
#pragma once

#include <string>

#include "../segment.h"
#include "napi.h"

namespace shmq_binding {

/** An Error shaped like Node's SystemError: code ('ENOENT'), errno (negative), syscall, path. */
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& path);
/** An Error with a stable `code` property. */
Napi::Error CodeError(Napi::Env env, const char* code, const std::string& msg);
/** The error for a failed open: a system error (with a message of its own for ENOSPC at create),
 *  ERR_QUEUE_UNTRUSTED_OWNER (ownerUid, ownerName), or ERR_QUEUE_CORRUPT / ERR_QUEUE_INCOMPATIBLE
 *  with its `reason` ('not-a-queue', 'version', ...), so that JS maps (code, reason), never messages. */
Napi::Error OpenError(Napi::Env env, const shmq::OpenResult& r, const std::string& name);
/** The Node-style code of an errno ('ENOENT'; 'E<n>' when libc does not know it). */
std::string ErrnoCode(int err);

}  // namespace shmq_binding
