/**
 * The worker process of a {@link ProcessPool} (run as `node dist/pool/worker.js <config>`).
 *
 * It opens its two pool-private queues (tasks in, results out) and unlinks their names at once,
 * so nothing of the pool stays under /dev/shm even if every process is killed; imports the task
 * module; runs the initializer; reports Ready; then runs one task at a time, in the order they
 * arrive, and puts each result before it takes the next task. That order is what lets the pool
 * tell exactly which task a dead worker held: the oldest one without a result.
 *
 * The worker ends when its task queue is shut down (the pool's `close()`), after
 * `maxTasksPerChild` tasks, or when its stdin reaches end-of-file: the pool's end of that pipe
 * closes when the pool's process dies, however it dies.
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import {
  type Codec,
  MessageTooLargeError,
  Queue,
  QueueEmptyError,
  QueueFullError,
  QueueClosedError,
  QueueShutdownError,
} from './deps.js';
import { TaskModuleError, TaskResultError, UnknownTaskError } from './errors.js';
import { F_REFS, F_STAR, FromWorker, readTaskFrame, resultFrame, type StartupStage, ToWorker } from './protocol.js';
import {
  type CodecSource,
  containsQueue,
  importCodec,
  isBuiltinCodec,
  openRef,
  type QueueRef,
  refOf,
  replaceQueues,
  restoreQueues,
} from './queue-refs.js';
import { toWire } from './remote-error.js';

/** What the pool passes on the command line (JSON). */
export interface WorkerConfig {
  module: string;
  tasks: string;
  results: string;
  refKey: string;
  maxTasks: number;
  codecs: Record<string, { module: string; export: string }>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

// The pool's process holds the other end of stdin: end-of-file means it is gone.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

let results: Queue<Uint8Array>;
let tasks: Queue<Uint8Array>;
/** Queues tasks kept (returned, or passed to the initializer): open for the worker's life. */
const kept = new Set<Queue<unknown>>();
const codecs = new Map<string, Promise<Codec<unknown>>>();

function codecFor(name: string): Promise<Codec<unknown>> | undefined {
  if (isBuiltinCodec(name)) return undefined;
  let codec = codecs.get(name);
  if (!codec) {
    const source: CodecSource | undefined = config.codecs[name];
    codec = source
      ? importCodec(name, source)
      : Promise.reject(new TaskModuleError(`no module given for codec '${name}'`, ''));
    codecs.set(name, codec);
  }
  return codec;
}

/** Replaces the placeholders in `payload` with opened queues (appended to `opened`). */
async function openQueues(payload: unknown, refs: QueueRef[], opened: Queue<unknown>[]): Promise<unknown> {
  for (const ref of refs) {
    const custom = codecFor(ref[1]);
    opened.push(openRef(ref, custom ? await custom : undefined));
  }
  return restoreQueues(payload, config.refKey, (i) => opened[i]);
}

async function put(bytes: Uint8Array): Promise<void> {
  try {
    results.putNowait(bytes);
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    await results.put(bytes);
  }
}

/** A Failed frame for `thrown` (or a Fatal one, with the stage), with less detail if need be. */
function encodeFailure(id: number, thrown: unknown, micros: number, stage?: StartupStage): Uint8Array {
  const frame = (w: unknown): Uint8Array =>
    stage === undefined
      ? resultFrame(FromWorker.Failed, 0, id, micros, w)
      : resultFrame(FromWorker.Fatal, 0, 0, 0, [stage, w]);
  for (const full of [true, false]) {
    try {
      return frame(toWire(thrown, full));
    } catch {
      // properties, a cause or a thrown value the codec refuses: try with less
    }
  }
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  return frame(toWire(new Error(text), false));
}

async function fatal(stage: StartupStage, thrown: unknown): Promise<never> {
  try {
    await put(encodeFailure(0, thrown, 0, stage));
  } finally {
    process.exit(1);
  }
}

/** The result frame of a task's value (or of the reason it cannot be sent). */
function encodeResult(id: number, value: unknown, micros: number): Uint8Array {
  let refs: QueueRef[] | 0 = 0;
  if (typeof value === 'object' && value !== null && containsQueue(value)) {
    const table: QueueRef[] = [];
    const index = new Map<Queue<unknown>, number>();
    value = replaceQueues(value, config.refKey, (q) => {
      let i = index.get(q);
      if (i === undefined) {
        i = table.push(refOf(q)) - 1;
        index.set(q, i);
        kept.add(q);
      }
      return i;
    });
    refs = table;
  }
  let bytes: Uint8Array;
  try {
    bytes = resultFrame(FromWorker.Ok, refs ? F_REFS : 0, id, micros, refs ? [value, refs] : value);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return encodeFailure(id, new TaskResultError(`the result cannot be sent back: ${why}`), micros);
  }
  if (bytes.length > results.maxMessageSize) {
    const error = new TaskResultError(
      `the result encodes to ${bytes.length} bytes, more than the pool's queues carry (${results.maxMessageSize}); ` +
        'raise the pool option queueCapacity, or hand large data over through a Queue or a file',
    );
    return encodeFailure(id, error, micros);
  }
  return bytes;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') &&
  v !== null &&
  typeof (v as PromiseLike<unknown>).then === 'function';

type TaskFunction = (...args: unknown[]) => unknown;

async function run(mod: Record<string, unknown>, functions: string[], bytes: Uint8Array): Promise<void> {
  const { kind, flags, id, name, body } = readTaskFrame(bytes as Buffer);
  const started = performance.now();
  const opened: Queue<unknown>[] = [];
  let answer: Uint8Array;
  try {
    const fn = mod[name];
    if (typeof fn !== 'function') {
      throw new UnknownTaskError(
        `the task module has no exported function '${name}'; it exports: ${functions.join(', ') || '(no functions)'}`,
        name,
        functions,
      );
    }
    let payload = body;
    if (flags & F_REFS) {
      const [value, refs] = body as [unknown, QueueRef[]];
      payload = await openQueues(value, refs, opened);
    }
    let value: unknown;
    if (kind === ToWorker.Call) {
      value = (fn as TaskFunction)(...(payload as unknown[]));
      if (isThenable(value)) value = await value;
    } else {
      const items = payload as unknown[];
      const star = (flags & F_STAR) !== 0;
      const out: unknown[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        let v = star ? (fn as TaskFunction)(...(items[i] as unknown[])) : (fn as TaskFunction)(items[i]);
        if (isThenable(v)) v = await v;
        out[i] = v;
      }
      value = out;
    }
    answer = encodeResult(id, value, Math.round((performance.now() - started) * 1000));
  } catch (error) {
    answer = encodeFailure(id, error, Math.round((performance.now() - started) * 1000));
  }
  // The task's queues are closed before the caller hears back, unless it kept them (returned them).
  for (const q of opened) if (!kept.has(q)) q.close();
  await put(answer);
}

const NONE = new Uint8Array(0);
/**
 * Waits for the next task on this thread, at most {@link SYNC_WAIT_MS}: between busy peers the
 * pool's put wakes this thread directly (one wake-up, where an async get takes two: the waiter
 * thread, then the event loop). An idle worker then waits asynchronously, so that timers and I/O
 * of the task module run; they are held back at most that long while tasks keep coming.
 */
function nextTask(): Uint8Array {
  try {
    return tasks.getSync({ timeout: SYNC_WAIT_MS });
  } catch (error) {
    if (error instanceof QueueEmptyError) return NONE;
    throw error;
  }
}
const SYNC_WAIT_MS = 20;

async function main(): Promise<void> {
  try {
    tasks = Queue.open(config.tasks, { codec: 'raw' }) as Queue<Uint8Array>;
    results = Queue.open(config.results, { codec: 'raw' }) as Queue<Uint8Array>;
    Queue.unlink(config.tasks);
    Queue.unlink(config.results);
  } catch (error) {
    console.error(`shm-queue pool worker ${process.pid}: cannot open the pool's queues:`, error);
    process.exit(70);
  }
  const init = readTaskFrame((await tasks.get()) as Buffer);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(config.module)) as Record<string, unknown>;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return fatal(
      'module',
      new TaskModuleError(`cannot load the task module ${config.module}: ${why}`, config.module, { cause: error }),
    );
  }
  const functions = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
  const initializer = init.name;
  if (initializer !== '') {
    const fn = mod[initializer];
    if (typeof fn !== 'function') {
      return fatal(
        'initializer',
        new UnknownTaskError(
          `the initializer '${initializer}' is not an exported function of ${config.module}; it exports: ${functions.join(', ') || '(no functions)'}`,
          initializer,
          functions,
        ),
      );
    }
    try {
      const opened: Queue<unknown>[] = [];
      let args = init.body as unknown[];
      if (init.flags & F_REFS) {
        const [value, refs] = init.body as [unknown, QueueRef[]];
        args = (await openQueues(value, refs, opened)) as unknown[];
      }
      for (const q of opened) kept.add(q);
      const r = (fn as TaskFunction)(...args);
      if (isThenable(r)) await r;
    } catch (error) {
      return fatal('initializer', error);
    }
  }
  await put(resultFrame(FromWorker.Ready, 0, 0, 0, [process.pid, functions]));
  let count = 0;
  for (;;) {
    let bytes: Uint8Array;
    try {
      bytes = nextTask();
      if (bytes === NONE) bytes = await tasks.get();
    } catch (error) {
      if (error instanceof QueueShutdownError || error instanceof QueueClosedError) process.exit(0);
      throw error;
    }
    await run(mod, functions, bytes);
    if (++count === config.maxTasks) process.exit(0);
  }
}

main().catch((error: unknown) => {
  if (error instanceof MessageTooLargeError) console.error(`shm-queue pool worker ${process.pid}:`, error.message);
  else console.error(`shm-queue pool worker ${process.pid} failed:`, error);
  process.exit(70);
});
