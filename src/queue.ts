/**
 * `Queue<T>`: a bounded FIFO in POSIX shared memory that unrelated processes open by name, with
 * the semantics of Python's `multiprocessing.Queue` (blocking put/get with timeouts, non-blocking
 * variants, exact `qsize()/empty()/full()`), plus promise-returning methods that never block the
 * event loop.
 *
 * @module
 */
import { markAsUntransferable } from 'node:worker_threads';
import { addon, NativeEvent, OpenMode, type NativeHandle, type NativeInfo, type NativeStats } from './binding.js';
import { resolveCodec, type Codec, type CodecName } from './codecs.js';
import {
  CodecMismatchError,
  MessageTooLargeError,
  QueueClosedError,
  QueueCorruptError,
  QueueEmptyError,
  QueueExistsError,
  QueueFullError,
  QueueIncompatibleError,
  QueueNotFoundError,
  QueueShutdownError,
  ShmQueueError,
  TaskDoneError,
  invalidArgType,
} from './errors.js';
import { validateInteger, validateName, validateOptions, validateSignal, validateTimeout } from './validate.js';

const S = addon.status;
const QUEUE_FLAG_JOINABLE = 1;
/** Default ring size in bytes (1 MiB). */
export const DEFAULT_CAPACITY = 1 << 20;
/** Smallest and largest accepted `capacity`. */
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 40;
/** Largest `maxsize` (messages). */
export const MAX_MAXSIZE = 2 ** 32 - 1;
const READ_SLAB_SIZE = 256 * 1024;
const MAX_BATCH = 1 << 20;
/** Built-in codecs: a queue created with one of these can be opened without naming the codec. */
const BUILTIN_CODECS: readonly string[] = ['msgpack', 'v8', 'json', 'string', 'raw'];

/** Options of {@link Queue.create}. */
export interface CreateOptions<T = unknown> {
  /** Most messages the queue holds; a put waits (or throws) when it is reached. 0 (default) bounds by bytes only. */
  maxsize?: number;
  /** Bytes of the shared ring that holds the encoded messages (default 1 MiB, 64 B to 1 TiB). Each message costs its encoded size plus 8-15 bytes. */
  capacity?: number;
  /** How values become bytes: a built-in codec name or a custom codec. Default `'msgpack'`. */
  codec?: CodecName | Codec<T>;
  /** File mode of the segment under /dev/shm (default `0o600`: only the creating user). */
  mode?: number;
  /** `true` (default): throw `ERR_QUEUE_EXISTS` if the name is taken. `false`: open the existing queue instead (create-or-open); options given explicitly must then match it. */
  exclusive?: boolean;
}

/** Options of {@link Queue.open}. */
export interface OpenOptions<T = unknown> {
  /** The codec to use. Optional for a queue created with a built-in codec (the stored one is used); required for a custom codec. Must match the queue's codec. */
  codec?: CodecName | Codec<T>;
}

/** Options of the synchronous blocking methods. */
export interface SyncWaitOptions {
  /** Milliseconds to wait. Absent (or `Infinity`) waits forever, `0` does not wait at all. */
  timeout?: number;
}

/** Options of the promise-returning methods. */
export interface WaitOptions extends SyncWaitOptions {
  /** Cancels the wait: the promise rejects with `signal.reason` and nothing is put or taken. */
  signal?: AbortSignal;
}

/** Options of {@link Queue.shutdown}. */
export interface ShutdownOptions {
  /** Discard the messages still queued (counted as done for `join()`). Default `false`: consumers drain them first. */
  immediate?: boolean;
}

/** What {@link Queue.stats} reports: a lock-free snapshot of the shared header. */
export interface QueueStats {
  /** Queue name. */
  name: string;
  /** Messages in the queue now (same as `qsize()`). */
  messages: number;
  /** Ring bytes in use, including record headers and padding. */
  bytesUsed: number;
  /** Ring size in bytes. */
  capacity: number;
  /** Message limit (0 = bytes only). */
  maxsize: number;
  /** Messages ever put / taken, by every process. */
  puts: number;
  gets: number;
  /** Times a process found the lock held by a dead process and recovered it. */
  recoveries: number;
  /** `JoinableQueue`: items put and not yet marked done (0 for a plain `Queue`). */
  unfinishedTasks: number;
  /** Shutdown state of the queue. */
  shutdown: 'none' | 'graceful' | 'immediate';
  /** Threads (in every process) waiting for a message / for room right now. */
  waitingConsumers: number;
  waitingProducers: number;
  /** Segment layout version, creator, creation time (ms since the epoch) and size. */
  layoutVersion: number;
  creatorUid: number;
  creatorPid: number;
  createdAt: number;
  /** Wall-clock ms of the last open and the last close of a handle, by any process (0 = never). */
  lastAttachAt: number;
  lastDetachAt: number;
  segmentSize: number;
  /** Codec name stored in the segment. */
  codec: string;
  /** Permission bits and owner uid of the segment file. */
  fileMode: number;
  fileUid: number;
  /** Live processes that have the queue open, with how many handles each. */
  attached: { pid: number; handles: number }[];
}

const CREATE_KEYS = ['maxsize', 'capacity', 'codec', 'mode', 'exclusive'] as const;
const OPEN_KEYS = ['codec'] as const;
const WAIT_KEYS = ['timeout', 'signal'] as const;
const SYNC_WAIT_KEYS = ['timeout'] as const;

const kToken = Symbol('shm-queue.internal');
/** Parsed options of a promise call made without options: wait forever, no signal. */
const WAIT_FOREVER: Readonly<{ timeout: number; signal: AbortSignal | undefined }> = Object.freeze({
  timeout: -1,
  signal: undefined,
});

/** Rounds up to a multiple of 8 (arithmetic, not `&`: sizes may exceed 2^31). */
const align8 = (n: number): number => n + 7 - ((n + 7) % 8);
/** Longest a single native wait may block. Between slices JavaScript runs, so `worker.terminate()`
 *  and `process.exit()` are honoured even while a sync call waits forever. */
const SYNC_SLICE_MS = 250;
/** Longest delay one Node timer takes; longer async timeouts are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The first native slice of a blocking call: the whole wait when it is no longer than a slice. */
const firstSlice = (timeout: number): number => (timeout >= 0 && timeout <= SYNC_SLICE_MS ? timeout : SYNC_SLICE_MS);
/** Queues with pending async operations: kept alive until those settle (the native waiter only
 *  holds its queue weakly, so a forgotten idle handle can be garbage-collected and cleaned up). */
const busy = new Set<object>();

interface Opened<T> {
  handle: NativeHandle;
  codec: Codec<T>;
  info: NativeInfo;
  name: string;
}

function mapOpenError(error: unknown, name: string): Error {
  const e = error as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EEXIST':
      return new QueueExistsError(
        `queue '${name}' already exists; use Queue.open('${name}'), or pass { exclusive: false } to create-or-open`,
        { cause: e },
      );
    case 'ENOENT':
      return new QueueNotFoundError(`queue '${name}' does not exist; create it first with Queue.create('${name}')`, {
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
      e.message = `${e.code}: permission denied opening queue '${name}' (${e.path ?? '/dev/shm'}); run as the user that created it, or create it with a wider { mode }`;
      return e;
    case 'ERR_QUEUE_CORRUPT':
      return new QueueCorruptError(e.message);
    case 'ERR_QUEUE_INCOMPATIBLE':
      return new QueueIncompatibleError(e.message);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}

function openNative<T>(name: unknown, mode: OpenMode, rawOptions: unknown, joinable: boolean): Opened<T> {
  const validName = validateName(name);
  const known = mode === OpenMode.Open ? OPEN_KEYS : CREATE_KEYS;
  const options = validateOptions(rawOptions, 'options', known);
  const explicitCodec = options['codec'] !== undefined;
  let codec = resolveCodec(options['codec'] as CodecName | Codec<unknown> | undefined) as Codec<T>;
  let capacity = DEFAULT_CAPACITY;
  let maxsize = 0;
  let fileMode = 0o600;
  if (mode !== OpenMode.Open) {
    if (options['capacity'] !== undefined)
      capacity = validateInteger(options['capacity'], 'options.capacity', MIN_CAPACITY, MAX_CAPACITY);
    if (options['maxsize'] !== undefined)
      maxsize = validateInteger(options['maxsize'], 'options.maxsize', 0, MAX_MAXSIZE);
    if (options['mode'] !== undefined) fileMode = validateInteger(options['mode'], 'options.mode', 0, 0o777);
    const exclusive = options['exclusive'];
    if (exclusive !== undefined && typeof exclusive !== 'boolean')
      throw invalidArgType('options.exclusive', 'of type boolean', exclusive);
    if (exclusive === false) mode = OpenMode.CreateOrOpen;
  }
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(
      mode,
      validName,
      capacity,
      maxsize,
      joinable ? QUEUE_FLAG_JOINABLE : 0,
      codec.name,
      fileMode,
    );
  } catch (error) {
    throw mapOpenError(error, validName);
  }
  const info = handle.info();
  try {
    if (info.codec !== codec.name) {
      if (!explicitCodec && BUILTIN_CODECS.includes(info.codec)) {
        codec = resolveCodec(info.codec as CodecName) as Codec<T>;
      } else {
        throw new CodecMismatchError(
          `queue '${validName}' uses codec '${info.codec}', not '${codec.name}'; ` +
            (BUILTIN_CODECS.includes(info.codec)
              ? `open it with { codec: '${info.codec}' } or without a codec option`
              : `open it with your custom codec named '${info.codec}'`),
        );
      }
    }
    const isJoinable = (info.flags & QUEUE_FLAG_JOINABLE) !== 0;
    if (isJoinable !== joinable) {
      throw new QueueIncompatibleError(
        `queue '${validName}' is a ${isJoinable ? 'JoinableQueue' : 'plain Queue'}; open it with ${isJoinable ? 'JoinableQueue' : 'Queue'}.open('${validName}')`,
      );
    }
    if (!info.created && mode === OpenMode.CreateOrOpen) {
      const wanted = align8(capacity);
      if (options['capacity'] !== undefined && info.capacity !== wanted) {
        throw new QueueIncompatibleError(
          `queue '${validName}' exists with capacity ${info.capacity}, not ${wanted}; use the same options in every process, or Queue.open('${validName}')`,
        );
      }
      if (options['maxsize'] !== undefined && info.maxsize !== maxsize) {
        throw new QueueIncompatibleError(
          `queue '${validName}' exists with maxsize ${info.maxsize}, not ${maxsize}; use the same options in every process, or Queue.open('${validName}')`,
        );
      }
    }
  } catch (error) {
    handle.close();
    throw error;
  }
  return { handle, codec, info, name: validName };
}

/** A message taken from the ring but not yet handed out: its value, or why it could not be decoded. */
type Carried<T> = { value: T } | { error: unknown };

/** Kinds of pending asynchronous operations. */
type PendingKind = 'get' | 'put' | 'join';

interface Pending {
  kind: PendingKind;
  /** Tries to complete the operation now; returns true when it settled (resolved or rejected). */
  attempt(): boolean;
  reject(error: unknown): void;
  /** Bytes the head put needs room for (NotFull waits only). */
  needed: number;
  cleanup(): void;
}

/**
 * A named, bounded FIFO queue in shared memory. Create it in one process with
 * {@link Queue.create}, open it by name in any other with {@link Queue.open}.
 *
 * Methods come in three flavours: promise-returning (`put`, `get`, ...) that wait without blocking
 * the event loop; `...Sync` that block the calling thread (for scripts and worker threads); and
 * `...Nowait` that never wait and throw `QueueFullError`/`QueueEmptyError` at once.
 *
 * @typeParam T - the type of the values carried (checked by TypeScript only; the codec decides
 *   what can really be carried).
 */
export class Queue<T = unknown> implements Disposable, AsyncDisposable, AsyncIterable<T> {
  /** The queue's name (its segment is `/dev/shm/shm-queue.<name>`). */
  readonly name: string;
  /** Most messages the queue holds (0 = bounded by bytes only). */
  readonly maxsize: number;
  /** Bytes of the shared ring. */
  readonly capacity: number;
  /** Name of the codec in use. */
  readonly codec: string;
  /** Largest encoded message, in bytes, that can ever be put. */
  readonly maxMessageSize: number;

  #handle: NativeHandle | null;
  readonly #codec: Codec<T>;
  readonly #borrows: boolean;
  #slab: Buffer;
  /** `#slab`'s ArrayBuffer, kept to notice cheaply that it was detached (byteLength 0). */
  #slabMemory: ArrayBuffer = new ArrayBuffer(0);
  #slabOffset = 0;
  #lens = new Uint32Array(64);
  #writeSlab: Buffer | null = null;
  /** Messages already taken from the ring by a batch whose decode failed part-way (see #shiftMany). */
  #carry: Carried<T>[] = [];
  readonly #pending: Record<PendingKind, Pending[]> = { get: [], put: [], join: [] };
  #pendingCount = 0;
  #watching = false;

  /** @internal Use {@link Queue.create} or {@link Queue.open}. */
  constructor(token: symbol, internal: unknown) {
    if (token !== kToken)
      throw new TypeError('Queue has no public constructor; use Queue.create(name) or Queue.open(name)');
    const opened = internal as Opened<T>;
    this.#handle = opened.handle;
    this.#codec = opened.codec;
    this.#borrows = opened.codec.borrowsInput === true;
    this.name = opened.name;
    this.maxsize = opened.info.maxsize;
    this.capacity = opened.info.capacity;
    this.codec = opened.codec.name;
    this.maxMessageSize = opened.info.maxPayload;
    this.#slab = this.#newSlab(READ_SLAB_SIZE);
  }

  /**
   * Creates the queue `name`. Throws `QueueExistsError` if it exists (unless `exclusive: false`).
   * Bad names and options throw `TypeError`/`RangeError` before any system call.
   */
  static create<T = unknown>(name: string, options?: CreateOptions<T>): Queue<T> {
    return new Queue<T>(kToken, openNative<T>(name, OpenMode.Create, options, false));
  }

  /** Opens the existing queue `name`. Throws `QueueNotFoundError` if there is none. */
  static open<T = unknown>(name: string, options?: OpenOptions<T>): Queue<T> {
    return new Queue<T>(kToken, openNative<T>(name, OpenMode.Open, options, false));
  }

  /**
   * Removes the name `name` from the system, like `unlink(2)` of a file: handles already open
   * keep working, new `open()` calls fail, and the memory is freed when the last handle closes.
   * Returns `false` when there was no such queue.
   */
  static unlink(name: string): boolean {
    const valid = validateName(name);
    try {
      addon.QueueHandle.unlink(valid);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw mapOpenError(error, valid);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Synchronous API.

  /**
   * Puts `value`, blocking the calling thread while the queue is full, up to `timeout` ms
   * (default: forever). Throws `QueueFullError` when the timeout passes.
   * When it returns, every process sees the message.
   */
  putSync(value: T, options?: SyncWaitOptions): void {
    const timeout = this.#syncTimeout(options);
    this.#push(this.#encode(value), timeout);
  }

  /** Puts `value` if there is room now, else throws `QueueFullError` at once. */
  putNowait(value: T): void {
    this.#push(this.#encode(value), 0);
  }

  /**
   * Removes and returns the next value, blocking the calling thread while the queue is empty, up
   * to `timeout` ms (default: forever). Throws `QueueEmptyError` when the timeout passes.
   */
  getSync(options?: SyncWaitOptions): T {
    const timeout = this.#syncTimeout(options);
    return this.#shift(timeout, true) as T;
  }

  /** Removes and returns the next value if there is one, else throws `QueueEmptyError` at once. */
  getNowait(): T {
    return this.#shift(0, true) as T;
  }

  /**
   * Puts every value in order, taking the lock once per batch that fits. Blocks while the queue is
   * full, up to `timeout` ms. On timeout throws `QueueFullError` whose `putCount` says how many of
   * the values were put (those stay queued). Every value is encoded before any is put, so a value
   * the codec refuses puts nothing.
   */
  putManySync(values: Iterable<T>, options?: SyncWaitOptions): void {
    const timeout = this.#syncTimeout(options);
    const batch = this.#encodeMany(values);
    const handle = this.#live();
    let done = 0;
    let offset = 0;
    this.sliced(
      timeout,
      (slice) => {
        const lens = batch.lens.subarray(done, batch.count);
        const pushed = handle.pushMany(batch.bytes.subarray(offset), lens, batch.count - done, slice);
        for (let i = 0; i < pushed; i++) offset += lens[i] as number;
        done += pushed;
        return done === batch.count ? S.ok : handle.lastError().status;
      },
      S.full,
    );
    if (done < batch.count) this.#throwStatus(handle.lastError().status, 'put', timeout, done);
  }

  /**
   * Removes and returns up to `max` values, taking the lock once. Blocks until at least one value
   * is there, up to `timeout` ms (then throws `QueueEmptyError`); never waits for more than one.
   */
  getManySync(max: number, options?: SyncWaitOptions): T[] {
    validateInteger(max, 'max', 1, MAX_BATCH);
    const timeout = this.#syncTimeout(options);
    return this.#shiftMany(max, timeout, true) as T[];
  }

  /** Messages in the queue at this moment, across all processes. */
  qsize(): number {
    return this.#live().count();
  }

  /** `true` when the queue holds no message at this moment. */
  empty(): boolean {
    return this.#live().count() === 0;
  }

  /** `true` when `maxsize` messages are queued (always `false` for a byte-bounded queue, `maxsize` 0, as in Python). */
  full(): boolean {
    return this.maxsize > 0 && this.#live().count() >= this.maxsize;
  }

  /** A snapshot of the queue's counters and header; see {@link QueueStats}. */
  stats(): QueueStats {
    const s: NativeStats = this.#live().stats();
    return { name: this.name, ...s };
  }

  /** `true` once {@link Queue.shutdown} was called by any process. */
  get isShutdown(): boolean {
    return this.#live().shutdownState() !== 0;
  }

  /** `true` once this handle was closed. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * Shuts the queue down for every process (Python 3.13's `Queue.shutdown`): from now on puts throw
   * `QueueShutdownError`, gets return what is left and then throw `QueueShutdownError`, and every
   * waiter in every process wakes. With `immediate: true` the remaining messages are discarded.
   */
  shutdown(options?: ShutdownOptions): void {
    const opts = validateOptions(options, 'options', ['immediate']);
    const immediate = opts['immediate'];
    if (immediate !== undefined && typeof immediate !== 'boolean')
      throw invalidArgType('options.immediate', 'of type boolean', immediate);
    const st = this.#live().shutdown(immediate === true);
    if (st !== S.ok) this.#throwStatus(st, 'put', 0);
    this.#service('get');
    this.#service('put');
  }

  /**
   * Closes this handle: pending async operations reject with `QueueClosedError`, the waiter thread
   * is stopped and the segment unmapped. The queue itself stays (see {@link Queue.unlink}). Idempotent.
   */
  close(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = null;
    const error = this.#closedError();
    for (const kind of ['get', 'put', 'join'] as const) this.#rejectAll(kind, error);
    busy.delete(this);
    handle.close();
  }

  /** Same as {@link Queue.close}, for `using q = Queue.open(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@link Queue.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // -------------------------------------------------------------------------------------------
  // Promise API: waits happen on a native waiter thread, never on the event loop or the libuv
  // threadpool.

  /**
   * Puts `value`; resolves once the message is in shared memory. Waits while the queue is full,
   * up to `timeout` ms (then rejects with `QueueFullError`), or until `signal` aborts.
   */
  async put(value: T, options?: WaitOptions): Promise<void> {
    const { timeout, signal } = this.#asyncOptions(options);
    const handle = this.#live();
    signal?.throwIfAborted();
    const bytes = this.#encode(value);
    if (this.#pending.put.length === 0) {
      const st = handle.push(bytes, 0);
      if (st === S.ok) return;
      if (st !== S.full || timeout === 0) this.#throwStatus(st, 'put', timeout, 0, bytes.length);
    }
    const owned = Buffer.from(bytes); // the codec may reuse its buffer for the next encode
    return new Promise<void>((resolve, reject) => {
      this.#enqueue('put', timeout, signal, owned.length, resolve, reject, () => {
        const st = this.#live().push(owned, 0);
        if (st === S.ok) return { done: true, value: undefined };
        if (st === S.full) return { done: false };
        return { done: true, error: this.#statusError(st, 'put', timeout, 0, owned.length) };
      });
    });
  }

  /**
   * Removes and returns the next value. Waits while the queue is empty, up to `timeout` ms (then
   * rejects with `QueueEmptyError`), or until `signal` aborts. A get that times out or aborts never
   * takes a message.
   */
  async get(options?: WaitOptions): Promise<T> {
    const { timeout, signal } = this.#asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    if (this.#pending.get.length === 0) {
      const v = this.#shift(0, timeout === 0);
      if (v !== kEmpty) return v as T;
    }
    return new Promise<T>((resolve, reject) => {
      this.#enqueue('get', timeout, signal, 0, resolve, reject, () => {
        try {
          const v = this.#shift(0, false);
          return v === kEmpty ? { done: false } : { done: true, value: v as T };
        } catch (error) {
          return { done: true, error };
        }
      });
    });
  }

  /**
   * Puts every value in order (one lock per batch that fits), waiting for room as needed. On
   * timeout rejects with `QueueFullError` whose `putCount` says how many were put.
   */
  async putMany(values: Iterable<T>, options?: WaitOptions): Promise<void> {
    const { timeout, signal } = this.#asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    const batch = this.#encodeMany(values);
    let done = 0;
    let offset = 0;
    const step = (): boolean => {
      const lens = batch.lens.subarray(done, batch.count);
      const pushed = this.#live().pushMany(batch.bytes.subarray(offset), lens, batch.count - done, 0);
      for (let i = 0; i < pushed; i++) offset += lens[i] ?? 0;
      done += pushed;
      if (done === batch.count) return true;
      const st = this.#live().lastError().status;
      if (st !== S.full) this.#throwStatus(st, 'put', timeout, done);
      return false;
    };
    if (this.#pending.put.length === 0) {
      if (step()) return;
      if (timeout === 0) this.#throwStatus(S.full, 'put', timeout, done);
    }
    if (this.#writeSlab === batch.bytes) this.#writeSlab = null; // keep our copy while waiting
    return new Promise<void>((resolve, reject) => {
      const op = this.#enqueue(
        'put',
        timeout,
        signal,
        batch.lens[done] ?? 0,
        resolve,
        reject,
        () => {
          try {
            if (step()) return { done: true, value: undefined };
            op.needed = batch.lens[done] ?? 0;
            return { done: false };
          } catch (error) {
            return { done: true, error };
          }
        },
        () =>
          new QueueFullError(
            `putMany on queue '${this.name}' timed out after ${timeout} ms with ${done} of ${batch.count} values put`,
            done,
          ),
        (reason) => (done === 0 ? reason : partialAbort(reason, done, batch.count)),
      );
    });
  }

  /**
   * Removes and returns up to `max` values (one lock). Waits until at least one is there, up to
   * `timeout` ms (then rejects with `QueueEmptyError`); never waits for more than one.
   */
  async getMany(max: number, options?: WaitOptions): Promise<T[]> {
    validateInteger(max, 'max', 1, MAX_BATCH);
    const { timeout, signal } = this.#asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    if (this.#pending.get.length === 0) {
      const v = this.#shiftMany(max, 0, timeout === 0);
      if (v !== kEmpty) return v as T[];
    }
    return new Promise<T[]>((resolve, reject) => {
      this.#enqueue('get', timeout, signal, 0, resolve, reject, () => {
        try {
          const v = this.#shiftMany(max, 0, false);
          return v === kEmpty ? { done: false } : { done: true, value: v as T[] };
        } catch (error) {
          return { done: true, error };
        }
      });
    });
  }

  /**
   * Yields values as they arrive (`for await (const v of q)`), until the queue is shut down and
   * drained or this handle is closed; then the loop ends.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let value: T;
      try {
        value = await this.get();
      } catch (error) {
        const code = (error as ShmQueueError).code;
        if (code === 'ERR_QUEUE_SHUTDOWN' || code === 'ERR_QUEUE_CLOSED') return;
        throw error;
      }
      yield value;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Internals shared with JoinableQueue.

  /** @internal */
  protected get handle(): NativeHandle {
    return this.#live();
  }

  /** @internal Waits (async) until the native predicate for `event` holds. */
  protected waitEvent(
    kind: 'join',
    timeout: number,
    signal: AbortSignal | undefined,
    check: () => boolean,
  ): Promise<boolean> {
    if (check()) return Promise.resolve(true); // join takes nothing: no FIFO to respect
    if (timeout === 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      this.#enqueue(
        kind,
        timeout,
        signal,
        0,
        resolve,
        reject,
        () => (check() ? { done: true, value: true } : { done: false }),
        () => false,
      );
    });
  }

  #live(): NativeHandle {
    const h = this.#handle;
    if (h === null) throw this.#closedError();
    return h;
  }

  #closedError(): QueueClosedError {
    return new QueueClosedError(`queue '${this.name}' handle is closed; open it again with Queue.open('${this.name}')`);
  }

  #syncTimeout(options: SyncWaitOptions | undefined): number {
    if (options === undefined) return -1;
    const opts = validateOptions(options, 'options', SYNC_WAIT_KEYS);
    return validateTimeout(opts['timeout']);
  }

  #asyncOptions(options: WaitOptions | undefined): Readonly<{ timeout: number; signal: AbortSignal | undefined }> {
    if (options === undefined) return WAIT_FOREVER; // no allocation on the common call
    const opts = validateOptions(options, 'options', WAIT_KEYS);
    return { timeout: validateTimeout(opts['timeout']), signal: validateSignal(opts['signal']) };
  }

  #encode(value: T): Uint8Array {
    const bytes = this.#codec.encode(value);
    if (bytes.length > this.maxMessageSize) {
      throw new MessageTooLargeError(
        `message of ${bytes.length} bytes can never fit in queue '${this.name}' (largest: ${this.maxMessageSize} bytes); create the queue with a larger capacity`,
        bytes.length,
        this.maxMessageSize,
      );
    }
    return bytes;
  }

  #encodeMany(values: Iterable<T>): { bytes: Buffer; lens: Uint32Array; count: number } {
    if (values === null || typeof (values as Iterable<T>)?.[Symbol.iterator] !== 'function')
      throw invalidArgType('values', 'an iterable', values);
    let slab = this.#writeSlab ?? Buffer.allocUnsafe(64 * 1024);
    let lens = new Uint32Array(64);
    let count = 0;
    let total = 0;
    for (const value of values) {
      const bytes = this.#encode(value);
      if (total + bytes.length > slab.length) {
        const bigger = Buffer.allocUnsafe(Math.max(slab.length * 2, total + bytes.length));
        slab.copy(bigger, 0, 0, total);
        slab = bigger;
      }
      slab.set(bytes, total);
      if (count === lens.length) {
        const more = new Uint32Array(lens.length * 2);
        more.set(lens);
        lens = more;
      }
      lens[count++] = bytes.length;
      total += bytes.length;
    }
    this.#writeSlab = slab;
    return { bytes: slab, lens, count };
  }

  #push(bytes: Uint8Array, timeout: number): void {
    const handle = this.#live();
    // The first call is made directly (no closure, no clock read): that is every put that does not
    // have to wait long, the hot path.
    const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
    let st = handle.push(bytes, firstSlice(timeout));
    if (st === S.full && timeout !== firstSlice(timeout)) st = this.#pushWaiting(handle, bytes, timeout, started);
    if (st !== S.ok) this.#throwStatus(st, 'put', timeout, 0, bytes.length);
  }

  /**
   * Goes on with a blocking native call in slices of at most SYNC_SLICE_MS, after a first slice
   * (begun at `started`) returned `waiting`, until it returns something else or `timeout` (ms,
   * < 0 forever) has passed since `started`.
   */
  #sliced(timeout: number, started: number, call: (sliceMs: number) => number, waiting: number): number {
    const deadline = timeout < 0 ? Infinity : started + timeout;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return waiting;
      const r = call(left === Infinity ? SYNC_SLICE_MS : Math.min(SYNC_SLICE_MS, Math.ceil(left)));
      if (r !== waiting) return r;
    }
  }

  // The waiting halves of #push, #shift and #shiftMany live apart: a closure in those hot methods
  // would make V8 allocate a context on every call, waiting or not (a third of a 64-byte putSync).
  #pushWaiting(handle: NativeHandle, bytes: Uint8Array, timeout: number, started: number): number {
    return this.#sliced(timeout, started, (slice) => handle.push(bytes, slice), S.full);
  }

  #shiftWaiting(handle: NativeHandle, offset: number, timeout: number, started: number): number {
    return this.#sliced(timeout, started, (slice) => handle.shift(offset, slice), S.empty);
  }

  #shiftManyWaiting(
    handle: NativeHandle,
    offset: number,
    max: number,
    lens: Uint32Array,
    timeout: number,
    started: number,
  ): number {
    return this.#sliced(timeout, started, (slice) => handle.shiftMany(offset, max, lens, slice), S.empty);
  }

  /** @internal Runs a blocking native call in slices (see #sliced); for the batch put and JoinableQueue. */
  protected sliced(timeout: number, call: (sliceMs: number) => number, waiting: number): number {
    const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
    const r = call(firstSlice(timeout));
    return r === waiting && timeout !== firstSlice(timeout) ? this.#sliced(timeout, started, call, waiting) : r;
  }

  #newSlab(size: number): Buffer {
    // Not zero-filled: native code only copies whole messages in, and only bytes it copied are
    // ever handed out (a 1 MiB 'raw' message needs a new slab per get; zeroing it first cost as
    // much as the copy).
    const slab = Buffer.allocUnsafeSlow(size);
    // Values handed out by a borrowing codec ('raw') are views of this slab. Like Node's own Buffer
    // pool, it must not be transferred away (postMessage(buf, [buf.buffer])): that would detach
    // the slab under later gets.
    this.#slabMemory = slab.buffer as ArrayBuffer;
    if (this.#borrows) markAsUntransferable(this.#slabMemory);
    this.#handle?.setReadBuffer(this.#slabMemory);
    this.#slabOffset = 0;
    return slab;
  }

  /** Takes one message. Returns kEmpty instead of throwing when `throwEmpty` is false. */
  #shift(timeout: number, throwEmpty: boolean): T | typeof kEmpty {
    const handle = this.#live();
    if (this.#carry.length > 0) return this.#takeCarried();
    if (this.#borrows && this.#slabMemory.byteLength === 0) this.#slab = this.#newSlab(READ_SLAB_SIZE); // detached anyway
    for (;;) {
      const offset = this.#borrows ? this.#slabOffset : 0;
      const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
      let n = handle.shift(offset, firstSlice(timeout));
      if (n === S.empty && timeout !== firstSlice(timeout)) n = this.#shiftWaiting(handle, offset, timeout, started);
      if (n >= 0) {
        const bytes = this.#slab.subarray(offset, offset + n);
        if (this.#borrows) this.#slabOffset = offset + align8(n);
        return this.#codec.decode(bytes);
      }
      if (n === S.needSpace) {
        this.#growSlab(handle.needed());
        continue;
      }
      if (n === S.empty && !throwEmpty) return kEmpty;
      this.#throwStatus(n, 'get', timeout);
    }
  }

  /** Serves one entry of #carry: its value, or its decode error. */
  #takeCarried(): T {
    const entry = this.#carry.shift() as Carried<T>;
    if ('error' in entry) throw entry.error;
    return entry.value;
  }

  #shiftMany(max: number, timeout: number, throwEmpty: boolean): T[] | typeof kEmpty {
    const handle = this.#live();
    if (this.#carry.length > 0) {
      const out: T[] = [this.#takeCarried()]; // throws if the first carried entry is an error
      while (out.length < max && this.#carry.length > 0 && !('error' in (this.#carry[0] as Carried<T>)))
        out.push(this.#takeCarried());
      return out;
    }
    if (this.#borrows && this.#slabMemory.byteLength === 0) this.#slab = this.#newSlab(READ_SLAB_SIZE);
    if (this.#lens.length < max)
      this.#lens = new Uint32Array(Math.min(MAX_BATCH, Math.max(max, this.#lens.length * 2)));
    const lens = this.#lens;
    for (;;) {
      const offset = this.#borrows ? this.#slabOffset : 0;
      const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
      let n = handle.shiftMany(offset, max, lens, firstSlice(timeout));
      if (n === S.empty && timeout !== firstSlice(timeout))
        n = this.#shiftManyWaiting(handle, offset, max, lens, timeout, started);
      if (n > 0) {
        const out: T[] = [];
        let pos = offset;
        for (let i = 0; i < n; i++) {
          const len = lens[i] as number;
          const bytes = this.#slab.subarray(pos, pos + len);
          pos += align8(len);
          try {
            out.push(this.#codec.decode(bytes));
          } catch (error) {
            // The whole batch has left the ring: keep the error and every later message, in order,
            // for the next gets, instead of losing them with this one.
            this.#carry.push({ error });
            for (let j = i + 1; j < n; j++) {
              const l = lens[j] as number;
              const b = this.#slab.subarray(pos, pos + l);
              pos += align8(l);
              try {
                this.#carry.push({ value: this.#codec.decode(b) });
              } catch (e) {
                this.#carry.push({ error: e });
              }
            }
            break;
          }
        }
        if (this.#borrows) this.#slabOffset = pos;
        if (out.length === 0) return [this.#takeCarried()]; // the first message failed: throw now
        return out;
      }
      if (n === S.needSpace) {
        this.#growSlab(handle.needed());
        continue;
      }
      if (n === S.empty && !throwEmpty) return kEmpty;
      this.#throwStatus(n, 'get', timeout);
    }
  }

  /**
   * A fresh slab: bigger when a message did not fit at all, otherwise the usual size. A codec that
   * keeps its input ('raw') keeps each large message's slab alive as long as the message, so a
   * large message gets a slab of its own size rather than the next power of two.
   */
  #growSlab(needed: number): void {
    let size = READ_SLAB_SIZE;
    if (this.#borrows && needed > READ_SLAB_SIZE / 2) size = align8(needed);
    else while (size < needed + 8) size *= 2;
    this.#slab = this.#newSlab(size);
  }

  #statusError(status: number, op: 'put' | 'get', timeout: number, putCount = 0, size = 0): Error {
    switch (status) {
      case S.full:
        return new QueueFullError(
          timeout === 0
            ? `queue '${this.name}' is full (${this.#live().count()} messages, maxsize ${this.maxsize}, capacity ${this.capacity} bytes); use put() or putSync() to wait for room`
            : `queue '${this.name}' stayed full for ${timeout} ms; consumers are not keeping up (raise the timeout, maxsize or capacity)`,
          putCount,
        );
      case S.empty:
        return new QueueEmptyError(
          timeout === 0
            ? `queue '${this.name}' is empty; use get() or getSync() to wait for a message`
            : `queue '${this.name}' stayed empty for ${timeout} ms`,
        );
      case S.tooLarge:
        return new MessageTooLargeError(
          `message of ${size} bytes can never fit in queue '${this.name}' (largest: ${this.maxMessageSize} bytes); create the queue with a larger capacity`,
          size,
          this.maxMessageSize,
        );
      case S.shutdown:
        return new QueueShutdownError(
          op === 'put'
            ? `queue '${this.name}' is shut down; it accepts no more messages`
            : `queue '${this.name}' is shut down and drained`,
        );
      case S.corrupt:
        return new QueueCorruptError(this.#handle?.lastError().message || `queue '${this.name}' is corrupt`);
      case S.taskDoneTooMany:
        return new TaskDoneError(`taskDone() called more times than items were put on queue '${this.name}'`);
      default:
        return new ShmQueueError('ERR_QUEUE_CORRUPT', `queue '${this.name}': unexpected native status ${status}`);
    }
  }

  /** @internal Throws the typed error for a native status. */
  protected throwStatus(status: number, op: 'put' | 'get', timeout: number): never {
    this.#throwStatus(status, op, timeout);
  }

  #throwStatus(status: number, op: 'put' | 'get', timeout: number, putCount = 0, size = 0): never {
    throw this.#statusError(status, op, timeout, putCount, size);
  }

  /**
   * Adds a pending operation to its FIFO. `attempt` tries it without waiting; `onTimeout` makes
   * the value or error to settle with when `timeout` passes.
   */
  #enqueue<V>(
    kind: PendingKind,
    timeout: number,
    signal: AbortSignal | undefined,
    needed: number,
    resolve: (v: V) => void,
    reject: (e: unknown) => void,
    attempt: () => { done: false } | { done: true; value: V } | { done: true; error: unknown },
    onTimeout?: () => V | Error,
    onAbortError?: (reason: unknown) => unknown,
  ): Pending {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const remove = (): boolean => {
      const list = this.#pending[kind];
      const i = list.indexOf(op);
      if (i < 0) return false;
      list.splice(i, 1);
      this.#pendingChanged(-1);
      op.cleanup();
      return true;
    };
    const op: Pending = {
      kind,
      needed,
      attempt: () => {
        const r = attempt();
        if (!r.done) return false;
        remove();
        if ('error' in r) reject(r.error);
        else resolve(r.value);
        return true;
      },
      reject,
      cleanup: () => {
        if (timer) clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      },
    };
    if (timeout >= 0) {
      const fire = (): void => {
        if (!remove()) return;
        const r = onTimeout
          ? onTimeout()
          : this.#statusError(kind === 'get' ? S.empty : S.full, kind === 'get' ? 'get' : 'put', timeout);
        if (r instanceof Error) reject(r);
        else resolve(r);
        if (kind === 'put') this.#service('put'); // the next put may need less room
      };
      // Node timers overflow past 2^31-1 ms (they would fire at once): chain them.
      const schedule = (left: number): void => {
        timer =
          left > MAX_TIMER_MS ? setTimeout(() => schedule(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fire, left);
      };
      schedule(timeout);
    }
    if (signal) {
      onAbort = () => {
        if (!remove()) return;
        reject(onAbortError ? onAbortError(signal.reason) : signal.reason);
        if (kind === 'put') this.#service('put'); // the next put may need less room
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#pending[kind].push(op);
    this.#pendingChanged(+1);
    this.#arm(kind);
    return op;
  }

  #pendingChanged(delta: number): void {
    const before = this.#pendingCount;
    this.#pendingCount += delta;
    const h = this.#handle;
    if (!h) return;
    if (before === 0 && this.#pendingCount > 0) {
      busy.add(this);
      h.ref();
    } else if (before > 0 && this.#pendingCount === 0) {
      busy.delete(this);
      h.unref();
    }
  }

  #arm(kind: PendingKind): void {
    const h = this.#handle;
    const head = this.#pending[kind][0];
    if (!h || !head) return;
    if (!this.#watching) {
      // Weakly: the TSFN keeps this callback alive for as long as the handle lives, and a strong
      // reference would keep a forgotten queue (its thread, mapping and attach slot) forever.
      const self = new WeakRef(this);
      h.watch((event, status) => {
        const queue = self.deref();
        if (queue) queue.#onEvent(event, status);
      });
      this.#watching = true;
      if (this.#pendingCount > 0) h.ref();
    }
    const event = kind === 'get' ? NativeEvent.NotEmpty : kind === 'put' ? NativeEvent.NotFull : NativeEvent.AllDone;
    h.arm(event, head.needed);
  }

  #onEvent(event: NativeEvent, status: number): void {
    if (this.#handle === null) return;
    const kind: PendingKind = event === NativeEvent.NotEmpty ? 'get' : event === NativeEvent.NotFull ? 'put' : 'join';
    if (status === S.corrupt) this.#rejectAll(kind, this.#statusError(S.corrupt, 'get', 0));
    else this.#service(kind);
  }

  /** Settles every pending operation of `kind` with `error`. */
  #rejectAll(kind: PendingKind, error: Error): void {
    const list = this.#pending[kind];
    this.#pending[kind] = [];
    this.#pendingChanged(-list.length);
    for (const op of list) {
      op.cleanup();
      op.reject(error);
    }
  }

  /** Completes pending operations of `kind` in FIFO order while they can complete, then re-arms. */
  #service(kind: PendingKind): void {
    const list = this.#pending[kind];
    while (list.length > 0 && this.#handle !== null) {
      const head = list[0] as Pending;
      if (!head.attempt()) break;
    }
    if (list.length > 0) this.#arm(kind);
  }
}

/**
 * The rejection of a putMany aborted after some values went in: an AbortError like Node's (same
 * `name` and `code`), with the signal's reason as `cause` and how many values were put.
 */
function partialAbort(reason: unknown, putCount: number, total: number): Error {
  const error = new Error(
    `putMany was aborted after ${putCount} of ${total} values were put (they stay queued, in order)`,
    { cause: reason },
  );
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR', putCount });
}

/** Sentinel for "nothing there" in internal non-throwing gets. */
const kEmpty: unique symbol = Symbol('empty');

/**
 * A {@link Queue} that also counts unfinished tasks across processes, like Python's
 * `JoinableQueue`: every put adds one, every {@link JoinableQueue.taskDone} removes one, and
 * {@link JoinableQueue.join} waits until the count is zero.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** Creates the joinable queue `name` (same options as {@link Queue.create}). */
  static override create<T = unknown>(name: string, options?: CreateOptions<T>): JoinableQueue<T> {
    return new JoinableQueue<T>(kToken, openNative<T>(name, OpenMode.Create, options, true));
  }

  /** Opens the existing joinable queue `name`. */
  static override open<T = unknown>(name: string, options?: OpenOptions<T>): JoinableQueue<T> {
    return new JoinableQueue<T>(kToken, openNative<T>(name, OpenMode.Open, options, true));
  }

  /** Marks one task (an item taken with a get) as done. Throws `TaskDoneError` if more were marked done than put. */
  taskDone(): void {
    const st = this.handle.taskDone();
    if (st !== S.ok) this.throwStatus(st, 'get', 0);
  }

  /** Items put and not yet marked done, across all processes. */
  unfinishedTasks(): number {
    return this.handle.unfinished();
  }

  /**
   * Blocks the calling thread until every item put has been marked done (by any process), or
   * `timeout` ms pass. Returns `true` when all are done, `false` on timeout.
   */
  joinSync(options?: SyncWaitOptions): boolean {
    const opts = validateOptions(options, 'options', SYNC_WAIT_KEYS);
    const handle = this.handle;
    const st = this.sliced(
      validateTimeout(opts['timeout']),
      (slice) => handle.wait(NativeEvent.AllDone, 0, slice),
      S.timedOut,
    );
    if (st === S.ok) return true;
    if (st === S.timedOut) return false;
    this.throwStatus(st, 'get', 0);
  }

  /**
   * Resolves `true` once every item put has been marked done (by any process), or `false` when
   * `timeout` ms pass first. Never blocks the event loop; rejects with `signal.reason` on abort.
   */
  async join(options?: WaitOptions): Promise<boolean> {
    const opts = validateOptions(options, 'options', WAIT_KEYS);
    const timeout = validateTimeout(opts['timeout']);
    const signal = validateSignal(opts['signal']);
    signal?.throwIfAborted();
    const handle = this.handle;
    return this.waitEvent('join', timeout, signal, () => handle.wait(NativeEvent.AllDone, 0, 0) === S.ok);
  }
}
