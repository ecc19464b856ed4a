/**
 * The pool's options: the public option and stats types, and their validation (every check runs
 * in the constructor or at the call, before anything is spawned or sent).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  invalidArgType,
  invalidArgValue,
  outOfRange,
  validateInteger,
  validateOptions,
  validateTimeout,
} from './deps.js';
import { TaskModuleError } from './errors.js';
import { type CodecSource, moduleUrl } from './queue-refs.js';

/** Options of {@link ProcessPool}. */
export interface ProcessPoolOptions {
  /** Worker processes (default: `os.availableParallelism()`). */
  processes?: number;
  /** Name of an export of the task module that each worker calls once, before its first task. */
  initializer?: string;
  /** Arguments of the initializer (queues among them stay open for the worker's life). */
  initArgs?: unknown[];
  /** A worker exits after this many tasks and is replaced (default: never). */
  maxTasksPerChild?: number;
  /**
   * Most tasks waiting for a worker; a call beyond it waits for room (honouring its `timeout`
   * and `signal`) instead of queueing without bound. Default: no limit.
   */
  maxQueued?: number;
  /** Milliseconds a task may run; then its worker is killed and replaced and the task rejects with `ERR_TASK_TIMEOUT`. */
  taskTimeout?: number;
  /**
   * Milliseconds a worker may take from its spawn to being ready for tasks (Node's own start-up,
   * `execArgv` preloads, importing the task module, the initializer). A worker not ready by then
   * is killed (`SIGKILL`) and counts as a start-up failure: three in a row fail the pool with
   * `ERR_POOL_STARTUP`. Default 30,000 (a loaded machine starts a worker in about a second; raise
   * it for a module or initializer that takes longer). `Infinity`: no limit (a worker that never
   * starts then holds its slot for good; `close()` and `terminate()` still kill it).
   */
  startupTimeout?: number;
  /** Times a task whose worker died is run again on another worker before it rejects with `ERR_WORKER_CRASHED` (default 0). */
  retries?: number;
  /** Environment of the workers (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Node options of the workers, e.g. `['--max-old-space-size=512']` (default: none). */
  execArgv?: string[];
  /** Bytes of each worker's task and result queues (default 4 MiB): the largest encoded task or result. */
  queueCapacity?: number;
  /**
   * Custom codecs of queues passed to or returned by tasks, by codec name: the module (URL or
   * absolute path) and export that hold the codec object, so that workers can import it.
   */
  codecs?: Record<string, CodecSource>;
}

/** Options of one call. */
export interface ApplyOptions {
  /**
   * Milliseconds the call may take in all (waiting for room, queued, running). When they pass,
   * a task no worker has started is dropped; a running task's worker is killed and replaced.
   * The call rejects with `ERR_TASK_TIMEOUT`.
   */
  timeout?: number;
  /** Cancels the task as `timeout` does; the call rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `map` and `starmap`. */
export interface MapOptions extends ApplyOptions {
  /** Items per task (default: as Python, about four tasks per worker). */
  chunksize?: number;
}

/** Options of `imap` and `imapUnordered`. */
export interface ImapOptions {
  /** Items per task (default 1). */
  chunksize?: number;
  /** Stops the iteration (the next step rejects with `signal.reason`) and cancels its tasks. */
  signal?: AbortSignal;
}

/** What {@link ProcessPool.stats} reports. */
export interface ProcessPoolStats {
  /** Worker processes alive now (starting ones included). */
  workers: number;
  /** Of those, the ones still starting (importing the module, running the initializer). */
  starting: number;
  /** Workers holding at least one task. */
  busy: number;
  /** Tasks waiting for a worker (including calls waiting for room under `maxQueued`). */
  queued: number;
  /** Tasks handed to a worker and not finished. */
  running: number;
  /** Tasks that succeeded / rejected (any reason). */
  done: number;
  failed: number;
  /** Workers that died without being asked to (a crash; timeouts and aborts are not counted). */
  crashed: number;
  /** Tasks run again after their worker died. */
  retried: number;
  /** Workers replaced after `maxTasksPerChild` tasks. */
  recycled: number;
  /** Process ids of the workers alive now. */
  pids: number[];
  /** `'running'`, `'closed'` (no new tasks), `'terminated'`, or `'failed'` (start-up kept failing). */
  state: 'running' | 'closed' | 'terminated' | 'failed';
}

const POOL_KEYS = [
  'processes',
  'initializer',
  'initArgs',
  'maxTasksPerChild',
  'maxQueued',
  'taskTimeout',
  'startupTimeout',
  'retries',
  'env',
  'execArgv',
  'queueCapacity',
  'codecs',
] as const;
const DEFAULT_QUEUE_CAPACITY = 4 << 20;
/** A loaded 2-core machine starts a node worker in 0.1-1 s; this leaves room for a slow module or initializer. */
const DEFAULT_STARTUP_TIMEOUT = 30_000;
/** Longest timer Node keeps (larger delays fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function defaultProcesses(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

/** The validated, filled-in options. */
export interface Settings {
  processes: number;
  initializer: string | null;
  initArgs: unknown[];
  maxTasksPerChild: number;
  maxQueued: number;
  taskTimeout: number;
  /** Milliseconds, or -1 for none. */
  startupTimeout: number;
  retries: number;
  env: NodeJS.ProcessEnv;
  execArgv: string[];
  queueCapacity: number;
  codecs: Record<string, { module: string; export: string }>;
}

export function settingsOf(raw: unknown): Settings {
  const o = validateOptions(raw, 'options', POOL_KEYS);
  const optionalInt = (key: string, min: number, max: number, dflt: number): number =>
    o[key] === undefined || o[key] === Infinity ? dflt : validateInteger(o[key], `options.${key}`, min, max);
  const initializer = o['initializer'];
  if (initializer !== undefined && typeof initializer !== 'string')
    throw invalidArgType('options.initializer', 'of type string (the name of an export)', initializer);
  const initArgs = o['initArgs'];
  if (initArgs !== undefined && !Array.isArray(initArgs))
    throw invalidArgType('options.initArgs', 'an array', initArgs);
  if (initArgs !== undefined && initializer === undefined)
    throw invalidArgValue('options.initArgs', 'needs options.initializer (the export that receives them)');
  let taskTimeout = -1;
  if (o['taskTimeout'] !== undefined) {
    taskTimeout = validateTimeout(o['taskTimeout'], 'options.taskTimeout');
    if (taskTimeout === 0) throw outOfRange('options.taskTimeout', 'a number of milliseconds > 0', 0);
  }
  let startupTimeout = DEFAULT_STARTUP_TIMEOUT;
  if (o['startupTimeout'] !== undefined) {
    const raw = o['startupTimeout'];
    if (typeof raw !== 'number')
      throw invalidArgType('options.startupTimeout', 'of type number (milliseconds, or Infinity)', raw);
    if (raw === Infinity) startupTimeout = -1;
    else if (Number.isNaN(raw) || raw <= 0 || raw > MAX_TIMER_MS)
      throw outOfRange(
        'options.startupTimeout',
        `a number of milliseconds > 0 and <= ${MAX_TIMER_MS}, or Infinity`,
        raw,
      );
    else startupTimeout = Math.ceil(raw);
  }
  const env = o['env'];
  if (env !== undefined && (typeof env !== 'object' || env === null))
    throw invalidArgType('options.env', 'an object of environment variables', env);
  const execArgv = o['execArgv'];
  if (execArgv !== undefined && (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== 'string')))
    throw invalidArgType('options.execArgv', 'an array of strings', execArgv);
  const codecs: Record<string, { module: string; export: string }> = {};
  const rawCodecs = o['codecs'];
  if (rawCodecs !== undefined) {
    if (typeof rawCodecs !== 'object' || rawCodecs === null)
      throw invalidArgType('options.codecs', 'an object { [codecName]: { module, export } }', rawCodecs);
    for (const [name, source] of Object.entries(rawCodecs as Record<string, unknown>)) {
      const s = source as Partial<CodecSource> | null;
      if (typeof s !== 'object' || s === null || !(typeof s.module === 'string' || s.module instanceof URL))
        throw invalidArgType(`options.codecs.${name}`, 'an object { module: URL | string, export?: string }', source);
      if (s.export !== undefined && typeof s.export !== 'string')
        throw invalidArgType(`options.codecs.${name}.export`, 'of type string', s.export);
      codecs[name] = { module: moduleUrl(s.module), export: s.export ?? 'default' };
    }
  }
  return {
    processes: optionalInt('processes', 1, 1024, defaultProcesses()),
    initializer: initializer ?? null,
    initArgs: initArgs ?? [],
    maxTasksPerChild: optionalInt('maxTasksPerChild', 1, Number.MAX_SAFE_INTEGER, 0),
    maxQueued: optionalInt('maxQueued', 1, Number.MAX_SAFE_INTEGER, Infinity),
    taskTimeout,
    startupTimeout,
    retries: optionalInt('retries', 0, 1000, 0),
    env: (env as NodeJS.ProcessEnv | undefined) ?? process.env,
    execArgv: (execArgv as string[] | undefined) ?? [],
    queueCapacity: optionalInt('queueCapacity', 64 * 1024, 2 ** 30, DEFAULT_QUEUE_CAPACITY),
    codecs,
  };
}

/** Resolves the task module to a URL and checks that a file module exists. */
export function taskModuleUrl(module: unknown): string {
  if (!(typeof module === 'string' || module instanceof URL))
    throw invalidArgType('moduleUrlOrPath', 'a URL or a string (file: URL or path)', module);
  const url = moduleUrl(module);
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    if (!existsSync(path)) {
      throw new TaskModuleError(
        `the task module ${path} does not exist; pass new URL('./tasks.mjs', import.meta.url), an absolute path, ` +
          "or import.meta.resolve('package/tasks') for a module of a package",
        url,
      );
    }
  }
  return url;
}
