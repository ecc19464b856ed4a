/**
 * Loads the native addon through node-gyp-build: the local build in `build/Release` when there is
 * one (a source checkout, or an install that compiled), else the prebuilt binary in
 * `prebuilds/<platform>-<arch>/` that fits this platform and libc. Internal: not exported.
 *
 * When nothing loads, importing the package throws one {@link NativeLoadError} that says what this
 * system is and what to try, instead of a bare `dlopen` or "No native build" stack trace.
 *
 * Loading is synchronous and there is no top-level await anywhere in the package, so
 * `require('shm-queue')` (require(esm), Node >= 20.19 / 22.12) works as well as `import`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueueStats } from './queue.js';

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

/** What the native `stats()` returns: the public {@link QueueStats} minus the queue name. */
export type NativeStats = Omit<QueueStats, 'name'>;

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
  /** 0 none, 1 graceful, 2 immediate: one atomic load (stats() locks and checks processes). */
  shutdownState(): number;
  /** JoinableQueue: items put and not yet marked done. */
  unfinished(): number;
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
  new (
    mode: OpenMode,
    name: string,
    capacity: number,
    maxsize: number,
    flags: number,
    codec: string,
    fileMode: number,
  ): NativeHandle;
  unlink(name: string): void;
}

export interface NativeAddon {
  QueueHandle: NativeHandleConstructor;
  status: NativeStatus;
  layoutVersion: number;
  recordHeaderSize: number;
}

/** The stable `code` of a {@link NativeLoadError}. */
export const NATIVE_LOAD_ERROR_CODE = 'ERR_SHM_QUEUE_NATIVE_LOAD';

/**
 * The native addon could not be loaded: no binary fits this system, or the one found failed to
 * load. Thrown while importing the package. `cause` keeps node-gyp-build's or `dlopen`'s error.
 */
export class NativeLoadError extends Error {
  readonly code: typeof NATIVE_LOAD_ERROR_CODE = NATIVE_LOAD_ERROR_CODE;
  /** The binary that was found but failed to load, when there was one. */
  readonly binary: string | undefined;

  constructor(message: string, options: { cause: unknown; binary?: string | undefined }) {
    super(message, { cause: options.cause });
    this.name = 'NativeLoadError';
    this.binary = options.binary;
  }
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

interface NodeGypBuild {
  (dir: string): unknown;
  path(dir: string): string;
}

/** The libc node-gyp-build looks for (same rule: `LIBC`, else Alpine means musl), with glibc's version when known. */
function describeLibc(): string {
  if (process.platform !== 'linux') return 'n/a';
  const libc = process.env['LIBC'] || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  if (libc !== 'glibc') return libc;
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'glibc';
  } catch {
    return 'glibc';
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.trim() || text;
}

/** Builds the one message a user sees when the addon cannot load; every line says what to do. */
function loadFailure(cause: unknown, binary: string | undefined): NativeLoadError {
  const system = `${process.platform}-${process.arch} (${describeLibc()}), Node.js ${process.version} (N-API ${process.versions.napi ?? '?'})`;
  const lines = [`shm-queue could not load its native addon on ${system}.`];
  if (binary !== undefined) {
    lines.push(`  The binary ${binary} was found but failed to load: ${firstLine(cause)}`);
  } else {
    lines.push('  No binary in prebuilds/ fits this system, and no compiled build/Release/shm_queue.node exists.');
  }
  if (process.platform !== 'linux') {
    lines.push(`  shm-queue needs Linux (POSIX shared memory and futexes); ${process.platform} is not supported.`);
  } else {
    lines.push(
      'What to try:',
      '  - Compile it from the shipped C++ sources: npm rebuild shm-queue --build-from-source',
      '    (needs python3, make and a C++17 compiler: apt-get install python3 make g++, or apk add python3 make g++ on Alpine).',
      '  - If you installed with --ignore-scripts on a system without a prebuilt binary, nothing was compiled: run the rebuild above.',
      '  - Prebuilt binaries cover linux-x64 and linux-arm64 on glibc and musl; other Linux CPUs compile from source.',
      '    See "Supported platforms" in the shm-queue README.',
    );
  }
  return new NativeLoadError(lines.join('\n'), { cause, binary });
}

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  let binary: string;
  try {
    // Development only: `npm run test:sanitize` / `test:valgrind` point SHM_QUEUE_ADDON at an
    // instrumented build of the same sources (see scripts/sanitize.sh).
    binary = process.env['SHM_QUEUE_ADDON'] || nodeGypBuild.path(packageRoot);
  } catch (err) {
    throw loadFailure(err, undefined);
  }
  let addon: NativeAddon;
  try {
    addon = require(binary) as NativeAddon;
  } catch (err) {
    throw loadFailure(err, binary);
  }
  if (typeof addon?.QueueHandle !== 'function') {
    throw loadFailure(
      new Error("the module does not export QueueHandle: it is not this version of shm-queue's addon"),
      binary,
    );
  }
  return addon;
}

/** The loaded addon (loaded once, synchronously, at import time). */
export const addon: NativeAddon = load();
