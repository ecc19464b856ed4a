/**
 * Typed errors. Every error this package throws on purpose is either a {@link ShmQueueError}
 * subclass with a stable `code`, or a Node-style `TypeError`/`RangeError` for a bad argument.
 * Match on `err.code`, never on the message: messages may be reworded, codes will not.
 *
 * @module
 */
import {
  status,
  type NativeError,
  type NativeRefusalReason,
  type NativeStatus,
  type ProbeResult,
} from './native/index.js';
import type { ProcessPoolErrorCode } from './pool/errors.js';

/** Every stable error code of a {@link ShmQueueError}. */
export type ShmQueueErrorCode =
  | 'ERR_QUEUE_FULL'
  | 'ERR_QUEUE_EMPTY'
  | 'ERR_QUEUE_CLOSED'
  | 'ERR_QUEUE_SHUTDOWN'
  | 'ERR_QUEUE_EXISTS'
  | 'ERR_QUEUE_NOT_FOUND'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CODEC_MISMATCH'
  | 'ERR_QUEUE_INCOMPATIBLE'
  | 'ERR_QUEUE_CORRUPT'
  | 'ERR_TASK_DONE_TOO_MANY'
  | 'ERR_MESSAGE_DECODE'
  | 'ERR_MESSAGES_UNDELIVERED'
  | 'ERR_QUEUE_UNTRUSTED_OWNER'
  | 'ERR_QUEUE_BUSY'
  | 'ERR_QUEUE_LOCK_STALLED'
  | 'ERR_QUEUE_NO_REPLY'
  | 'ERR_QUEUE_PERMISSION'
  | ProcessPoolErrorCode;

/** Base class of every queue error; `code` identifies the condition. */
export class ShmQueueError extends Error {
  /** Stable, machine-readable identifier of the condition. */
  readonly code: ShmQueueErrorCode;

  constructor(code: ShmQueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A put could not complete: the queue stayed full (`putNowait`, or a put whose timeout expired). */
export class QueueFullError extends ShmQueueError {
  /** For `putMany`: how many of the values were put before the timeout (they stay in the queue). */
  readonly putCount: number;

  constructor(message: string, putCount = 0) {
    super('ERR_QUEUE_FULL', message);
    this.putCount = putCount;
  }
}

/** A get could not complete: the queue stayed empty (`getNowait`, or a get whose timeout expired). */
export class QueueEmptyError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_EMPTY', message);
  }
}

/** The handle was closed with `close()`; open the queue again to keep using it. */
export class QueueClosedError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_CLOSED', message);
  }
}

/** The queue was shut down (by any process): puts are refused, gets drain and then fail. */
export class QueueShutdownError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_SHUTDOWN', message);
  }
}

/** `Queue.create` found a queue of that name already (pass `exclusive: false` to open it). */
export class QueueExistsError extends ShmQueueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_EXISTS', message, options);
  }
}

/** `Queue.open` found no queue of that name. */
export class QueueNotFoundError extends ShmQueueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_NOT_FOUND', message, options);
  }
}

/** The encoded message can never fit in the ring, however long one waits. */
export class MessageTooLargeError extends ShmQueueError {
  /** Encoded size of the refused message, in bytes. */
  readonly size: number;
  /** Largest encoded message this queue accepts, in bytes. */
  readonly limit: number;

  constructor(message: string, size: number, limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', message);
    this.size = size;
    this.limit = limit;
  }
}

/** The queue was created with another codec than the one this handle asked for. */
export class CodecMismatchError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_CODEC_MISMATCH', message);
  }
}

/**
 * The segment is not one this version can use: another layout version, options that differ from
 * the ones asked for in a create-or-open, or a segment still being initialised by a dead creator.
 */
export class QueueIncompatibleError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_INCOMPATIBLE', message);
  }
}

/**
 * The shared segment holds impossible values (scribbled on, or truncated), or, on Redis, the
 * queue's keys were changed by another client (`cause`: the server's reply). Nothing was read out
 * of bounds; the queue should be removed (`Queue.unlink`/`RedisQueue.unlink` or `shm-queue rm`)
 * and created again.
 */
export class QueueCorruptError extends ShmQueueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_QUEUE_CORRUPT', message, options);
  }
}

/** `taskDone()` was called more times than there were items put on a `JoinableQueue`. */
export class TaskDoneError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_TASK_DONE_TOO_MANY', message);
  }
}

/**
 * The queue's file belongs to another user than the caller's effective uid, and the caller did not
 * trust that user (`{ owner }`). Another local user may have created the name first, to read your
 * messages, inject its own, or truncate the file under you; nothing of it was read.
 */
export class QueueOwnerError extends ShmQueueError {
  /** uid of the segment file's owner. */
  readonly ownerUid: number;
  /** That user's name, or null when the system has none for the uid. */
  readonly ownerName: string | null;

  constructor(message: string, ownerUid: number, ownerName: string | null) {
    super('ERR_QUEUE_UNTRUSTED_OWNER', message);
    this.ownerUid = ownerUid;
    this.ownerName = ownerName;
  }
}

/**
 * A message taken from the queue could not be decoded by the codec (bytes scribbled on in shared
 * memory, a codec bug, a producer with another codec version). The message has left the queue:
 * `bytes` is a private copy of it, so a caller can log it or put it in a dead-letter store.
 */
export class MessageDecodeError extends ShmQueueError {
  /** The message's encoded bytes, as taken from the queue (a copy). */
  readonly bytes: Buffer;
  /** Name of the codec that failed. */
  readonly codec: string;

  constructor(message: string, bytes: Buffer, codec: string, cause: unknown) {
    super('ERR_MESSAGE_DECODE', message, { cause });
    this.bytes = bytes;
    this.codec = codec;
  }
}

/**
 * A call that must not wait (`putNowait`, `getNowait`, a timeout of 0, `peek`) found the queue's
 * lock held by another process for longer than it may wait (20 ms): typically a process stopped
 * (SIGSTOP, a debugger, a frozen cgroup) while holding it. The queue may have room or messages;
 * try again, or wait with a timeout.
 */
export class QueueBusyError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_BUSY', message);
  }
}

/**
 * A live process has held the queue's lock for 15 s without any progress (stopped, in a debugger,
 * hung). Nothing is corrupt: waiting is safe, and the same handles work again, with every message,
 * once it continues or dies. `holderPid` is that process.
 */
export class QueueLockStalledError extends ShmQueueError {
  /** The process holding the lock. */
  readonly holderPid: number;

  constructor(message: string, holderPid: number) {
    super('ERR_QUEUE_LOCK_STALLED', message);
    this.holderPid = holderPid;
  }
}

/**
 * The Redis server did not answer a command of this call in time: within the call's own `timeout`
 * (its abort signal for a get), or within the queue's `replyTimeout` (default 15 s) for a call
 * that would otherwise wait for ever. The server is stopped (SIGSTOP, a debugger), overloaded, or
 * cut off while the connection still looks open. Nothing is corrupt: the handle keeps working once
 * the server answers again. `mayTakeEffect` says whether what the call asked for can still happen
 * when the server reads the command (a put, a shutdown, a `taskDone`: check before repeating it),
 * or cannot (a get takes nothing: a message the server hands over later is given back to the
 * queue; a read of counters changes nothing).
 */
export class QueueNoReplyError extends ShmQueueError {
  /** `true` when the command may still be carried out by the server (puts, shutdown, taskDone). */
  readonly mayTakeEffect: boolean;
  /** How long the call waited for the reply, in ms. */
  readonly waitedMs: number;

  constructor(message: string, mayTakeEffect: boolean, waitedMs: number) {
    super('ERR_QUEUE_NO_REPLY', message);
    this.mayTakeEffect = mayTakeEffect;
    this.waitedMs = waitedMs;
  }
}

/**
 * The Redis server refused a command of the queue because of its ACL: the user the queue connects
 * as may not use the queue's keys (`{shmq:NAME}:*`), its channel, or a command it needs. The
 * message names what was refused and what to grant; `cause` is the server's reply.
 */
export class QueuePermissionError extends ShmQueueError {
  constructor(message: string, options: { cause: unknown }) {
    super('ERR_QUEUE_PERMISSION', message, options);
  }
}

/**
 * `close()` could not put back every message this handle had taken from the queue but not yet
 * handed out (the rest of a batch get whose decode failed part-way), because the queue was full
 * or shut down. The handle is closed; `messages` holds the bytes of those not put back, in order.
 */
export class MessagesUndeliveredError extends ShmQueueError {
  /** Encoded bytes of the messages that are no longer in any queue, oldest first. */
  readonly messages: Buffer[];
  /** How many held messages were put back into the queue before it refused. */
  readonly putBack: number;

  constructor(message: string, messages: Buffer[], putBack: number, cause: unknown) {
    super('ERR_MESSAGES_UNDELIVERED', message, { cause });
    this.messages = messages;
    this.putBack = putBack;
  }
}

// ---------------------------------------------------------------------------------------------
// THE table from what the native layer reports to the typed error a caller sees. Three inputs:
// a status returned by an operation (`status`), a thrown system error (`code` = errno name), and a
// thrown segment refusal (`code` + structured `reason`). Nothing here reads a message's text.

/** What an operation's error message may say about the queue and the call. */
export interface StatusContext {
  /** Queue name. */
  readonly queue: string;
  /** The operation: 'put' messages talk about room, 'get' messages about messages. */
  readonly op: 'put' | 'get';
  /** The wait, in ms: 0 for the Nowait variants (the message then says how to wait instead). */
  readonly timeout: number;
  /** For `putMany`: how many values went in before the failure ... */
  readonly putCount?: number;
  /** ... of how many (set by the promise `putMany`, whose timeout message counts them). */
  readonly total?: number;
  /** Encoded size of the refused message, for `tooLarge`. */
  readonly size?: number;
  /** Largest encoded message of the queue, for `tooLarge`. */
  readonly limit?: number;
  readonly maxsize?: number;
  readonly capacity?: number;
  /** Messages queued now; called only to word a full queue's message. */
  readonly count?: () => number;
  /** The native layer's own description (`lastError().message`), for `corrupt` and `lockStalled`. */
  readonly detail?: () => string;
  /** The pid holding the lock (`lastError().holderPid`), for `lockStalled`. */
  readonly holderPid?: () => number;
}

type StatusName = keyof NativeStatus;

const BY_STATUS: { readonly [K in StatusName]?: (c: StatusContext) => Error } = {
  full: (c) =>
    new QueueFullError(
      c.total !== undefined && c.timeout !== 0
        ? `putMany on queue '${c.queue}' timed out after ${c.timeout} ms with ${c.putCount ?? 0} of ${c.total} values put`
        : c.timeout === 0
          ? `queue '${c.queue}' is full (${c.count?.() ?? '?'} messages, maxsize ${c.maxsize}, capacity ${c.capacity} bytes); use put() or putSync() to wait for room`
          : `queue '${c.queue}' stayed full for ${c.timeout} ms; consumers are not keeping up (raise the timeout, maxsize or capacity)`,
      c.putCount ?? 0,
    ),
  empty: (c) =>
    new QueueEmptyError(
      c.timeout === 0
        ? `queue '${c.queue}' is empty; use get() or getSync() to wait for a message`
        : `queue '${c.queue}' stayed empty for ${c.timeout} ms`,
    ),
  tooLarge: (c) => tooLargeError(c.queue, c.size ?? 0, c.limit ?? 0),
  shutdown: (c) =>
    new QueueShutdownError(
      c.op === 'put'
        ? `queue '${c.queue}' is shut down; it accepts no more messages`
        : `queue '${c.queue}' is shut down and drained`,
    ),
  corrupt: (c) => new QueueCorruptError(c.detail?.() || `queue '${c.queue}' is corrupt`),
  busy: (c) =>
    new QueueBusyError(
      `queue '${c.queue}' is busy: another process has held its lock for more than 20 ms (it may be stopped: SIGSTOP, a debugger, a frozen cgroup), so this call, which must not wait, cannot tell whether there is ${c.op === 'put' ? 'room' : 'a message'}; try again, or use ${c.op}() or ${c.op}Sync() with a timeout to wait`,
    ),
  lockStalled: (c) =>
    new QueueLockStalledError(
      c.detail?.() ||
        `queue '${c.queue}': another process has held the lock for 15 s without progress; waiting is safe`,
      c.holderPid?.() ?? 0,
    ),
  taskDoneTooMany: (c) => new TaskDoneError(`taskDone() called more times than items were put on queue '${c.queue}'`),
};

/** Native status value -> its name, built once from the addon's own table. */
const STATUS_NAMES = new Map<number, StatusName>(
  (Object.entries(status) as [StatusName, number][]).map(([name, value]) => [value, name]),
);

/** The typed error for a native status that ended an operation. */
export function statusError(code: number, context: StatusContext): Error {
  const name = STATUS_NAMES.get(code);
  const make = name === undefined ? undefined : BY_STATUS[name];
  if (make) return make(context);
  return new QueueCorruptError(`queue '${context.queue}': unexpected native status ${code}`);
}

/** The error of a message that can never fit (shared by the encode check and the native status). */
export function tooLargeError(queue: string, size: number, limit: number): MessageTooLargeError {
  return new MessageTooLargeError(
    `message of ${size} bytes can never fit in queue '${queue}' (largest: ${limit} bytes); create the queue with a larger capacity`,
    size,
    limit,
  );
}

/**
 * What is wrong with a segment that cannot be used as a queue, in the vocabulary of the native
 * `probe()` kinds. The native open reports the same facts as `code` + `reason`.
 */
export type SegmentProblem = 'not-a-queue' | 'not-regular' | 'incompatible' | 'unfinished' | 'corrupt';

/** `reason` of a native ERR_QUEUE_CORRUPT / ERR_QUEUE_INCOMPATIBLE refusal -> the problem it reports. */
const BY_REASON: Readonly<Record<NativeRefusalReason, SegmentProblem>> = {
  'not-a-queue': 'not-a-queue',
  'not-regular': 'not-regular',
  // As the native core classifies them: another header size is another release's layout; flag
  // bits no release defines are scribbles.
  version: 'incompatible',
  'header-size': 'incompatible',
  flags: 'corrupt',
  unfinished: 'unfinished',
  capacity: 'corrupt',
  size: 'corrupt',
  codec: 'corrupt',
  truncated: 'corrupt',
};

/** The segment problem a native refusal reports, or undefined when `error` is not a refusal. */
export function segmentProblemOf(error: NativeError): SegmentProblem | undefined {
  if (error.code !== 'ERR_QUEUE_CORRUPT' && error.code !== 'ERR_QUEUE_INCOMPATIBLE') return undefined;
  const problem = error.reason === undefined ? undefined : BY_REASON[error.reason];
  return problem ?? (error.code === 'ERR_QUEUE_CORRUPT' ? 'corrupt' : 'incompatible');
}

/** The typed error of a segment problem: impossible values are corrupt, anything else incompatible. */
function segmentError(problem: SegmentProblem, message: string): QueueCorruptError | QueueIncompatibleError {
  return problem === 'corrupt' ? new QueueCorruptError(message) : new QueueIncompatibleError(message);
}

/** What a caller was doing when the native layer threw. */
export interface OpenContext {
  readonly queue: string;
  /** `'open'` (create or open), `'inspect'` (read-only look), `'peek'` (read-write look), `'unlink'`. */
  readonly op: 'open' | 'inspect' | 'peek' | 'unlink';
  /** The segment path, for system errors that do not carry one. */
  readonly path?: string;
}

/** System error `code` -> the typed error (or reworded system error) a caller sees. */
const BY_ERRNO: Readonly<Record<string, (e: NativeError, c: OpenContext) => Error>> = {
  EEXIST: (e, c) =>
    new QueueExistsError(
      `queue '${c.queue}' already exists; use Queue.open('${c.queue}'), or pass { exclusive: false } to create-or-open`,
      { cause: e },
    ),
  ENOENT: (e, c) =>
    new QueueNotFoundError(
      c.op === 'open'
        ? `queue '${c.queue}' does not exist; create it first with Queue.create('${c.queue}')`
        : `queue '${c.queue}' does not exist (no ${c.path ?? e.path ?? 'segment'})`,
      { cause: e },
    ),
  EACCES: permissionDenied,
  EPERM: permissionDenied,
};

function permissionDenied(e: NativeError, c: OpenContext): Error {
  const where = c.path ?? e.path ?? '/dev/shm';
  e.message =
    c.op === 'open'
      ? `${e.code}: permission denied opening queue '${c.queue}' (${where}); run as the user that created it, or create it with a wider { mode }`
      : c.op === 'peek'
        ? `${e.code}: permission denied opening queue '${c.queue}' read-write (${where}); peek takes the queue's lock, so it needs read and write access: run as its owner (or root)`
        : c.op === 'unlink'
          ? `${e.code}: permission denied removing queue '${c.queue}' (${where}); only its owner (or root) may remove it from /dev/shm`
          : `${e.code}: permission denied reading queue '${c.queue}' (${where}); run as its owner (or root)`;
  return e;
}

/** The typed error for what the native constructor or `unlink` threw. */
export function nativeError(error: unknown, context: OpenContext): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const e = error as NativeError;
  if (e.code === 'ERR_QUEUE_UNTRUSTED_OWNER')
    return new QueueOwnerError(e.message, e.ownerUid ?? -1, e.ownerName ?? null);
  const byErrno = e.code === undefined ? undefined : BY_ERRNO[e.code];
  if (byErrno) return byErrno(e, context);
  const problem = segmentProblemOf(e);
  if (problem !== undefined) return segmentError(problem, e.message);
  return e;
}

/**
 * The error for a probe result that is not a usable queue: `QueueNotFoundError` when missing, a
 * segment error for a foreign, unfinished or corrupt one, a Node-style system error otherwise.
 */
export function probeError(probe: Exclude<ProbeResult, { kind: 'queue' }>, queue: string, path: string): Error {
  switch (probe.kind) {
    case 'missing':
      return new QueueNotFoundError(`queue '${queue}' does not exist (no ${path})`);
    case 'permission-denied':
    case 'error':
      return Object.assign(new Error(probe.message), {
        code: probe.code,
        path,
        ...(probe.kind === 'error' ? { errno: probe.errno, syscall: probe.syscall } : {}),
      });
    default:
      return segmentError(probe.kind, probe.message);
  }
}

/** Node-style argument error codes used by {@link invalidArgType} and friends. */
type ArgErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

/** A `TypeError` or `RangeError` carrying a Node-style `code`, as Node core throws them. */
export interface ArgumentError extends Error {
  code: ArgErrorCode;
}

function withCode<E extends Error>(error: E, code: ArgErrorCode): E & ArgumentError {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as E & ArgumentError;
}

/** Describes a received value the way Node's own argument errors do. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor;
    return ctor?.name ? `an instance of ${ctor.name}` : 'an object';
  }
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `type string (${JSON.stringify(shown)})`;
  }
  return `type ${typeof value} (${String(value)})`;
}

/** `TypeError` with code `ERR_INVALID_ARG_TYPE`: `name` must be `expected`. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & ArgumentError {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** `TypeError` with code `ERR_INVALID_ARG_VALUE`: the type is right but the value is not usable. */
export function invalidArgValue(name: string, reason: string): TypeError & ArgumentError {
  return withCode(new TypeError(`The "${name}" argument ${reason}`), 'ERR_INVALID_ARG_VALUE');
}

/** `RangeError` with code `ERR_OUT_OF_RANGE`. */
export function outOfRange(name: string, range: string, actual: unknown): RangeError & ArgumentError {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`),
    'ERR_OUT_OF_RANGE',
  );
}
