/**
 * The wait options of the sync and promise methods, parsed once per call.
 *
 * @module
 */
import type { SyncWaitOptions, WaitOptions } from '../types.js';
import { validateOptions, validateSignal, validateTimeout } from '../validate.js';

const WAIT_KEYS = ['timeout', 'signal'] as const;
const SYNC_WAIT_KEYS = ['timeout'] as const;
const GET_SYNC_KEYS = ['timeout', 'into'] as const;

/** Parsed options of a promise call made without options: wait forever, no signal. */
const WAIT_FOREVER: Readonly<{ timeout: number; signal: AbortSignal | undefined }> = Object.freeze({
  timeout: -1,
  signal: undefined,
});

/** The native timeout (ms, -1 forever) of a sync call's options (`getSync` also takes `into`). */
export function syncTimeout(options: SyncWaitOptions | undefined, get = false): number {
  if (options === undefined) return -1;
  const opts = validateOptions(options, 'options', get ? GET_SYNC_KEYS : SYNC_WAIT_KEYS);
  return validateTimeout(opts['timeout']);
}

/** The native timeout and the signal of a promise call's options. */
export function asyncOptions(
  options: WaitOptions | undefined,
): Readonly<{ timeout: number; signal: AbortSignal | undefined }> {
  if (options === undefined) return WAIT_FOREVER; // no allocation on the common call
  const opts = validateOptions(options, 'options', WAIT_KEYS);
  return { timeout: validateTimeout(opts['timeout']), signal: validateSignal(opts['signal']) };
}
