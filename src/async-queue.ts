/**
 * The shared async interface: the promise half of the queue API that every backend implements,
 * the shared-memory {@link Queue} as well as `RedisQueue` (`shm-queue/redis`). A program written
 * against {@link AsyncQueue} runs unchanged on either; only the constructor differs.
 *
 * Design choice: the shared-memory queue answers `qsize()`, `empty()`, `full()`, `stats()`,
 * `putNowait()`, `getNowait()`, `taskDone()`, `unfinishedTasks()`, `shutdown()` and `close()`
 * synchronously (it reads shared memory), while a network queue must answer them with a promise.
 * Those members are therefore typed {@link Awaitable}: `T | Promise<T>`. Code written for both
 * backends always `await`s them (awaiting a plain value costs one microtask), and a synchronous
 * throw of the shared-memory queue's `putNowait` inside an `async` function becomes a rejection
 * just like the Redis queue's. So the shared-memory `Queue` satisfies the interface unchanged, with
 * its sync methods and its richer return types, and `RedisQueue` has no sync method at all.
 *
 * @module
 */
import type { ShutdownOptions, WaitOptions } from './types.js';

/** A value, or a promise of it: what a member of {@link AsyncQueue} returns. Always `await` it. */
export type Awaitable<T> = T | Promise<T>;

/** The counters every backend reports in `stats()` (each backend adds its own fields). */
export interface AsyncQueueStats {
  /** Queue name. */
  name: string;
  /** Messages waiting to be taken by a get (same as `qsize()`). */
  messages: number;
  /** Message limit (0 = no message limit). */
  maxsize: number;
  /** Messages ever put / taken (by every process). */
  puts: number;
  gets: number;
  /** Joinable queues: items put and not yet marked done (0 for a plain queue). */
  unfinishedTasks: number;
  /** Shutdown state of the queue. */
  shutdown: 'none' | 'graceful' | 'immediate';
  /** Name of the codec stored with the queue. */
  codec: string;
}

/**
 * The queue API shared by the shared-memory `Queue` and `RedisQueue`: same names, options,
 * errors and codes. Timeouts are in milliseconds: absent waits forever, `0` does not wait.
 *
 * @typeParam T - the type of the values carried.
 */
export interface AsyncQueue<T = unknown> extends AsyncIterable<T> {
  /** The queue's name. */
  readonly name: string;
  /** Most messages the queue holds (0 = no message limit). */
  readonly maxsize: number;
  /** Name of the codec in use. */
  readonly codec: string;
  /** `true` once this handle was closed. */
  readonly closed: boolean;
  /** Puts `value`, waiting for room up to `timeout` ms (then `QueueFullError`) or until `signal` aborts. */
  put(value: T, options?: WaitOptions): Promise<void>;
  /** Takes the next value, waiting up to `timeout` ms (then `QueueEmptyError`) or until `signal` aborts. */
  get(options?: WaitOptions): Promise<T>;
  /** Puts every value in order; on timeout `QueueFullError` whose `putCount` says how many went in. */
  putMany(values: Iterable<T>, options?: WaitOptions): Promise<void>;
  /** Takes up to `max` values: waits for at least one, never for more. */
  getMany(max: number, options?: WaitOptions): Promise<T[]>;
  /** Puts `value` if there is room now, else fails at once with `QueueFullError`. */
  putNowait(value: T): Awaitable<void>;
  /** Takes the next value if there is one now, else fails at once with `QueueEmptyError`. */
  getNowait(): Awaitable<T>;
  /** Messages waiting to be taken, across all processes. */
  qsize(): Awaitable<number>;
  /** `true` when no message waits. */
  empty(): Awaitable<boolean>;
  /** `true` when `maxsize` messages wait (always `false` when `maxsize` is 0). */
  full(): Awaitable<boolean>;
  /** A snapshot of the queue's counters. */
  stats(): Awaitable<AsyncQueueStats>;
  /** Shuts the queue down for every process: puts fail, gets drain then fail, `for await` loops end. */
  shutdown(options?: ShutdownOptions): Awaitable<void>;
  /** Closes this handle: its pending operations reject with `QueueClosedError`. Idempotent. */
  close(): Awaitable<void>;
  /** Closes the handle, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** {@link AsyncQueue} plus the `JoinableQueue` additions (Python's `JoinableQueue`). */
export interface AsyncJoinableQueue<T = unknown> extends AsyncQueue<T> {
  /** Marks one task done; `TaskDoneError` when called more often than items were put. */
  taskDone(): Awaitable<void>;
  /** Resolves `true` once every item put was marked done, `false` when `timeout` passes first. */
  join(options?: WaitOptions): Promise<boolean>;
  /** Items put and not yet marked done, across all processes. */
  unfinishedTasks(): Awaitable<number>;
}

export type { ShutdownOptions, WaitOptions };
