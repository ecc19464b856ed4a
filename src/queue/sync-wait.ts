/**
 * Synchronous waits in slices. A blocking native call never waits longer than
 * {@link SYNC_SLICE_MS} at once; between slices JavaScript runs, so `worker.terminate()` and
 * `process.exit()` are honoured even while a sync call waits forever.
 *
 * The hot methods make their first native call themselves (no closure, no clock read: V8 would
 * allocate a context on every call, waiting or not) and come here only when it returned
 * "waiting" and more time is left.
 *
 * @module
 */
import type { NativeHandle } from '../native/index.js';
import { status as S } from '../native/index.js';

/** Longest a single native wait may block, in ms. */
export const SYNC_SLICE_MS = 250;

/** The first native slice of a blocking call: the whole wait when it is no longer than a slice. */
export const firstSlice = (timeout: number): number =>
  timeout >= 0 && timeout <= SYNC_SLICE_MS ? timeout : SYNC_SLICE_MS;

/**
 * Goes on with a blocking native call in slices of at most SYNC_SLICE_MS, after a first slice
 * (begun at `started`) returned `waiting`, until it returns something else or `timeout` (ms,
 * < 0 forever) has passed since `started`.
 */
function continueSliced(timeout: number, started: number, call: (sliceMs: number) => number, waiting: number): number {
  const deadline = timeout < 0 ? Infinity : started + timeout;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return waiting;
    const r = call(left === Infinity ? SYNC_SLICE_MS : Math.min(SYNC_SLICE_MS, Math.ceil(left)));
    if (r !== waiting) return r;
  }
}

/** Runs a blocking native call in slices, first slice included (for calls off the hot path). */
export function sliced(timeout: number, call: (sliceMs: number) => number, waiting: number): number {
  const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
  const r = call(firstSlice(timeout));
  return r === waiting && timeout !== firstSlice(timeout) ? continueSliced(timeout, started, call, waiting) : r;
}

/** The waiting half of a blocking push. */
export function pushWaiting(handle: NativeHandle, bytes: Uint8Array, timeout: number, started: number): number {
  return continueSliced(timeout, started, (slice) => handle.push(bytes, slice), S.full);
}

/** The waiting half of a blocking shift. */
export function shiftWaiting(handle: NativeHandle, offset: number, timeout: number, started: number): number {
  return continueSliced(timeout, started, (slice) => handle.shift(offset, slice), S.empty);
}

/** The waiting half of a blocking shiftMany. */
export function shiftManyWaiting(
  handle: NativeHandle,
  offset: number,
  max: number,
  lens: Uint32Array,
  timeout: number,
  started: number,
): number {
  return continueSliced(timeout, started, (slice) => handle.shiftMany(offset, max, lens, slice), S.empty);
}
