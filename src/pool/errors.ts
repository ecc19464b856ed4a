/**
 * Errors of the process pool. Every one carries a stable `code`; match on it, never on the
 * message. They extend {@link ProcessPoolError}, which extends the package's `ShmQueueError`:
 * `err instanceof ShmQueueError` holds for every error of the package, and
 * `err instanceof ProcessPoolError` tells pool conditions from queue ones.
 *
 * @module
 */
import { ShmQueueError } from './deps.js';

/** Every stable code of a {@link ProcessPoolError}. */
export type ProcessPoolErrorCode =
  | 'ERR_WORKER_CRASHED'
  | 'ERR_WORKER_STARTUP_TIMEOUT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_POOL_TERMINATED'
  | 'ERR_POOL_RUNNING'
  | 'ERR_POOL_STARTUP'
  | 'ERR_TASK_TIMEOUT'
  | 'ERR_RESULT_TIMEOUT'
  | 'ERR_UNKNOWN_TASK'
  | 'ERR_TASK_MODULE'
  | 'ERR_TASK_ARGUMENTS'
  | 'ERR_TASK_RESULT';

/** What a pool error says about the task it concerns. */
export interface TaskInfo {
  /** The export the task called. */
  readonly name: string;
  /** The pool's sequence number of the task (1, 2, ... in submission order). */
  readonly id: number;
  /** How many times a worker started it (more than 1 after a retry). */
  readonly attempts: number;
}

/** Base class of every process pool error; `code` identifies the condition. */
export class ProcessPoolError extends ShmQueueError {
  /** Stable, machine-readable identifier of the condition. */
  declare readonly code: ProcessPoolErrorCode;

  constructor(code: ProcessPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The worker process running the task died (killed by a signal, out of memory, `process.exit()`
 * from the task...) before the task settled, and the task had no retry left.
 */
export class WorkerCrashedError extends ProcessPoolError {
  /** Exit code of the worker, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended the worker (e.g. `'SIGKILL'`), or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Process id of the worker that died. */
  readonly pid: number;
  /** The task the worker held when it died (`undefined` when it died during start-up). */
  readonly task: TaskInfo | undefined;

  constructor(message: string, exitCode: number | null, signal: NodeJS.Signals | null, pid: number, task?: TaskInfo) {
    super('ERR_WORKER_CRASHED', message);
    this.exitCode = exitCode;
    this.signal = signal;
    this.pid = pid;
    this.task = task;
  }
}

/**
 * A worker was not ready for tasks within the pool's `startupTimeout`, so the pool killed it
 * (`SIGKILL`). It arrives as the `cause` of a {@link PoolStartupError} when start-up keeps
 * failing; a single slow start only costs a respawn. Raise `startupTimeout` when the task module
 * or the initializer legitimately takes longer.
 */
export class WorkerStartupTimeoutError extends ProcessPoolError {
  /** The limit that expired, in milliseconds. */
  readonly timeout: number;
  /** Process id of the worker that was killed. */
  readonly pid: number;

  constructor(message: string, timeout: number, pid: number) {
    super('ERR_WORKER_STARTUP_TIMEOUT', message);
    this.timeout = timeout;
    this.pid = pid;
  }
}

/** The pool was closed with `close()`: it takes no new task (tasks already accepted still run). */
export class PoolClosedError extends ProcessPoolError {
  constructor(message: string) {
    super('ERR_POOL_CLOSED', message);
  }
}

/** The pool was stopped with `terminate()`: new tasks are refused and unfinished ones rejected. */
export class PoolTerminatedError extends ProcessPoolError {
  constructor(message: string) {
    super('ERR_POOL_TERMINATED', message);
  }
}

/** `join()` was called on a pool that is still running; call `close()` or `terminate()` first. */
export class PoolRunningError extends ProcessPoolError {
  constructor(message: string) {
    super('ERR_POOL_RUNNING', message);
  }
}

/**
 * Workers kept dying during start-up (the task module does not load, the initializer throws or
 * is missing, a bad `execArgv`...) or not getting ready within `startupTimeout`, so the pool
 * stopped instead of starting workers forever. `cause` is the last worker's own error (rebuilt),
 * a {@link WorkerStartupTimeoutError} when it was killed for not starting in time, or a
 * {@link WorkerCrashedError} when it died without saying why. Every pending task and every later call rejects with this error.
 */
export class PoolStartupError extends ProcessPoolError {
  /** Start-up failures in a row that made the pool give up. */
  readonly failures: number;

  constructor(message: string, failures: number, cause: unknown) {
    super('ERR_POOL_STARTUP', message, { cause });
    this.failures = failures;
  }
}

/**
 * The task ran longer than `taskTimeout`, or its call's `timeout` expired: the task was removed
 * (if no worker had started it) or its worker was killed and replaced.
 */
export class TaskTimeoutError extends ProcessPoolError {
  /** The limit that expired, in milliseconds. */
  readonly timeout: number;
  /** The task that was stopped. */
  readonly task: TaskInfo;

  constructor(message: string, timeout: number, task: TaskInfo) {
    super('ERR_TASK_TIMEOUT', message);
    this.timeout = timeout;
    this.task = task;
  }
}

/** `AsyncResult.get(timeout)` gave up waiting; the task itself goes on (as in Python). */
export class ResultTimeoutError extends ProcessPoolError {
  constructor(message: string) {
    super('ERR_RESULT_TIMEOUT', message);
  }
}

/** The task module has no exported function of that name. Nothing was sent to a worker. */
export class UnknownTaskError extends ProcessPoolError {
  /** The name asked for. */
  readonly taskName: string;
  /** The module's exported functions. */
  readonly available: readonly string[];

  constructor(message: string, taskName: string, available: readonly string[]) {
    super('ERR_UNKNOWN_TASK', message);
    this.taskName = taskName;
    this.available = available;
  }
}

/** The task module (or a codec module) does not exist or cannot be loaded. */
export class TaskModuleError extends ProcessPoolError {
  /** The module URL. */
  readonly url: string;

  constructor(message: string, url: string, options?: { cause?: unknown }) {
    super('ERR_TASK_MODULE', message, options);
    this.url = url;
  }
}

/**
 * A task's arguments cannot be sent to a worker: the codec refuses a value (a function, a
 * symbol...), they are larger than the pool's queues carry, or they hold a `Queue` with a custom
 * codec the workers cannot import. Thrown at the call; nothing was sent. `cause` is the codec's
 * own error when there is one.
 */
export class TaskArgumentsError extends ProcessPoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TASK_ARGUMENTS', message, options);
  }
}

/**
 * The task's result cannot be sent back from the worker (a value the codec refuses, or larger
 * than the pool's queues carry). The task did run.
 */
export class TaskResultError extends ProcessPoolError {
  constructor(message: string) {
    super('ERR_TASK_RESULT', message);
  }
}
