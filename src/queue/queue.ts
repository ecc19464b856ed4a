/**
 * `Queue<T>`: a bounded FIFO in POSIX shared memory that unrelated processes open by name, with
 * the semantics of Python's `multiprocessing.Queue` (blocking put/get with timeouts, non-blocking
 * variants, exact `qsize()/empty()/full()`), plus promise-returning methods that never block the
 * event loop.
 *
 * The class is the list of public methods; each delegates to one part: ./open.ts (open and
 * negotiate), ./sync-wait.ts (blocking waits in slices), ./pending.ts (pending async operations),
 * ./read-slab.ts and ./receive.ts (gets), ./write-batch.ts (batch puts). Its state is in `#`
 * fields; JoinableQueue reaches what it needs through {@link internalsOf}, which this package's
 * entry point does not export.
 *
 * @module
 */
import type { Codec } from '../codecs/index.js';
import {
  invalidArgType,
  MessagesUndeliveredError,
  nativeError,
  QueueClosedError,
  type ShmQueueError,
  type StatusContext,
  statusError,
  tooLargeError,
} from '../errors.js';
import { addon, limits, type NativeHandle, OpenMode, queueFlags, status as S } from '../native/index.js';
import type {
  CreateOptions,
  OpenOptions,
  QueueStats,
  ShutdownOptions,
  GetSyncOptions,
  SyncWaitOptions,
  WaitOptions,
} from '../types.js';
import { validateInteger, validateName, validateOptionalBoolean, validateOptions } from '../validate.js';
import { DEFAULT_CAPACITY, type Opened, openQueue } from './open.js';
import { asyncOptions, syncTimeout } from './options.js';
import { type PendingKind, PendingOperations } from './pending.js';
import { MAX_BATCH, ReadSlab } from './read-slab.js';
import { kEmpty, Receiver } from './receive.js';
import { firstSlice, pushWaiting, SYNC_SLICE_MS, sliced } from './sync-wait.js';
import { BatchEncoder, BatchProgress, partialAbort } from './write-batch.js';

export { DEFAULT_CAPACITY };
/** Smallest accepted `capacity`, in bytes. */
export const MIN_CAPACITY: number = limits.minCapacity;
/** Largest accepted `capacity`, in bytes. */
export const MAX_CAPACITY: number = limits.maxCapacity;
/** Largest `maxsize` (messages). */
export const MAX_MAXSIZE: number = limits.maxMaxsize;

const kToken = Symbol('shm-queue.internal');

/** What a subclass constructor looks like to the static factories (`new this(...)`). */
export type QueueConstructor<Q> = new (token: symbol, internal: unknown) => Q;

/** What JoinableQueue needs of a queue's internals. Never reachable from user code. */
export interface QueueInternals {
  /** The open handle; throws QueueClosedError once closed. */
  live(): NativeHandle;
  /** Throws the typed error of a native status. */
  fail(status: number, op: 'put' | 'get', timeout: number): never;
  /** Waits (async) until `check` holds, as a pending operation of `kind`. */
  waitEvent(kind: 'join', timeout: number, signal: AbortSignal | undefined, check: () => boolean): Promise<boolean>;
}

let getInternals: (queue: Queue<unknown>) => QueueInternals;

/** @internal The internals of `queue`, for JoinableQueue. Not exported from the package. */
export function internalsOf(queue: Queue<unknown>): QueueInternals {
  return getInternals(queue);
}

/** Opens `name` for a factory: the shared body of every create/open of Queue and its subclasses. */
export function construct<Q>(ctor: QueueConstructor<Q>, opened: Opened<unknown>): Q {
  return new ctor(kToken, opened);
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
  declare readonly name: string;
  /** Most messages the queue holds (0 = bounded by bytes only). */
  declare readonly maxsize: number;
  /** Bytes of the shared ring. */
  declare readonly capacity: number;
  /** Name of the codec in use. */
  declare readonly codec: string;
  /** Largest encoded message, in bytes, that can ever be put. */
  declare readonly maxMessageSize: number;

  #handle: NativeHandle | null;
  readonly #codec: Codec<T>;
  readonly #joinable: boolean;
  readonly #receiver: Receiver<T>;
  readonly #pending: PendingOperations;
  readonly #writer = new BatchEncoder();

  static {
    getInternals = (q) => q.#internals();
  }

  /** @internal Use {@link Queue.create} or {@link Queue.open}. */
  constructor(token: symbol, internal: unknown) {
    if (token !== kToken)
      throw new TypeError('Queue has no public constructor; use Queue.create(name) or Queue.open(name)');
    const opened = internal as Opened<T>;
    const handle = opened.handle;
    this.#handle = handle;
    this.#codec = opened.codec;
    this.#joinable = (opened.info.flags & queueFlags.joinable) !== 0;
    // Read-only at run time too: full() and the error messages trust these.
    Object.defineProperties(this, {
      name: { value: opened.name, enumerable: true },
      maxsize: { value: opened.info.maxsize, enumerable: true },
      capacity: { value: opened.info.capacity, enumerable: true },
      codec: { value: opened.codec.name, enumerable: true },
      maxMessageSize: { value: opened.info.maxPayload, enumerable: true },
    });
    const slab = new ReadSlab(handle, opened.codec.borrowsInput === true);
    this.#receiver = new Receiver(opened.name, handle, opened.codec, slab, (st, timeout) =>
      this.#fail(st, 'get', timeout),
    );
    this.#pending = new PendingOperations(this, {
      handle: () => this.#handle,
      statusError: (st, op, timeout) => this.#statusError(st, op, timeout),
    });
  }

  /**
   * Creates the queue `name`. Throws `QueueExistsError` if it exists (unless `exclusive: false`).
   * Bad names and options throw `TypeError`/`RangeError` before any system call.
   *
   * Called on a subclass (`MyQueue.create(name)`), it returns an instance of that subclass; with
   * explicit type arguments name the subclass too: `MyQueue.create<Job, MyQueue<Job>>(name)`.
   */
  static create<T = unknown, Q extends Queue<T> = Queue<T>>(
    this: QueueConstructor<Q>,
    name: string,
    options?: CreateOptions<T>,
  ): Q {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class called, so a subclass gets its own instances
    return construct(this, openQueue<T>(name, OpenMode.Create, options, false));
  }

  /**
   * Opens the existing queue `name`. Throws `QueueNotFoundError` if there is none. Called on a
   * subclass, returns an instance of that subclass (as {@link Queue.create}).
   */
  static open<T = unknown, Q extends Queue<T> = Queue<T>>(
    this: QueueConstructor<Q>,
    name: string,
    options?: OpenOptions<T>,
  ): Q {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class called, so a subclass gets its own instances
    return construct(this, openQueue<T>(name, OpenMode.Open, options, false));
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
      throw nativeError(error, { queue: valid, op: 'unlink' });
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
    const timeout = syncTimeout(options);
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
  getSync(options?: GetSyncOptions): T {
    const timeout = syncTimeout(options, true);
    this.#live();
    const into = options?.into;
    if (into !== undefined) {
      if (!(into instanceof Uint8Array)) throw invalidArgType('options.into', 'a Uint8Array', into);
      return this.#receiver.shiftInto(into, timeout);
    }
    return this.#receiver.shift(timeout, true) as T;
  }

  /** Removes and returns the next value if there is one, else throws `QueueEmptyError` at once. */
  getNowait(): T {
    this.#live();
    return this.#receiver.shift(0, true) as T;
  }

  /**
   * Puts every value in order, taking the lock once per batch that fits. Blocks while the queue is
   * full, up to `timeout` ms. On timeout throws `QueueFullError` whose `putCount` says how many of
   * the values were put (those stay queued). Every value is encoded before any is put, so a value
   * the codec refuses puts nothing.
   */
  putManySync(values: Iterable<T>, options?: SyncWaitOptions): void {
    const timeout = syncTimeout(options);
    const progress = new BatchProgress(this.#writer.encode(values, (v: T) => this.#encode(v)));
    const handle = this.#live();
    sliced(timeout, (slice) => progress.push(handle, slice), S.full);
    if (!progress.complete) this.#fail(handle.lastError().status, 'put', timeout, progress.done);
  }

  /**
   * Removes and returns up to `max` values, taking the lock once. Blocks until at least one value
   * is there, up to `timeout` ms (then throws `QueueEmptyError`); never waits for more than one.
   */
  getManySync(max: number, options?: SyncWaitOptions): T[] {
    validateInteger(max, 'max', 1, MAX_BATCH);
    const timeout = syncTimeout(options);
    this.#live();
    return this.#receiver.shiftMany(max, timeout, true) as T[];
  }

  /**
   * Messages in the queue at this moment, across all processes, plus those this handle has taken
   * out but not handed out yet (the rest of a batch get whose decode failed part-way: the next
   * gets of this handle return them, close() puts them back).
   */
  qsize(): number {
    return this.#live().count() + this.#receiver.held;
  }

  /** `true` when the queue holds no message at this moment (counted as {@link Queue.qsize} does). */
  empty(): boolean {
    return this.#live().count() === 0 && this.#receiver.held === 0;
  }

  /** `true` when `maxsize` messages are queued (always `false` for a byte-bounded queue, `maxsize` 0, as in Python). */
  full(): boolean {
    return this.maxsize > 0 && this.#live().count() >= this.maxsize;
  }

  /** A snapshot of the queue's counters and header; see {@link QueueStats}. `messages` is {@link Queue.qsize}. */
  stats(): QueueStats {
    const s = this.#live().stats();
    return { name: this.name, ...s, messages: s.messages + this.#receiver.held };
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
    const immediate = validateOptionalBoolean(opts['immediate'], 'options.immediate');
    const st = this.#live().shutdown(immediate === true);
    if (st !== S.ok) this.#fail(st, 'put', 0);
    this.#pending.service('get');
    this.#pending.service('put');
  }

  /**
   * Closes this handle: pending async operations reject with `QueueClosedError`, the waiter thread
   * is stopped and the segment unmapped. The queue itself stays (see {@link Queue.unlink}). Idempotent.
   *
   * Messages this handle took out but did not hand out yet (see {@link Queue.qsize}) are put back
   * at the tail of the queue first. If the queue is full or shut down, the handle is closed all
   * the same and `close()` throws `MessagesUndeliveredError`, whose `messages` holds the bytes of
   * those it could not put back: nothing taken from the queue vanishes silently.
   */
  close(): void {
    const handle = this.#handle;
    if (!handle) return;
    const undelivered = this.#receiver.held > 0 ? this.#receiver.putBack(this.#joinable) : null;
    const why = undelivered === null ? null : this.#statusError(undelivered.status, 'put', 0);
    this.#handle = null;
    this.#pending.closeAll(this.#closedError());
    handle.close();
    if (undelivered !== null && why !== null) {
      throw new MessagesUndeliveredError(
        `closing queue '${this.name}': ${undelivered.messages.length} message(s) this handle had taken out could not be put back (${why.message}); error.messages holds their bytes`,
        undelivered.messages,
        undelivered.putBack,
        why,
      );
    }
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
    const { timeout, signal } = asyncOptions(options);
    const handle = this.#live();
    signal?.throwIfAborted();
    const bytes = this.#encode(value);
    if (!this.#pending.has('put')) {
      const st = handle.push(bytes, 0);
      if (st === S.ok) return;
      // busy: the lock is held (a stopped process): wait like for room, the waiter thread reports
      // only once it got the lock.
      if ((st !== S.full && st !== S.busy) || timeout === 0) this.#fail(st, 'put', timeout, 0, bytes.length);
    }
    const owned = Buffer.from(bytes); // the codec may reuse its buffer for the next encode
    return new Promise<void>((resolve, reject) => {
      this.#pending.enqueue('put', timeout, signal, owned.length, resolve, reject, () => {
        const st = this.#live().push(owned, 0);
        if (st === S.ok) return { done: true, value: undefined };
        if (st === S.full || st === S.busy) return { done: false };
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
    const { timeout, signal } = asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    const receiver = this.#receiver;
    if (!this.#pending.has('get')) {
      const v = receiver.shift(0, timeout === 0);
      if (v !== kEmpty) return v;
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.enqueue('get', timeout, signal, 0, resolve, reject, () => {
        try {
          this.#live();
          const v = receiver.shift(0, false);
          return v === kEmpty ? { done: false } : { done: true, value: v };
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
    const { timeout, signal } = asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    const batch = this.#writer.encode(values, (v: T) => this.#encode(v));
    const progress = new BatchProgress(batch);
    let last: number = S.full;
    const step = (): boolean => {
      const st = progress.push(this.#live(), 0);
      if (st === S.ok) return true;
      if (st !== S.full && st !== S.busy) this.#fail(st, 'put', timeout, progress.done);
      last = st;
      return false;
    };
    if (!this.#pending.has('put')) {
      if (step()) return;
      if (timeout === 0) this.#fail(last, 'put', timeout, progress.done);
    }
    this.#writer.detach(batch); // keep our copy while waiting
    return new Promise<void>((resolve, reject) => {
      const op = this.#pending.enqueue(
        'put',
        timeout,
        signal,
        progress.nextSize,
        resolve,
        reject,
        () => {
          try {
            if (step()) return { done: true, value: undefined };
            op.needed = progress.nextSize;
            return { done: false };
          } catch (error) {
            return { done: true, error };
          }
        },
        () => this.#statusError(S.full, 'put', timeout, progress.done, 0, batch.count),
        (reason) => (progress.done === 0 ? reason : partialAbort(reason, progress.done, batch.count)),
      );
    });
  }

  /**
   * Removes and returns up to `max` values (one lock). Waits until at least one is there, up to
   * `timeout` ms (then rejects with `QueueEmptyError`); never waits for more than one.
   */
  async getMany(max: number, options?: WaitOptions): Promise<T[]> {
    validateInteger(max, 'max', 1, MAX_BATCH);
    const { timeout, signal } = asyncOptions(options);
    this.#live();
    signal?.throwIfAborted();
    const receiver = this.#receiver;
    if (!this.#pending.has('get')) {
      const v = receiver.shiftMany(max, 0, timeout === 0);
      if (v !== kEmpty) return v;
    }
    return new Promise<T[]>((resolve, reject) => {
      this.#pending.enqueue('get', timeout, signal, 0, resolve, reject, () => {
        try {
          this.#live();
          const v = receiver.shiftMany(max, 0, false);
          return v === kEmpty ? { done: false } : { done: true, value: v };
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
  // Private parts.

  #internals(): QueueInternals {
    return {
      live: () => this.#live(),
      fail: (st, op, timeout) => this.#fail(st, op, timeout),
      waitEvent: (kind, timeout, signal, check) => this.#waitEvent(kind, timeout, signal, check),
    };
  }

  #live(): NativeHandle {
    const h = this.#handle;
    if (h === null) throw this.#closedError();
    return h;
  }

  #closedError(): QueueClosedError {
    return new QueueClosedError(`queue '${this.name}' handle is closed; open it again with Queue.open('${this.name}')`);
  }

  /** The typed error of a native status; `total` words a timed-out putMany. */
  #statusError(status: number, op: 'put' | 'get', timeout: number, putCount = 0, size = 0, total?: number): Error {
    const handle = this.#handle;
    const context: StatusContext = {
      queue: this.name,
      op,
      timeout,
      putCount,
      size,
      limit: this.maxMessageSize,
      maxsize: this.maxsize,
      capacity: this.capacity,
      ...(total === undefined ? {} : { total }),
      count: () => this.#live().count(),
      detail: () => handle?.lastError().message ?? '',
      holderPid: () => handle?.lastError().holderPid ?? 0,
    };
    return statusError(status, context);
  }

  #fail(status: number, op: 'put' | 'get', timeout: number, putCount = 0, size = 0): never {
    throw this.#statusError(status, op, timeout, putCount, size);
  }

  #waitEvent(kind: 'join', timeout: number, signal: AbortSignal | undefined, check: () => boolean): Promise<boolean> {
    if (check()) return Promise.resolve(true); // join takes nothing: no FIFO to respect
    if (timeout === 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.enqueue(
        kind satisfies PendingKind,
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

  #encode(value: T): Uint8Array {
    const bytes = this.#codec.encode(value);
    if (bytes.length > this.maxMessageSize) throw tooLargeError(this.name, bytes.length, this.maxMessageSize);
    return bytes;
  }

  #push(bytes: Uint8Array, timeout: number): void {
    const handle = this.#live();
    // The first call is made directly (no closure, no clock read): that is every put that does not
    // have to wait long, the hot path.
    const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
    let st = handle.push(bytes, firstSlice(timeout));
    if (st === S.full && timeout !== firstSlice(timeout)) st = pushWaiting(handle, bytes, timeout, started);
    if (st !== S.ok) this.#fail(st, 'put', timeout, 0, bytes.length);
  }
}
