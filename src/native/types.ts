/**
 * The shape of the native addon (build/Release/shm_queue.node): what the TypeScript layer calls.
 * Internal: nothing here is exported from the package.
 *
 * @module
 */
import type { QueueStats } from '../types.js';

/** Status codes returned by native operations (negative), one name per condition. */
export interface NativeStatus {
  readonly ok: number;
  readonly full: number;
  readonly empty: number;
  readonly tooLarge: number;
  readonly shutdown: number;
  readonly corrupt: number;
  readonly needSpace: number;
  readonly timedOut: number;
  readonly taskDoneTooMany: number;
  /** A call that must not wait found the lock held (for more than 20 ms: a stopped holder), or the
   *  oldest message still being copied in by its put. */
  readonly busy: number;
  /** A live holder kept the lock without progress for the stall bound (15 s); see lastError(). */
  readonly lockStalled: number;
}

/** Events the waiter thread reports; the values match native `shmq::Event`. */
export const NativeEvent = { NotEmpty: 0, NotFull: 1, AllDone: 2 } as const;
export type NativeEvent = (typeof NativeEvent)[keyof typeof NativeEvent];

/** Open modes of the native constructor. `Inspect` is read-only and not attached: only stats(), info() and close() work. */
export const OpenMode = { Create: 0, Open: 1, CreateOrOpen: 2, Inspect: 3 } as const;
export type OpenMode = (typeof OpenMode)[keyof typeof OpenMode];

/** What the native `info()` returns: the queue's fixed parameters, read once at open. */
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

/** The native QueueHandle object. Timeouts are ms; a negative timeout waits forever. */
export interface NativeHandle {
  push(bytes: Uint8Array, timeoutMs: number): number;
  pushMany(bytes: Uint8Array, lens: Uint32Array, n: number, timeoutMs: number): number;
  setReadBuffer(slab: ArrayBuffer): void;
  shift(offset: number, timeoutMs: number): number;
  /** The next message copied into `bytes` (not the slab): its length, or a status (needSpace: too small). */
  shiftInto(bytes: Uint8Array, timeoutMs: number): number;
  shiftMany(offset: number, max: number, lens: Uint32Array, timeoutMs: number): number;
  peek(offset: number, max: number, lens: Uint32Array): number;
  needed(): number;
  /** The native description of the last corrupt / lockStalled status (holderPid with lockStalled). */
  lastError(): { message: string; status: number; holderPid: number };
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
  /** Test builds only (SHM_QUEUE_TEST_HOOKS): returns holding the lock, optionally mid-copy of a record. */
  testLockAndTear?(bytes?: Uint8Array, written?: number): number;
  /** Test builds only: a put (bytes given) or a get that stops for good inside its unlocked copy. */
  testHoldInCopy?(bytes?: Uint8Array, written?: number): number;
  /** Test builds only: holds the lock for `ms`, then releases it. */
  testHoldLock?(ms: number): number;
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
    /** The uid of another user whose segment this handle may open; -1 (default) trusts nobody else. */
    trustedOwner?: number,
  ): NativeHandle;
  unlink(name: string): void;
}

/** The bounds the native core enforces (its C++ constants). */
export interface NativeLimits {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly maxMaxsize: number;
  readonly maxNameLength: number;
  readonly maxCodecNameLength: number;
}

/** Bits of the segment's `flags` word. */
export interface NativeQueueFlags {
  readonly joinable: number;
}

/** File types `probe()` reports for a segment path that is not a regular file. */
export type ProbeFileType = 'fifo' | 'directory' | 'socket' | 'symlink' | 'char-device' | 'block-device' | 'other';

/** Facts every probe result carries besides its kind. */
interface ProbeCommon {
  /** A sentence saying what is wrong and what to do (also for 'queue'). */
  message: string;
  /** Owner uid and mode bits of the file, when fstat() succeeded. */
  uid?: number;
  mode?: number;
}

/**
 * What the native, non-blocking, read-only `probe(name)` says about `/dev/shm/shm-queue.<name>`,
 * without attaching to it or reading anything but its header.
 */
export type ProbeResult = ProbeCommon &
  (
    | { kind: 'missing' }
    | { kind: 'queue'; layoutVersion: number; joinable: boolean; codec: string; inUse: boolean | null }
    | { kind: 'permission-denied'; code: 'EACCES' | 'EPERM' }
    | { kind: 'not-regular'; fileType: ProbeFileType }
    | { kind: 'not-a-queue' }
    | { kind: 'incompatible'; layoutVersion: number }
    | { kind: 'unfinished'; ageMs: number }
    | { kind: 'corrupt'; detail: string }
    | { kind: 'error'; code: string; errno: number; syscall: string }
  );

/** Why the native open refused a segment (`reason` of an ERR_QUEUE_CORRUPT / ERR_QUEUE_INCOMPATIBLE error). */
export type NativeRefusalReason =
  | 'not-a-queue'
  | 'version'
  | 'header-size'
  | 'unfinished'
  | 'capacity'
  | 'size'
  | 'flags'
  | 'codec'
  | 'truncated'
  | 'not-regular';

/** An error thrown by the native constructor or `unlink`: a Node-style system error or a segment refusal. */
export interface NativeError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  reason?: NativeRefusalReason;
  /** ERR_QUEUE_UNTRUSTED_OWNER: the segment file's owner. */
  ownerUid?: number;
  ownerName?: string | null;
}

/** Everything the addon exports. */
export interface NativeAddon {
  QueueHandle: NativeHandleConstructor;
  status: NativeStatus;
  layoutVersion: number;
  limits: NativeLimits;
  queueFlags: NativeQueueFlags;
  isValidName(name: string): boolean;
  isValidCodecName(name: string): boolean;
  probe(name: string): ProbeResult;
  /** The uid of a user name (getpwnam_r), or null when there is no such user. */
  lookupUser(name: string): number | null;
}
