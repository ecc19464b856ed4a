/**
 * The process pool: `ProcessPool`, its `AsyncResult`, options, stats and errors.
 *
 * @module
 */
export { ProcessPool } from './pool.js';
export type { ProcessPoolOptions, ApplyOptions, MapOptions, ImapOptions, ProcessPoolStats } from './options.js';
export { AsyncResult } from './async-result.js';
export type { CodecSource } from './queue-refs.js';
export {
  ProcessPoolError,
  WorkerCrashedError,
  WorkerStartupTimeoutError,
  PoolClosedError,
  PoolTerminatedError,
  PoolRunningError,
  PoolStartupError,
  TaskTimeoutError,
  ResultTimeoutError,
  UnknownTaskError,
  TaskModuleError,
  TaskArgumentsError,
  TaskResultError,
} from './errors.js';
export type { ProcessPoolErrorCode, TaskInfo } from './errors.js';
