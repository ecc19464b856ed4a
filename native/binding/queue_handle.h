// QueueHandle: the ObjectWrap over shmq::Queue that JS drives. It checks argument *types* only (the
// TypeScript layer validates values and owns the public contract).
//
// Threading rules: every method runs on the JS thread of the environment that created the handle.
// Close(), the destructor and the environment cleanup hook stop and join the waiter thread before
// the queue is unmapped.
#pragma once

#include <memory>
#include <string>

#include "../queue.h"
#include "napi.h"
#include "waiter.h"

namespace shmq_binding {

/**
 * One open queue. JS arms events with `arm(event, needed)`; the waiter thread waits for the first
 * armed event whose predicate holds, disarms it and reports it once through the TSFN. JS then
 * retries its pending operations and re-arms if any remain, so at most one report per event is
 * in flight and a lost race with another process simply re-arms.
 */
class QueueHandle : public Napi::ObjectWrap<QueueHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new QueueHandle(mode, name, capacity, maxsize, flags, codec, fileMode[, trustedOwnerUid])
  explicit QueueHandle(const Napi::CallbackInfo& info);
  ~QueueHandle() override;

 private:
  static void OnEnvCleanup(QueueHandle* self);
  /** Stops the waiter thread (joining it), releases the TSFN and unmaps. Idempotent. */
  void Shutdown();
  void StopWatcher();
  bool Guard(Napi::Env env);
  bool GuardOpen(Napi::Env env);
  bool ReadWindow(Napi::Env env, const Napi::Value& offset_arg, uint8_t** out, uint64_t* cap);

  /** The arguments shared by shiftMany and peek: (offset, max, lens: Uint32Array). */
  struct BatchArgs {
    uint8_t* out;
    uint64_t cap;
    uint32_t max;
    uint32_t* lens;
  };
  bool ParseBatch(const Napi::CallbackInfo& info, const char* method, BatchArgs* args);

  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value PushMany(const Napi::CallbackInfo& info);
  Napi::Value SetReadBuffer(const Napi::CallbackInfo& info);
  Napi::Value Shift(const Napi::CallbackInfo& info);
  Napi::Value ShiftInto(const Napi::CallbackInfo& info);
  Napi::Value ShiftMany(const Napi::CallbackInfo& info);
  Napi::Value Peek(const Napi::CallbackInfo& info);
  Napi::Value Needed(const Napi::CallbackInfo& info);
  Napi::Value LastError(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value ShutdownState(const Napi::CallbackInfo& info);
  Napi::Value Unfinished(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ShutdownQueue(const Napi::CallbackInfo& info);
  Napi::Value TaskDone(const Napi::CallbackInfo& info);
  Napi::Value Wait(const Napi::CallbackInfo& info);
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value Arm(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
#ifdef SHM_QUEUE_TEST_HOOKS
  Napi::Value TestLockAndTear(const Napi::CallbackInfo& info);
  Napi::Value TestHoldInCopy(const Napi::CallbackInfo& info);
  Napi::Value TestHoldLock(const Napi::CallbackInfo& info);
  bool HooksEnabled(Napi::Env env);
#endif
  static Napi::Value UnlinkName(const Napi::CallbackInfo& info);

  /** The hot methods (push, pushMany, shift, shiftInto, shiftMany) are also own properties of each
   *  handle: functions whose callback data is this slot, so that a call finds its handle without
   *  napi_unwrap (a private-symbol lookup through V8's slow property path, ~45 ns of a put's or
   *  get's ~170 ns of binding and core work in perf). The handle and each of those functions hold a
   *  reference; the last one to be collected frees the slot. `self` is null once the handle is gone. */
  struct FastSlot {
    QueueHandle* self;
    int refs;
  };
  void DefineFastMethods(Napi::Env env, Napi::Object self);
  static void ReleaseSlot(napi_env env, void* slot, void* hint);
  template <Napi::Value (QueueHandle::*Method)(const Napi::CallbackInfo&)>
  static napi_value FastCall(napi_env env, napi_callback_info cbinfo);
  FastSlot* fast_ = nullptr;

  shmq::Queue queue_;
  bool created_ = false;
  std::string name_;
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

}  // namespace shmq_binding
