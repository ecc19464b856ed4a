/**
 * Loads the native addon: a prebuilt binary from `prebuilds/` when one fits this platform, else
 * the local build in `build/Release` (node-gyp-build's search order). Internal: not exported.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Status codes returned by native operations (negative) — see native/ring.h `Status`. */
export interface NativeStatus {
  readonly ok: number;
  readonly full: number;
  readonly empty: number;
  readonly tooLarge: number;
  readonly shutdown: number;
  readonly corrupt: number;
  readonly needSpace: number;
  readonly timedOut: number;
  readonly cancelled: number;
  readonly taskDoneTooMany: number;
}

/** Events the waiter thread reports; the values match native `shmq::Event`. */
export const enum NativeEvent {
  NotEmpty = 0,
  NotFull = 1,
  AllDone = 2,
}

/** Open modes of the native constructor. */
export const enum OpenMode {
  Create = 0,
  Open = 1,
  CreateOrOpen = 2,
  /** Read-only, not attached: only stats(), info() and close() work. */
  Inspect = 3,
}

export interface NativeInfo {
  capacity: number;
  maxsize: number;
  flags: number;
  codec: string;
  maxPayload: number;
  created: boolean;
}

export interface NativeStats {
  messages: number;
  bytesUsed: number;
  capacity: number;
  maxsize: number;
  puts: number;
  gets: number;
  recoveries: number;
  unfinishedTasks: number;
  shutdown: 'none' | 'graceful' | 'immediate';
  waitingConsumers: number;
  waitingProducers: number;
  layoutVersion: number;
  creatorUid: number;
  creatorPid: number;
  createdAt: number;
  lastAttachAt: number;
  lastDetachAt: number;
  segmentSize: number;
  codec: string;
  fileMode: number;
  fileUid: number;
  attached: { pid: number; handles: number }[];
}

/** The ObjectWrap in native/addon.cc. Timeouts are ms; a negative timeout waits forever. */
export interface NativeHandle {
  push(bytes: Uint8Array, timeoutMs: number): number;
  pushMany(bytes: Uint8Array, lens: Uint32Array, n: number, timeoutMs: number): number;
  setReadBuffer(slab: ArrayBuffer): void;
  shift(offset: number, timeoutMs: number): number;
  shiftMany(offset: number, max: number, lens: Uint32Array, timeoutMs: number): number;
  peek(offset: number, max: number, lens: Uint32Array): number;
  needed(): number;
  lastError(): { message: string; status: number };
  count(): number;
  stats(): NativeStats;
  info(): NativeInfo;
  shutdown(immediate: boolean): number;
  taskDone(): number;
  wait(event: NativeEvent, needed: number, timeoutMs: number): number;
  watch(callback: (event: NativeEvent, status: number) => void): void;
  arm(event: NativeEvent, needed: number): void;
  ref(): void;
  unref(): void;
  close(): void;
  /** Test hook (SHM_QUEUE_TEST_HOOKS=1 only): returns holding the lock, optionally mid-copy of a record. */
  testLockAndTear(bytes?: Uint8Array, written?: number): number;
}

export interface NativeHandleConstructor {
  new (mode: OpenMode, name: string, capacity: number, maxsize: number, flags: number, codec: string, fileMode: number): NativeHandle;
  unlink(name: string): void;
}

export interface NativeAddon {
  QueueHandle: NativeHandleConstructor;
  status: NativeStatus;
  layoutVersion: number;
  recordHeaderSize: number;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  // Development only: `npm run test:sanitize` / `test:valgrind` point this at an instrumented
  // build of the same sources (see scripts/sanitize.sh).
  const override = process.env['SHM_QUEUE_ADDON'];
  if (override) return require(override) as NativeAddon;
  const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
  return nodeGypBuild(packageRoot) as NativeAddon;
}

/** The loaded addon (loaded once, synchronously, at import time). */
export const addon: NativeAddon = load();
