/**
 * Typed errors. Every error this package throws on purpose is either a {@link ShmQueueError}
 * subclass with a stable `code`, or a Node-style `TypeError`/`RangeError` for a bad argument.
 * Match on `err.code`, never on the message: messages may be reworded, codes will not.
 *
 * @module
 */

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
  | 'ERR_TASK_DONE_TOO_MANY';

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
 * The shared segment holds impossible values (scribbled on, or truncated). Nothing was read out
 * of bounds; the queue should be removed (`Queue.unlink` or `shm-queue rm`) and created again.
 */
export class QueueCorruptError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_QUEUE_CORRUPT', message);
  }
}

/** `taskDone()` was called more times than there were items put on a `JoinableQueue`. */
export class TaskDoneError extends ShmQueueError {
  constructor(message: string) {
    super('ERR_TASK_DONE_TOO_MANY', message);
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
    return ctor && ctor.name ? `an instance of ${ctor.name}` : 'an object';
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
