/**
 * `ProcessPool`: Python's `multiprocessing.Pool` for Node. Workers are plain `node` processes
 * (spawned, no IPC channel); tasks and results travel through pool-private shared-memory queues;
 * a task names its function by the module's URL and the export's name, never by source.
 *
 * How the pool knows which task a dead worker held: every worker has its own task queue and its
 * own result queue; the pool alone decides what goes where, and a worker takes one task at a time
 * and puts its result before it takes the next. When a worker dies, the pool reads what is left
 * of its results, takes back what is left in its task queue (never started: sent elsewhere
 * without counting a retry), and the one task the worker took without answering is the task it
 * held: it is retried (up to `retries`) or rejects with `WorkerCrashedError`.
 *
 * Both queues of a worker are unlinked by the worker as soon as it has opened them, so nothing of
 * a running pool is left under /dev/shm, whatever is killed.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AsyncResult } from './async-result.js';
import { deathSignalPrefix } from './death-signal.js';
import {
  type Codec,
  invalidArgType,
  Queue,
  QueueFullError,
  validateInteger,
  validateOptions,
  validateSignal,
  validateTimeout,
} from './deps.js';
import {
  PoolClosedError,
  PoolRunningError,
  PoolStartupError,
  PoolTerminatedError,
  TaskArgumentsError,
  TaskModuleError,
  type TaskInfo,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerStartupTimeoutError,
} from './errors.js';
import {
  type ApplyOptions,
  type ImapOptions,
  type MapOptions,
  type ProcessPoolOptions,
  type ProcessPoolStats,
  type Settings,
  settingsOf,
  taskModuleUrl,
} from './options.js';
import { F_REFS, F_STAR, FromWorker, readResultFrame, ToWorker, taskFrame, taskHead } from './protocol.js';
import {
  containsQueue,
  importCodec,
  isBuiltinCodec,
  openRef,
  type QueueRef,
  refOf,
  replaceQueues,
  restoreQueues,
} from './queue-refs.js';
import { fromWire, type WireError } from './remote-error.js';
import type { WorkerConfig } from './worker.js';

// ---------------------------------------------------------------------------------------------
// Internals.

const APPLY_KEYS = ['timeout', 'signal'] as const;
const MAP_KEYS = ['timeout', 'signal', 'chunksize'] as const;
const IMAP_KEYS = ['signal', 'chunksize'] as const;
/** Start-up failures in a row (no worker became ready in between) after which the pool gives up. */
const STARTUP_FAILURE_LIMIT = 3;
/** ...or this many start-ups in a row ended by a signal (an OOM kill, an operator). */
const SIGNAL_STARTUP_LIMIT = 10;
/** A worker gets up to this many tasks at once when they are short... */
const MAX_DEPTH = 256;
/** ...so that about this much work (µs) waits in its queue: short tasks need no round trip each,
 *  long ones are not stranded behind one another while another worker idles. */
const PIPELINE_MICROS = 4000;
const NAME_PREFIX = 'shmq-pool-';
/** Messages at least this large are put at once rather than batched at the end of the tick. */
const DIRECT_PUT_BYTES = 16 * 1024;
/** A reader that got fewer results than this while at least COALESCE_INFLIGHT are out waits 1 ms. */
const COALESCE_BELOW = 8;
/** ...when its waits for results take this long on average (ms): the machine is loaded. */
const COALESCE_WAKE_MS = 0.5;
const COALESCE_INFLIGHT = 64;
/** A wait on a worker's queue failed without the worker having gone (no waiter thread could be made:
 *  EAGAIN under RLIMIT_NPROC): it is tried again after this many ms, rather than at once in a loop. */
const WAIT_RETRY_MS = 10;

/** The compiled worker entry: next to this file in dist/, or dist/pool/ when running from src/. */
const WORKER_FILE = ((): string => {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts')
    ? resolvePath(dirname(here), '../../dist/pool/worker.js')
    : join(dirname(here), 'worker.js');
})();

type TaskState = 'waiting' | 'pending' | 'sending' | 'sent' | 'settled';

interface Task {
  readonly id: number;
  readonly name: string;
  /** Encoded message; kept while the task may have to be sent (again). */
  bytes: Uint8Array | null;
  state: TaskState;
  worker: Worker | null;
  crashes: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Queues of the arguments, by name: a result naming one gives the caller's own handle back. */
  argQueues: Map<string, Queue<unknown>> | null;
  timer: NodeJS.Timeout | null;
  timeout: number;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

/**
 * A task on its way into a worker's queue. It goes in even if the task was cancelled meanwhile:
 * the worker answers its tasks in order, and the pool matches answers to tasks by that order.
 */
interface Outgoing {
  task: Task;
  bytes: Uint8Array;
}

interface Worker {
  readonly seq: number;
  readonly child: ChildProcess;
  pid: number;
  readonly tasks: Queue<Uint8Array>;
  readonly results: Queue<Uint8Array>;
  readonly names: readonly [string, string];
  ready: boolean;
  /** Tasks sent (or being sent) and not answered, in the order the worker runs them. */
  inflight: Task[];
  /** Tasks to put at the end of this tick, in order, with their bytes. */
  outbox: Outgoing[];
  /** Tasks whose put waits for room in the task queue, in order, with their bytes. */
  backlog: Outgoing[];
  flushing: boolean;
  sent: number;
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | null;
  reading: boolean;
  readonly stopReading: AbortController;
  depth: number;
  ewmaMicros: number;
  /** Set when the pool kills the worker: the task it was killed for and that task's error. */
  kill: { task: Task | null; error: unknown } | null;
  stopping: boolean;
  fatal: unknown;
  runTimer: NodeJS.Timeout | null;
  finished: boolean;
  /** Average time (ms) an async wait for this worker's results took (see #read). */
  wakeMs: number;
  /** It answered a task (so it started fine). */
  answered: boolean;
  /** Kills the worker if it is not ready within `startupTimeout` (null once ready, or with no limit). */
  startTimer: NodeJS.Timeout | null;
  /** The pool killed it for not being ready within `startupTimeout`. */
  startupTimedOut: boolean;
}

const noop = (): void => {};
/** Resolves after the event loop's next check phase. */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An async iterator whose first step rejects with `error` (a call refused at the call). */
function refusedIterator<T>(error: Error): AsyncIterableIterator<T> {
  let thrown = false;
  const it: AsyncIterableIterator<T> = {
    next: () => {
      if (thrown) return Promise.resolve({ done: true, value: undefined });
      thrown = true;
      return Promise.reject(error);
    },
    return: () => Promise.resolve({ done: true, value: undefined }),
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
/** Parsed options of a call made without options (shared, never changed). */
const NO_OPTIONS: { timeout: number; signal: AbortSignal | null; chunksize: number } = Object.freeze({
  timeout: -1,
  signal: null,
  chunksize: 0,
});

/** Pools of this process that still have workers: killed (and their names unlinked) at exit. */
const livePools = new Set<ProcessPool>();
let exitHookInstalled = false;
let swept = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes queue names left by pools whose process died during a worker's start-up. */
function sweepStaleNames(): void {
  if (swept) return;
  swept = true;
  let entries: string[];
  try {
    entries = readdirSync('/dev/shm');
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(`shm-queue.${NAME_PREFIX}`)) continue;
    const name = entry.slice('shm-queue.'.length);
    const pid = Number(name.slice(NAME_PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      try {
        Queue.unlink(name);
      } catch {
        // someone else's, or already gone
      }
    }
  }
}

function taskInfo(task: Task): TaskInfo {
  return { name: task.name, id: task.id, attempts: Math.max(1, task.crashes) };
}

/**
 * A pool of worker processes that run the exported functions of one ES module.
 *
 * ```js
 * const pool = new ProcessPool(new URL('./tasks.mjs', import.meta.url), { processes: 2 });
 * console.log(await pool.map('square', [1, 2, 3])); // [1, 4, 9]
 * pool.close();
 * await pool.join();
 * ```
 */
export class ProcessPool implements AsyncDisposable {
  /** URL of the task module. */
  readonly module: string;
  /** Number of worker processes the pool keeps. */
  readonly processes: number;

  readonly #s: Settings;
  readonly #prefix: string;
  readonly #refKey: string;
  readonly #initBytes: Uint8Array;
  readonly #maxMessage: number;
  #state: ProcessPoolStats['state'] = 'running';
  #failure: Error | null = null;
  readonly #workers = new Set<Worker>();
  #workerSeq = 0;
  #taskSeq = 0;
  /** Tasks accepted, not yet handed to a worker. */
  #pending: Task[] = [];
  /** Calls waiting for room (maxQueued), in order. */
  #waiting: Task[] = [];
  /** Submitters (map, imap) waiting for room before they encode their next task. */
  #roomWaiters: (() => void)[] = [];
  #unsettled = 0;
  #exports: Set<string> | null = null;
  /** Start-up failures in a row, weighted (see #finish). */
  #startupFailures = 0;
  #startupAttempts = 0;
  #lastStartupError: unknown = null;
  #joinWaiters: (() => void)[] = [];
  #flushScheduled = false;
  /** map and imap calls still submitting (they may go on after close()). */
  #submitters = 0;
  /** After close(): the workers were told to exit; nothing more is accepted. */
  #stopped = false;
  /** imap pumps waiting for the consumer: woken by close() (then they submit the rest at once). */
  readonly #pumpWakers = new Set<() => void>();
  readonly #counts = { done: 0, failed: 0, crashed: 0, retried: 0, recycled: 0 };
  readonly #resultCodecs = new Map<string, Promise<Codec<unknown>>>();

  /**
   * Starts `options.processes` workers that import `moduleUrlOrPath` (a `URL`, a `file:` URL
   * string, or a path; relative paths resolve against the current directory).
   *
   * @throws TaskModuleError `ERR_TASK_MODULE` when the module file does not exist.
   * @throws TypeError / RangeError for bad options; TaskArgumentsError for `initArgs` that cannot be sent.
   */
  constructor(moduleUrlOrPath: string | URL, options?: ProcessPoolOptions) {
    this.module = taskModuleUrl(moduleUrlOrPath);
    this.#s = settingsOf(options);
    this.processes = this.#s.processes;
    sweepStaleNames();
    this.#prefix = `${NAME_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#refKey = `__shm_queue_pool_ref_${randomBytes(6).toString('hex')}`;
    const { payload, refs } = this.#encodeQueues(this.#s.initArgs, null, 'initArgs');
    try {
      this.#initBytes = taskFrame(
        ToWorker.Init,
        refs ? F_REFS : 0,
        0,
        this.#s.initializer ?? '',
        refs ? [payload, refs] : payload,
      );
    } catch (error) {
      throw new TaskArgumentsError(`options.initArgs cannot be sent to the workers: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const pool of livePools) pool.#killAllNow();
      });
    }
    livePools.add(this);
    try {
      for (let i = 0; i < this.processes; i++) this.#spawn();
    } catch (error) {
      this.#state = 'terminated';
      livePools.delete(this);
      this.#killAllNow();
      throw error;
    }
    const first = this.#workers.values().next().value as Worker;
    this.#maxMessage = first.tasks.maxMessageSize;
    if (this.#initBytes.length > this.#maxMessage) {
      this.#state = 'terminated';
      livePools.delete(this);
      this.#killAllNow();
      throw new TaskArgumentsError(
        `options.initArgs encode to ${this.#initBytes.length} bytes, more than the pool's queues carry (${this.#maxMessage}); raise options.queueCapacity`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Public API.

  /** Runs `name(...args)` in a worker; resolves to its result. */
  apply<T = unknown>(name: string, args: readonly unknown[] = [], options?: ApplyOptions): Promise<T> {
    try {
      if (!Array.isArray(args)) throw invalidArgType('args', 'an array', args);
      const opts = this.#callOptions(options, APPLY_KEYS);
      return this.#submit(ToWorker.Call, name, args, false, opts) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like {@link apply}, returning an {@link AsyncResult} (Python's `apply_async`). */
  applyAsync<T = unknown>(name: string, args: readonly unknown[] = [], options?: ApplyOptions): AsyncResult<T> {
    return new AsyncResult<T>(this.apply<T>(name, args, options));
  }

  /** `name(item)` for every item, in chunks of `chunksize`; resolves to the results in order. */
  map<T = unknown>(name: string, iterable: Iterable<unknown>, options?: MapOptions): Promise<T[]> {
    return this.#mapChunks<T>(name, iterable, options, false);
  }

  /** `name(...item)` for every item (each an array of arguments); results in order. */
  starmap<T = unknown>(name: string, iterable: Iterable<readonly unknown[]>, options?: MapOptions): Promise<T[]> {
    return this.#mapChunks<T>(name, iterable, options, true);
  }

  /**
   * `name(item)` for every item of a (sync or async) iterable, yielded in order. Items are read
   * and sent as results are consumed (a bounded window), so an endless iterable works.
   */
  imap<T = unknown>(
    name: string,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options?: ImapOptions,
  ): AsyncIterableIterator<T> {
    return this.#iterate<T>(name, iterable, options, true);
  }

  /** Like {@link imap}, yielding each result as soon as its task finishes. */
  imapUnordered<T = unknown>(
    name: string,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options?: ImapOptions,
  ): AsyncIterableIterator<T> {
    return this.#iterate<T>(name, iterable, options, false);
  }

  /**
   * Takes no new task; the tasks already accepted run to the end, then the workers exit. A worker
   * still starting by then holds no task: it is killed rather than waited for (it may be stuck in
   * Node's own start-up and never read its queue).
   */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closed';
    for (const wake of this.#pumpWakers) wake();
    this.#pumpWakers.clear();
    this.#stopIfDone();
  }

  /**
   * Stops now: every unfinished task rejects with `ERR_POOL_TERMINATED`, the workers are killed.
   * Resolves when they are gone.
   */
  terminate(): Promise<void> {
    if (this.#state === 'running' || this.#state === 'closed') {
      this.#state = 'terminated';
      this.#rejectEverything(new PoolTerminatedError('the pool was terminated before the task finished'));
      for (const w of this.#workers) this.#killWorker(w, null, null);
    }
    return this.#allExited();
  }

  /**
   * Waits until every worker has exited. Call `close()` (or `terminate()`) first, as in Python;
   * on a running pool it rejects with `ERR_POOL_RUNNING`.
   */
  join(): Promise<void> {
    if (this.#state === 'running')
      return Promise.reject(
        new PoolRunningError('the pool is still running; call close() or terminate() before join()'),
      );
    return this.#allExited();
  }

  /** `close()` then `join()`, for `await using pool = new ProcessPool(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /** Counters and the current state; see {@link ProcessPoolStats}. */
  stats(): ProcessPoolStats {
    let busy = 0;
    let running = 0;
    let starting = 0;
    const pids: number[] = [];
    for (const w of this.#workers) {
      if (w.pid > 0) pids.push(w.pid);
      if (!w.ready) starting++;
      let n = 0;
      for (const t of w.inflight) if (t.state !== 'settled') n++;
      if (n > 0) busy++;
      running += n;
    }
    return {
      workers: this.#workers.size,
      starting,
      busy,
      queued: this.#pending.length + this.#waiting.length,
      running,
      ...this.#counts,
      pids,
      state: this.#state,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Submitting.

  #callOptions(
    options: unknown,
    keys: readonly string[],
  ): { timeout: number; signal: AbortSignal | null; chunksize: number } {
    if (options === undefined) return NO_OPTIONS;
    const o = validateOptions(options, 'options', keys);
    const chunksize =
      o['chunksize'] === undefined ? 0 : validateInteger(o['chunksize'], 'options.chunksize', 1, 2 ** 31 - 1);
    return { timeout: validateTimeout(o['timeout']), signal: validateSignal(o['signal']) ?? null, chunksize };
  }

  /** Why a call must be refused now, or null. `internal`: a map or imap that began before close(). */
  #refusal(name: unknown, internal = false): Error | null {
    if (this.#state === 'closed' && (!internal || this.#stopped))
      return new PoolClosedError('the pool is closed (close() was called); it takes no new task');
    if (this.#state === 'terminated') return new PoolTerminatedError('the pool was terminated; it takes no new task');
    if (this.#state === 'failed') return this.#failure;
    if (typeof name !== 'string') return invalidArgType('name', 'of type string (the name of an export)', name);
    if (this.#exports !== null && !this.#exports.has(name)) return this.#unknown(name);
    return null;
  }

  #unknown(name: string): UnknownTaskError {
    const available = [...(this.#exports ?? [])];
    return new UnknownTaskError(
      `the task module ${this.module} has no exported function '${name}'; it exports: ${available.join(', ') || '(no functions)'}`,
      name,
      available,
    );
  }

  /** Replaces the queues in `value` by placeholders; checks custom codecs can be imported. */
  #encodeQueues(
    value: unknown,
    argQueues: Map<string, Queue<unknown>> | null,
    what: string,
  ): { payload: unknown; refs: QueueRef[] | 0 } {
    if (!containsQueue(value)) return { payload: value, refs: 0 };
    const table: QueueRef[] = [];
    const index = new Map<Queue<unknown>, number>();
    const payload = replaceQueues(value, this.#refKey, (q) => {
      let i = index.get(q);
      if (i !== undefined) return i;
      if (q.closed) throw new TaskArgumentsError(`${what} hold the queue '${q.name}', whose handle is closed`);
      if (!isBuiltinCodec(q.codec) && !this.#s.codecs[q.codec]) {
        throw new TaskArgumentsError(
          `${what} hold the queue '${q.name}' with the custom codec '${q.codec}', which the workers cannot import; ` +
            `pass new ProcessPool(module, { codecs: { '${q.codec}': { module: new URL('./codec.mjs', import.meta.url), export: 'name' } } })`,
        );
      }
      i = table.push(refOf(q)) - 1;
      index.set(q, i);
      argQueues?.set(q.name, q);
      return i;
    });
    return { payload, refs: table };
  }

  /** Encodes and queues one task; the promise settles with its result. */
  #submit(
    kind: number,
    name: string,
    payload: unknown,
    star: boolean,
    opts: { timeout: number; signal: AbortSignal | null },
    internal = false,
  ): Promise<unknown> {
    const refusal = this.#refusal(name, internal);
    if (refusal) throw refusal;
    opts.signal?.throwIfAborted();
    const id = ++this.#taskSeq;
    const argQueues = containsQueue(payload) ? new Map<string, Queue<unknown>>() : null;
    const encoded = argQueues
      ? this.#encodeQueues(payload, argQueues, `the arguments of task '${name}'`)
      : { payload, refs: 0 as const };
    let bytes: Uint8Array;
    try {
      const flags = (encoded.refs ? F_REFS : 0) | (star ? F_STAR : 0);
      bytes = taskFrame(kind, flags, id, name, encoded.refs ? [encoded.payload, encoded.refs] : encoded.payload);
    } catch (error) {
      throw new TaskArgumentsError(
        `the arguments of task '${name}' cannot be sent to a worker: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (bytes.length > this.#maxMessage) {
      throw new TaskArgumentsError(
        `the arguments of task '${name}' encode to ${bytes.length} bytes, more than the pool's queues carry (${this.#maxMessage}); ` +
          'raise options.queueCapacity, or hand large data over through a Queue or a file',
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const task: Task = {
        id,
        name,
        bytes: null,
        state: 'pending',
        worker: null,
        crashes: 0,
        resolve,
        reject,
        argQueues,
        timer: null,
        timeout: opts.timeout,
        signal: opts.signal,
        onAbort: null,
      };
      this.#unsettled++;
      if (opts.timeout >= 0) {
        task.timer = setTimeout(() => {
          this.#cancel(
            task,
            new TaskTimeoutError(
              `task '${name}' did not finish within its ${opts.timeout} ms timeout`,
              opts.timeout,
              taskInfo(task),
            ),
          );
        }, opts.timeout);
      }
      if (opts.signal) {
        const signal = opts.signal;
        task.onAbort = () => this.#cancel(task, signal.reason);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      // Fast path: an idle worker can take it now; the bytes go straight into its queue.
      if (this.#pending.length === 0 && this.#waiting.length === 0) {
        const w = this.#pickWorker(name);
        if (w) {
          this.#send(w, task, bytes, false);
          return;
        }
      }
      task.bytes = bytes;
      if (this.#pending.length < this.#s.maxQueued && this.#waiting.length === 0) {
        this.#pending.push(task);
        this.#dispatch();
      } else {
        task.state = 'waiting';
        this.#waiting.push(task);
      }
    });
  }

  /** Resolves when a new task would not have to wait for room (maxQueued). */
  #room(signal: AbortSignal | null): Promise<void> {
    if (this.#pending.length + this.#waiting.length < this.#s.maxQueued) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#roomWaiters.indexOf(wake);
        if (i >= 0) this.#roomWaiters.splice(i, 1);
        reject(signal?.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#roomWaiters.push(wake);
    });
  }

  /** Moves calls waiting for room into the queue, and wakes submitters, as room appears. */
  #admit(): void {
    while (this.#waiting.length > 0 && this.#pending.length < this.#s.maxQueued) {
      const task = this.#waiting.shift() as Task;
      task.state = 'pending';
      this.#pending.push(task);
    }
    while (this.#roomWaiters.length > 0 && this.#pending.length + this.#waiting.length < this.#s.maxQueued) {
      (this.#roomWaiters.shift() as () => void)();
    }
  }

  async #mapChunks<T>(name: string, iterable: unknown, options: unknown, star: boolean): Promise<T[]> {
    const refusal = this.#refusal(name);
    if (refusal) throw refusal;
    const opts = this.#callOptions(options, MAP_KEYS);
    if (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== 'function')
      throw invalidArgType('iterable', 'an iterable', iterable);
    const items = Array.from(iterable as Iterable<unknown>);
    if (star) {
      for (let i = 0; i < items.length; i++)
        if (!Array.isArray(items[i])) throw invalidArgType(`iterable[${i}]`, 'an array of arguments', items[i]);
    }
    const chunksize = opts.chunksize || Math.max(1, Math.ceil(items.length / (this.processes * 4)));
    const chunks: Promise<unknown>[] = [];
    // Chunks are sent as room allows; a close() meanwhile lets them all in (as in Python).
    this.#submitters++;
    try {
      for (let i = 0; i < items.length; i += chunksize) {
        await this.#room(opts.signal);
        const p = this.#submit(ToWorker.Chunk, name, items.slice(i, i + chunksize), star, opts, true);
        p.catch(noop);
        chunks.push(p);
      }
    } finally {
      this.#submitters--;
      this.#stopIfDone();
    }
    const results = (await Promise.all(chunks)) as T[][];
    return results.flat(1) as T[];
  }

  #iterate<T>(name: string, iterable: unknown, options: unknown, ordered: boolean): AsyncIterableIterator<T> {
    // Checked at the call; the iterator's first step rejects with the error.
    let early: Error | null = null;
    let opts = NO_OPTIONS;
    try {
      const refusal = this.#refusal(name);
      if (refusal) throw refusal;
      opts = this.#callOptions(options, IMAP_KEYS);
      const it = iterable as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
      if (typeof it?.[Symbol.iterator] !== 'function' && typeof it?.[Symbol.asyncIterator] !== 'function')
        throw invalidArgType('iterable', 'an iterable or an async iterable', iterable);
    } catch (error) {
      early = error as Error;
    }
    if (early) return refusedIterator<T>(early);
    const pool = this;
    const chunksize = opts.chunksize || 1;
    const window = Math.max(16, this.processes * MAX_DEPTH);
    const source = iterable as Iterable<unknown> & AsyncIterable<unknown>;
    const iterator: Iterator<unknown> | AsyncIterator<unknown> =
      typeof source[Symbol.asyncIterator] === 'function' ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    interface Slot {
      done: boolean;
      ok: boolean;
      value: unknown[] | undefined;
      error: unknown;
    }
    const order: Slot[] = [];
    const completed: Slot[] = [];
    let outstanding = 0; // submitted, not yet handed to the consumer
    let exhausted = false;
    let abandoned = false;
    let failure: { error: unknown } | null = null;
    let wakeConsumer: (() => void) | null = null;
    let wakePump: (() => void) | null = null;
    const task = { timeout: -1, signal: opts.signal };
    const settled = (slot: Slot): void => {
      if (!ordered) completed.push(slot);
      wakeConsumer?.();
    };

    // The pump reads the iterable and submits chunks, at most `window` ahead of the consumer
    // while the pool runs; once the pool is closed it submits the rest at once (as Python's imap
    // does at the call), so that close() then join() finish even if nobody reads the results.
    const pump = async (): Promise<void> => {
      try {
        while (!abandoned) {
          if (outstanding >= window && pool.#state === 'running') {
            await new Promise<void>((resolve) => {
              wakePump = resolve;
              pool.#pumpWakers.add(resolve);
            });
            continue;
          }
          const chunk: unknown[] = [];
          while (chunk.length < chunksize) {
            const step = await iterator.next();
            if (step.done) {
              exhausted = true;
              break;
            }
            chunk.push(step.value);
          }
          if (chunk.length === 0 || abandoned) break;
          await pool.#room(opts.signal);
          const slot: Slot = { done: false, ok: false, value: undefined, error: undefined };
          const p = pool.#submit(ToWorker.Chunk, name, chunk, false, task, true);
          outstanding++;
          if (ordered) order.push(slot);
          p.then(
            (value) => {
              slot.done = true;
              slot.ok = true;
              slot.value = value as unknown[];
              settled(slot);
            },
            (error: unknown) => {
              slot.done = true;
              slot.error = error;
              settled(slot);
            },
          );
          if (exhausted) break;
        }
      } catch (error) {
        failure = { error };
      } finally {
        exhausted = true;
        pool.#submitters--;
        pool.#stopIfDone();
        wakeConsumer?.();
      }
    };
    this.#submitters++;
    void pump();

    return (async function* consume(): AsyncGenerator<T> {
      try {
        for (;;) {
          const slot = ordered ? order[0] : completed[0];
          if (slot?.done) {
            (ordered ? order : completed).shift();
            outstanding--;
            if (wakePump) {
              pool.#pumpWakers.delete(wakePump);
              (wakePump as () => void)();
              wakePump = null;
            }
            if (!slot.ok) throw slot.error;
            for (const v of slot.value as T[]) yield v;
            continue;
          }
          if (slot === undefined && exhausted) {
            if (failure) throw (failure as { error: unknown }).error;
            if (outstanding === 0) return;
          }
          await new Promise<void>((resolve) => {
            wakeConsumer = resolve;
          });
          wakeConsumer = null;
        }
      } finally {
        if (!exhausted) {
          abandoned = true;
          if (wakePump) (wakePump as () => void)();
          await (iterator as AsyncIterator<unknown>).return?.();
        }
      }
    })();
  }

  // -------------------------------------------------------------------------------------------
  // Dispatching.

  /** The ready worker with the fewest tasks that has room for one more, or null. */
  #pickWorker(name: string): Worker | null {
    if (this.#exports === null || !this.#exports.has(name)) return null;
    let best: Worker | null = null;
    for (const w of this.#workers) {
      if (!w.ready || w.exit || w.stopping || w.inflight.length >= w.depth) continue;
      if (this.#s.maxTasksPerChild > 0 && w.sent >= this.#s.maxTasksPerChild) continue;
      if (best === null || w.inflight.length < best.inflight.length) best = w;
    }
    return best;
  }

  #dispatch(): void {
    this.#admit();
    while (this.#pending.length > 0) {
      const task = this.#pending[0] as Task;
      if (this.#exports !== null && !this.#exports.has(task.name)) {
        this.#pending.shift();
        this.#settle(task, false, this.#unknown(task.name));
        continue;
      }
      const w = this.#pickWorker(task.name);
      if (!w) break;
      this.#pending.shift();
      this.#send(w, task, task.bytes as Uint8Array, false);
      if (this.#waiting.length > 0 || this.#roomWaiters.length > 0) this.#admit();
    }
  }

  /**
   * Hands `task` to `w`. Small messages wait in the worker's outbox until the current tick's
   * work is done (`process.nextTick`), then go in with one lock and at most one wake-up for the
   * whole batch; a large one goes in at once (a batch would not save anything). Order is kept.
   */
  #send(w: Worker, task: Task, bytes: Uint8Array, borrowed: boolean): void {
    task.worker = w;
    task.state = 'sending';
    w.inflight.push(task);
    w.sent++;
    if (w.inflight.length === 1) this.#startRunTimer(w);
    if (!w.reading) void this.#read(w);
    if (bytes.length < DIRECT_PUT_BYTES || w.outbox.length > 0 || w.backlog.length > 0) {
      task.bytes = borrowed ? Buffer.from(bytes) : bytes; // the codec reuses its buffer
      w.outbox.push({ task, bytes: task.bytes });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        process.nextTick(this.#flushOutboxes);
      }
      return;
    }
    try {
      w.tasks.putNowait(bytes);
      task.state = 'sent';
      task.bytes = this.#s.retries > 0 ? (borrowed ? Buffer.from(bytes) : bytes) : null;
    } catch (error) {
      task.bytes = borrowed ? Buffer.from(bytes) : bytes;
      if (error instanceof QueueFullError) this.#toBacklog(w, [{ task, bytes: task.bytes }]);
      // else: the handle is unusable, the worker is going; its exit sends the task elsewhere
    }
  }

  readonly #flushOutboxes = (): void => {
    this.#flushScheduled = false;
    for (const w of this.#workers) {
      if (w.outbox.length === 0) continue;
      const list = w.outbox;
      w.outbox = [];
      if (w.exit) continue; // still 'sending': its exit puts them back in the pool's queue
      if (w.backlog.length > 0) {
        this.#toBacklog(w, list);
        continue;
      }
      let put = 0;
      try {
        if (list.length === 1) w.tasks.putNowait((list[0] as Outgoing).bytes);
        else
          w.tasks.putManySync(
            list.map((o) => o.bytes),
            { timeout: 0 },
          );
        put = list.length;
      } catch (error) {
        if (error instanceof QueueFullError) put = error.putCount;
        else continue; // the handle is unusable: the worker is going
      }
      for (let i = 0; i < put; i++) this.#sent((list[i] as Outgoing).task);
      if (put < list.length) this.#toBacklog(w, list.slice(put));
    }
  };

  /** The task's bytes are in the worker's queue now. */
  #sent(task: Task): void {
    if (task.state !== 'sending') return; // settled meanwhile (cancelled): it runs, its answer is dropped
    task.state = 'sent';
    if (this.#s.retries === 0) task.bytes = null;
  }

  #toBacklog(w: Worker, outgoing: Outgoing[]): void {
    for (const o of outgoing) w.backlog.push(o);
    if (!w.flushing) void this.#flush(w);
  }

  /** Puts the backlog of `w` in order, waiting for room in its queue. */
  async #flush(w: Worker): Promise<void> {
    w.flushing = true;
    try {
      while (w.backlog.length > 0 && !w.exit) {
        const next = w.backlog[0] as Outgoing;
        try {
          await w.tasks.put(next.bytes, { signal: w.stopReading.signal });
        } catch {
          // The worker is gone (or its handle closed): its exit handles the backlog. Otherwise the
          // wait could not start (no waiter thread): try again shortly.
          if (w.exit || w.stopReading.signal.aborted) return;
          await sleepMs(WAIT_RETRY_MS);
          continue;
        }
        this.#sent(next.task);
        w.backlog.shift();
      }
    } finally {
      w.flushing = false;
    }
  }

  #startRunTimer(w: Worker): void {
    if (this.#s.taskTimeout < 0) return;
    if (w.runTimer) clearTimeout(w.runTimer);
    w.runTimer = null;
    const head = w.inflight[0];
    if (!head) return;
    const limit = this.#s.taskTimeout;
    w.runTimer = setTimeout(() => {
      w.runTimer = null;
      if (w.inflight[0] !== head || w.exit) return;
      const error = new TaskTimeoutError(
        `task '${head.name}' ran longer than the pool's taskTimeout of ${limit} ms; its worker (pid ${w.pid}) was killed and replaced`,
        limit,
        taskInfo(head),
      );
      this.#killWorker(w, head, error);
    }, limit);
  }

  /** Gives up on `task` (timeout, abort): drops it if no worker has it, else stops its worker. */
  #cancel(task: Task, error: unknown): void {
    switch (task.state) {
      case 'waiting':
        this.#waiting.splice(this.#waiting.indexOf(task), 1);
        this.#settle(task, false, error);
        this.#dispatch();
        return;
      case 'pending':
        this.#pending.splice(this.#pending.indexOf(task), 1);
        this.#settle(task, false, error);
        this.#dispatch();
        return;
      case 'sending':
      case 'sent': {
        const w = task.worker as Worker;
        const running = w.inflight[0] === task && task.state === 'sent';
        this.#settle(task, false, error);
        // A task the worker has not started stays in its queue and runs; its result is dropped.
        if (running) this.#killWorker(w, task, error);
        return;
      }
      default:
    }
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.state === 'settled') return;
    task.state = 'settled';
    task.bytes = null;
    if (task.timer) clearTimeout(task.timer);
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    this.#unsettled--;
    if (ok) {
      this.#counts.done++;
      task.resolve(value);
    } else {
      this.#counts.failed++;
      task.reject(value);
    }
    if (this.#state === 'closed') this.#stopIfDone();
  }

  #rejectEverything(error: Error): void {
    const all = [...this.#waiting, ...this.#pending];
    this.#waiting = [];
    this.#pending = [];
    for (const task of all) this.#settle(task, false, error);
    for (const w of this.#workers) for (const task of w.inflight) this.#settle(task, false, error);
    for (const wake of this.#roomWaiters.splice(0)) wake();
    for (const wake of this.#pumpWakers) wake();
    this.#pumpWakers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Workers.

  #spawn(): void {
    const seq = ++this.#workerSeq;
    const names = [`${this.#prefix}-${seq}.t`, `${this.#prefix}-${seq}.r`] as const;
    const capacity = this.#s.queueCapacity;
    const tasks = Queue.create(names[0], { codec: 'raw', capacity }) as Queue<Uint8Array>;
    let results: Queue<Uint8Array>;
    try {
      results = Queue.create(names[1], { codec: 'raw', capacity }) as Queue<Uint8Array>;
    } catch (error) {
      tasks.close();
      Queue.unlink(names[0]);
      throw error;
    }
    tasks.putNowait(this.#initBytes.length <= tasks.maxMessageSize ? this.#initBytes : new Uint8Array(0));
    const config: WorkerConfig = {
      module: this.module,
      tasks: names[0],
      results: names[1],
      refKey: this.#refKey,
      maxTasks: this.#s.maxTasksPerChild,
      codecs: this.#s.codecs,
    };
    // Under setpriv (where there is one) the kernel kills the worker when the pool's process dies,
    // even if it is stuck before its own code runs (see death-signal.ts); same pid, node after exec.
    const nodeArgs = [...this.#s.execArgv, WORKER_FILE, JSON.stringify(config)];
    const [wrapper, ...wrapperArgs] = deathSignalPrefix();
    const [command, args] =
      wrapper === undefined ? [process.execPath, nodeArgs] : [wrapper, [...wrapperArgs, process.execPath, ...nodeArgs]];
    const child = spawn(command, args, {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: this.#s.env,
    });
    const w: Worker = {
      seq,
      child,
      pid: child.pid ?? 0,
      tasks,
      results,
      names,
      ready: false,
      inflight: [],
      outbox: [],
      backlog: [],
      flushing: false,
      sent: 0,
      exit: null,
      reading: false,
      stopReading: new AbortController(),
      depth: 2,
      ewmaMicros: 0,
      kill: null,
      stopping: false,
      fatal: undefined,
      runTimer: null,
      finished: false,
      wakeMs: 0,
      answered: false,
      startTimer: null,
      startupTimedOut: false,
    };
    this.#workers.add(w);
    if (this.#s.startupTimeout >= 0) {
      w.startTimer = setTimeout(() => this.#startupTimeout(w), this.#s.startupTimeout);
      w.startTimer.unref(); // what keeps the process alive is the reader of its results, as for any start-up
    }
    child.stdin?.on('error', noop);
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child.unref();
    child.on('exit', (code, signal) => this.#onExit(w, code, signal));
    child.on('error', (error) => {
      // spawn itself failed (no 'exit' follows when there is no process)
      if (child.pid === undefined && !w.exit) this.#onExit(w, null, null, error);
    });
    void this.#read(w);
  }

  #onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (w.exit) return;
    w.exit = error ? { code, signal, error } : { code, signal };
    if (w.runTimer) clearTimeout(w.runTimer);
    if (w.startTimer) clearTimeout(w.startTimer);
    w.stopReading.abort();
    if (!w.reading) this.#finish(w);
  }

  /** Reads the results of `w` while it starts or holds tasks; after its exit, finishes it. */
  async #read(w: Worker): Promise<void> {
    if (w.reading) return;
    w.reading = true;
    for (;;) {
      if (w.exit) {
        w.reading = false;
        this.#finish(w);
        return;
      }
      if (w.ready && w.inflight.length === 0) {
        w.reading = false;
        return;
      }
      let batch: Uint8Array[];
      let waited = -1;
      try {
        // Nothing there yet: give the worker one turn of the event loop before an async get
        // (which wakes this queue's waiter thread). Between busy peers the results are there by
        // then, and each wake-up saved is a context switch on a loaded machine.
        if (w.ready && w.results.qsize() === 0) {
          await yieldTurn();
          if (w.exit) continue;
          if (w.results.qsize() === 0) waited = performance.now();
        }
        batch = await w.results.getMany(256, { signal: w.stopReading.signal });
      } catch {
        // Aborted or closed: the worker exited (checked at the top). Otherwise the wait could not
        // start (no thread for the queue's waiter): retrying at once would be a loop of promise
        // jobs that starves the event loop, so no timer, exit or start-up bound would ever run.
        if (!w.exit && !w.stopReading.signal.aborted) await sleepMs(WAIT_RETRY_MS);
        continue;
      }
      if (waited >= 0) w.wakeMs = w.wakeMs * 0.8 + (performance.now() - waited) * 0.2;
      for (const bytes of batch) this.#onMessage(w, bytes);
      // Results trickling in a few at a time while many tasks are out, and each wait for them
      // taking long (a loaded machine: every wake-up costs two context switches and a scheduling
      // delay): let them gather for a millisecond rather than wake up for each few.
      if (batch.length < COALESCE_BELOW && w.inflight.length >= COALESCE_INFLIGHT && w.wakeMs > COALESCE_WAKE_MS)
        await sleepMs(1);
    }
  }

  #onMessage(w: Worker, bytes: Uint8Array): void {
    let msg: ReturnType<typeof readResultFrame>;
    try {
      msg = readResultFrame(bytes as Buffer);
    } catch {
      this.#killWorker(w, null, null); // not our protocol: the worker is broken
      return;
    }
    switch (msg.kind) {
      case FromWorker.Ready: {
        const [pid, functions] = msg.body as [number, string[]];
        w.ready = true;
        if (w.startTimer) clearTimeout(w.startTimer);
        w.startTimer = null;
        w.pid = pid;
        if (this.#exports === null) this.#exports = new Set(functions);
        if (this.#state === 'closed') this.#stopIfDone();
        if (!this.#stopped) this.#dispatch();
        return;
      }
      case FromWorker.Ok:
      case FromWorker.Failed: {
        const task = w.inflight[0];
        if (!task || task.id !== msg.id) {
          this.#killWorker(w, null, null);
          return;
        }
        w.inflight.shift();
        if (!w.answered) {
          // A worker that answers a task has really started: the start-up failures are behind us.
          w.answered = true;
          this.#startupFailures = 0;
          this.#startupAttempts = 0;
        }
        const micros = msg.micros;
        w.ewmaMicros = w.ewmaMicros === 0 ? micros : w.ewmaMicros * 0.8 + micros * 0.2;
        w.depth = Math.max(1, Math.min(MAX_DEPTH, Math.floor(PIPELINE_MICROS / Math.max(1, w.ewmaMicros))));
        if (this.#s.taskTimeout >= 0) this.#startRunTimer(w);
        if (msg.kind === FromWorker.Failed) this.#settle(task, false, fromWire(msg.body as WireError));
        else if (msg.flags & F_REFS) this.#fulfil(task, ...(msg.body as [unknown, QueueRef[]]));
        else this.#settle(task, true, msg.body);
        if (this.#state === 'closed' && this.#unsettled === 0) this.#stopIfDone();
        else this.#dispatch();
        return;
      }
      case FromWorker.Fatal:
        w.fatal = fromWire((msg.body as [string, WireError])[1]);
        return;
      default:
        this.#killWorker(w, null, null);
    }
  }

  #fulfil(task: Task, value: unknown, refs: QueueRef[]): void {
    if (task.state === 'settled') return;
    const open = async (): Promise<unknown> => {
      const opened: Queue<unknown>[] = [];
      try {
        for (const ref of refs) {
          const own = task.argQueues?.get(ref[0]);
          if (own && !own.closed && own.codec === ref[1]) {
            opened.push(own);
            continue;
          }
          const custom = isBuiltinCodec(ref[1]) ? undefined : await this.#resultCodec(ref[1]);
          opened.push(openRef(ref, custom));
        }
      } catch (error) {
        for (const q of opened) if (!task.argQueues?.has(q.name)) q.close();
        throw error;
      }
      return restoreQueues(value, this.#refKey, (i) => opened[i]);
    };
    open().then(
      (v) => this.#settle(task, true, v),
      (error: unknown) => this.#settle(task, false, error),
    );
  }

  #resultCodec(name: string): Promise<Codec<unknown>> {
    let codec = this.#resultCodecs.get(name);
    if (!codec) {
      const source = this.#s.codecs[name];
      codec = source
        ? importCodec(name, source)
        : Promise.reject(
            new TaskModuleError(
              `a task returned a queue with the custom codec '${name}'; give its module in options.codecs to open it here`,
              '',
            ),
          );
      this.#resultCodecs.set(name, codec);
    }
    return codec;
  }

  /** Kills `w` (SIGKILL); `task`, if given, is the one it is killed for and rejects with `error`. */
  #killWorker(w: Worker, task: Task | null, error: unknown): void {
    if (w.exit) return;
    w.kill ??= { task, error };
    w.child.ref();
    w.child.kill('SIGKILL');
  }

  /**
   * Graceful stop: the worker's next get finds its queue shut down and it exits. A worker that is
   * not ready holds no task and may never read its queue (stuck in Node's start-up, a preload or
   * the module's import): it is killed instead, so that join() does not wait for it.
   */
  #stopWorker(w: Worker): void {
    if (w.stopping || w.exit) return;
    w.stopping = true;
    w.child.ref();
    if (!w.ready) {
      w.child.kill('SIGKILL');
      return;
    }
    try {
      w.tasks.shutdown();
    } catch {
      w.child.kill('SIGKILL');
    }
  }

  /** After `close()`: once every accepted task is settled, the workers are told to exit. */
  #stopIfDone(): void {
    if (this.#state !== 'closed' || this.#unsettled > 0 || this.#submitters > 0) return;
    this.#stopped = true;
    for (const w of this.#workers) this.#stopWorker(w);
  }

  /** The start-up bound of `w` passed: a worker still not ready is killed, a start-up failure. */
  #startupTimeout(w: Worker): void {
    w.startTimer = null;
    if (w.ready || w.exit || w.stopping || w.kill !== null) return;
    w.startupTimedOut = true;
    w.child.ref();
    w.child.kill('SIGKILL');
  }

  /** Called once per worker after its exit, when its reader is done: accounts for its tasks. */
  #finish(w: Worker): void {
    if (w.finished) return;
    w.finished = true;
    const exit = w.exit as NonNullable<Worker['exit']>;
    // Results the worker put before it died, then the tasks it never took.
    for (;;) {
      let batch: Uint8Array[];
      try {
        batch = w.results.getManySync(1024, { timeout: 0 });
      } catch {
        break;
      }
      for (const bytes of batch) if (w.inflight.length > 0 || !w.ready) this.#onMessage(w, bytes);
    }
    const untaken = new Map<number, Uint8Array>();
    for (;;) {
      let batch: Uint8Array[];
      try {
        batch = w.tasks.getManySync(1024, { timeout: 0 });
      } catch {
        break;
      }
      for (const bytes of batch) {
        const head = taskHead(bytes as Buffer);
        if (head.kind !== ToWorker.Init) untaken.set(head.id, bytes);
      }
    }
    this.#workers.delete(w);
    w.tasks.close();
    w.results.close();
    for (const name of w.names) {
      try {
        Queue.unlink(name);
      } catch {
        // already gone
      }
    }

    // A worker killed for its start-up time is no crash (the pool killed it), but is a start-up failure.
    const expected =
      w.stopping || w.kill !== null || w.startupTimedOut || (w.ready && exit.code === 0 && w.inflight.length === 0);
    const retired =
      !w.stopping && w.kill === null && this.#s.maxTasksPerChild > 0 && w.sent >= this.#s.maxTasksPerChild;
    if (retired && exit.code === 0 && w.inflight.every((t) => t.state === 'settled')) this.#counts.recycled++;
    else if (!expected) this.#counts.crashed++;

    // Send back to the queue what the worker never started; decide the fate of what it held.
    const requeue: Task[] = [];
    const held: Task[] = [];
    for (const task of w.inflight) {
      if (task.state === 'settled') continue;
      if (task.state === 'sending') {
        requeue.push(task);
        continue;
      }
      const bytes = untaken.get(task.id);
      if (bytes) {
        task.bytes = bytes;
        requeue.push(task);
      } else held.push(task);
    }
    w.inflight = [];
    w.outbox = [];
    w.backlog = [];
    const retry: Task[] = [];
    for (const task of held) {
      if (w.kill !== null) {
        if (w.kill.task === task) this.#settle(task, false, w.kill.error);
        else if (task.bytes)
          retry.push(task); // killed for another task: this one is innocent
        else this.#settle(task, false, this.#crashError(w, task, exit));
        continue;
      }
      task.crashes++;
      if (task.crashes <= this.#s.retries && task.bytes) {
        this.#counts.retried++;
        retry.push(task);
      } else {
        this.#settle(task, false, this.#crashError(w, task, exit));
      }
    }
    for (const task of [...retry, ...requeue].reverse()) {
      task.state = 'pending';
      task.worker = null;
      this.#pending.unshift(task);
    }

    // A start-up failure: the worker died on its own before it answered any task, holding none
    // (during start-up, or soon after while idle: a module whose own timer kills the process), or
    // the pool killed it for not being ready within startupTimeout.
    if (!w.answered && held.length === 0 && (!expected || w.startupTimedOut)) {
      // A worker that says why (or exits with a code) fails the same way next time; one killed by
      // a signal may have met the OOM killer or an impatient operator: it gets more chances. One
      // that did not start in time was killed by the pool itself: that counts in full (the next
      // one, started the same way, is likely to hang the same way).
      this.#startupFailures +=
        w.startupTimedOut || w.fatal !== undefined || exit.signal === null
          ? 1
          : STARTUP_FAILURE_LIMIT / SIGNAL_STARTUP_LIMIT;
      this.#startupAttempts++;
      const limit = this.#s.startupTimeout;
      this.#lastStartupError =
        w.fatal ??
        exit.error ??
        (w.startupTimedOut
          ? new WorkerStartupTimeoutError(
              `worker pid ${w.pid} did not start within ${limit} ms (it was not ready for tasks: options.startupTimeout), ` +
                'so the pool killed it; raise startupTimeout if the task module or the initializer takes longer',
              limit,
              w.pid,
            )
          : null) ??
        new WorkerCrashedError(
          `worker pid ${w.pid} exited ${w.ready ? 'before its first task' : 'during start-up'} (${exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`}) without saying why`,
          exit.code,
          exit.signal,
          w.pid,
        );
      if (
        this.#startupFailures >= STARTUP_FAILURE_LIMIT - 1e-9 &&
        (this.#state === 'running' || this.#state === 'closed')
      ) {
        const cause = this.#lastStartupError as Error;
        this.#failure = new PoolStartupError(
          `the pool's workers failed to start ${this.#startupAttempts} times in a row, so the pool stopped; the last one said: ${cause?.message ?? String(cause)}`,
          this.#startupAttempts,
          cause,
        );
        this.#state = 'failed';
        this.#rejectEverything(this.#failure);
        for (const other of this.#workers) this.#killWorker(other, null, null);
      }
    }

    const replace =
      this.#state === 'running' ||
      (this.#state === 'closed' &&
        !this.#stopped &&
        (this.#unsettled > 0 || this.#pending.length > 0 || this.#submitters > 0));
    if (replace && this.#workers.size < this.processes) this.#respawn();
    if (this.#state === 'closed') this.#stopIfDone();
    this.#dispatch();
    if (this.#workers.size === 0) {
      livePools.delete(this);
      for (const wake of this.#joinWaiters.splice(0)) wake();
    }
  }

  /** Starts a replacement worker; a pool left with no worker and unable to start one fails. */
  #respawn(): void {
    try {
      this.#spawn();
    } catch (error) {
      // e.g. ENOSPC creating its queues, EAGAIN spawning: try again at the next exit, if any
      if (this.#workers.size > 0) return;
      this.#failure = new PoolStartupError(
        `the pool cannot start a worker: ${(error as Error)?.message ?? String(error)}`,
        this.#startupAttempts + 1,
        error,
      );
      this.#state = 'failed';
      this.#rejectEverything(this.#failure);
    }
  }

  #crashError(w: Worker, task: Task, exit: NonNullable<Worker['exit']>): WorkerCrashedError {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return new WorkerCrashedError(
      `the worker (pid ${w.pid}) running task '${task.name}' ${how} before the task finished` +
        (this.#s.retries > 0 ? ` (tried ${task.crashes} times)` : ''),
      exit.code,
      exit.signal,
      w.pid,
      taskInfo(task),
    );
  }

  #allExited(): Promise<void> {
    if (this.#workers.size === 0) return Promise.resolve();
    for (const w of this.#workers) w.child.ref();
    return new Promise<void>((resolve) => this.#joinWaiters.push(resolve));
  }

  /** At process exit (synchronous): kill every worker, unlink names not yet unlinked. */
  #killAllNow(): void {
    for (const w of this.#workers) {
      try {
        w.child.kill('SIGKILL');
      } catch {
        // already gone
      }
      for (const name of w.names) {
        try {
          Queue.unlink(name);
        } catch {
          // already gone
        }
      }
    }
  }
}
