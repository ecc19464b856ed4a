/**
 * The native layer as the rest of the package sees it: the loaded addon and the facts it is the
 * single source of (status codes, queue flags, capacity and name bounds, the name rules, the
 * segment probe), plus the record arithmetic those facts imply. Internal: not exported.
 *
 * @module
 */
import { loadAddon } from './loader.js';
import type { NativeAddon } from './types.js';

export { NativeLoadError, NATIVE_LOAD_ERROR_CODE } from './loader.js';
export * from './types.js';

/** The loaded addon (loaded once, synchronously, at import time). */
export const addon: NativeAddon = loadAddon();

/** Native status codes. */
export const status = addon.status;
/** Capacity, maxsize and name bounds of the native core. */
export const limits = addon.limits;
/** Bits of a segment's flags word. */
export const queueFlags = addon.queueFlags;

/**
 * Rounds up to a multiple of 8, as records are padded in the ring. Arithmetic, not `& ~7`: sizes
 * may exceed 2^31, where a 32-bit bitwise operation turns them negative.
 */
export const align8 = (n: number): number => n + 7 - ((n + 7) % 8);
