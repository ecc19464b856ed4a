/**
 * What travels between the pool and its workers, and how: message layouts, the encoding of
 * queues found inside arguments and results, and errors rebuilt across the process boundary.
 * Shared by the pool (parent) and the worker entry.
 *
 * Every message is one msgpack-encoded array (the package's 'msgpack' codec: structured-clone
 * semantics) in a pool-private queue with the 'raw' codec, so that the pool encodes a task once,
 * at the call, and keeps its bytes for a retry.
 *
 * @module
 * @internal
 */
import { pathToFileURL } from 'node:url';
import * as deps from './deps.js';
import { type Codec, JoinableQueue, Queue, resolveCodec } from './deps.js';
import * as poolErrors from './errors.js';

/** Parent -> worker message kinds (byte 0 of a task frame). */
export const ToWorker = {
  /** The first message every worker gets: name = initializer ('' for none), body = initArgs. */
  Init: 1,
  /** Call `name(...body)`. */
  Call: 2,
  /** Call `name(item)` (or `name(...item)` with {@link F_STAR}) for each item of the body. */
  Chunk: 3,
} as const;

/** Worker -> parent message kinds (byte 0 of a result frame). */
export const FromWorker = {
  /** Start-up done, tasks welcome; body = `[pid, exportedFunctionNames]`. */
  Ready: 1,
  /** The task's value is the body. */
  Ok: 2,
  /** The task failed; body = a {@link WireError}. */
  Failed: 3,
  /** Start-up failed, the worker exits next; body = `[stage, wireError]`. */
  Fatal: 4,
} as const;

/** Flag: the body is `[value, refs]` (queues inside). */
export const F_REFS = 1;
/** Flag of a Chunk: each item is an array of arguments (starmap). */
export const F_STAR = 2;

// Frames: a small binary header the pool and the worker read without decoding the body, then the
// body encoded with the 'msgpack' codec.
//   task:   [u8 kind][u8 flags][f64 id][u16 name length][name, UTF-8][body]
//   result: [u8 kind][u8 flags][f64 id][u32 run time, µs][body]

const TASK_HEAD = 12;
const RESULT_HEAD = 14;
const nameBytes = new Map<string, Buffer>();

/** Encodes a task frame (a Buffer of its own). Throws what the codec throws for the body. */
export function taskFrame(kind: number, flags: number, id: number, name: string, body: unknown): Buffer {
  let nb = nameBytes.get(name);
  if (nb === undefined) {
    nb = Buffer.from(name, 'utf8');
    if (nameBytes.size < 4096) nameBytes.set(name, nb);
  }
  const encoded = wire.encode(body);
  const out = Buffer.allocUnsafe(TASK_HEAD + nb.length + encoded.length);
  out[0] = kind;
  out[1] = flags;
  out.writeDoubleLE(id, 2);
  out.writeUInt16LE(nb.length, 10);
  nb.copy(out, TASK_HEAD);
  out.set(encoded, TASK_HEAD + nb.length);
  return out;
}

/** The kind and id of a task frame, without decoding its body. */
export function taskHead(bytes: Buffer): { kind: number; id: number } {
  return { kind: bytes[0] as number, id: bytes.readDoubleLE(2) };
}

/** Decodes a task frame. */
export function readTaskFrame(bytes: Buffer): { kind: number; flags: number; id: number; name: string; body: unknown } {
  const n = bytes.readUInt16LE(10);
  return {
    kind: bytes[0] as number,
    flags: bytes[1] as number,
    id: bytes.readDoubleLE(2),
    name: bytes.toString('utf8', TASK_HEAD, TASK_HEAD + n),
    body: wire.decode(bytes.subarray(TASK_HEAD + n)),
  };
}

/** Encodes a result frame. Throws what the codec throws for the body. */
export function resultFrame(kind: number, flags: number, id: number, micros: number, body: unknown): Buffer {
  const encoded = wire.encode(body);
  const out = Buffer.allocUnsafe(RESULT_HEAD + encoded.length);
  out[0] = kind;
  out[1] = flags;
  out.writeDoubleLE(id, 2);
  out.writeUInt32LE(Math.min(0xffffffff, Math.max(0, Math.round(micros))), 10);
  out.set(encoded, RESULT_HEAD);
  return out;
}

/** Decodes a result frame. */
export function readResultFrame(bytes: Buffer): {
  kind: number;
  flags: number;
  id: number;
  micros: number;
  body: unknown;
} {
  return {
    kind: bytes[0] as number,
    flags: bytes[1] as number,
    id: bytes.readDoubleLE(2),
    micros: bytes.readUInt32LE(10),
    body: wire.decode(bytes.subarray(RESULT_HEAD)),
  };
}

/** Start-up stages a Fatal message names. */
export type StartupStage = 'queues' | 'module' | 'initializer';

/** How a queue travels: `[name, codec name, joinable ? 1 : 0]`. */
export type QueueRef = [name: string, codec: string, joinable: 0 | 1];

/** The message codec (the package's default 'msgpack'). */
export const wire: Codec<unknown> = resolveCodec('msgpack');

/** Built-in codec names: queues using them need nothing imported in the worker. */
const BUILTIN_CODECS: ReadonlySet<string> = new Set(['msgpack', 'v8', 'json', 'string', 'raw']);

export function isBuiltinCodec(name: string): boolean {
  return BUILTIN_CODECS.has(name);
}

/** Where a custom codec comes from: a module URL and the name of the export that is the codec. */
export interface CodecSource {
  /** `file:` URL (or absolute path) of an ES module the workers can import. */
  module: string | URL;
  /** The export that holds the codec object; default `'default'`. */
  export?: string;
}

/** A `file:` URL string for a module given as URL, file URL string or absolute path. */
export function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(module) && !/^[A-Za-z]:[\\/]/.test(module)) return module;
  return pathToFileURL(module).href;
}

// ---------------------------------------------------------------------------------------------
// Queues inside values. A queue is replaced by a placeholder `{ [refKey]: index }` and its
// `QueueRef` goes into the message's refs table; `refKey` holds a per-pool random part, so user
// data cannot be mistaken for a placeholder. The walks follow what the codec carries (arrays,
// plain and class objects, Map, Set) and keep shared and cyclic references.

function isLeaf(obj: object): boolean {
  return (
    ArrayBuffer.isView(obj) ||
    obj instanceof ArrayBuffer ||
    obj instanceof Date ||
    obj instanceof RegExp ||
    obj instanceof Error ||
    obj instanceof Promise ||
    (typeof SharedArrayBuffer !== 'undefined' && obj instanceof SharedArrayBuffer)
  );
}

/** Objects visited by the current {@link containsQueue} walk: reused, scanned linearly while short. */
const seenList: object[] = [];
let seenSet: Set<object> | null = null;

function alreadySeen(obj: object): boolean {
  if (seenSet !== null) {
    if (seenSet.has(obj)) return true;
    seenSet.add(obj);
    return false;
  }
  if (seenList.includes(obj)) return true;
  seenList.push(obj);
  if (seenList.length > 32) seenSet = new Set(seenList);
  return false;
}

function visit(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Queue) return true;
  if (isLeaf(v) || alreadySeen(v)) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (visit(v[i])) return true;
  } else if (v instanceof Map) {
    for (const [k, item] of v) if (visit(k) || visit(item)) return true;
  } else if (v instanceof Set) {
    for (const item of v) if (visit(item)) return true;
  } else {
    for (const key in v) if (Object.hasOwn(v, key) && visit((v as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** True when `value` holds a Queue anywhere (cycles and shared references are fine). */
export function containsQueue(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return visit(value);
  } finally {
    seenList.length = 0;
    seenSet = null;
  }
}

/**
 * A copy of `value` in which every Queue is a placeholder; `onQueue` returns the queue's index in
 * the refs table. Only call it when {@link containsQueue} said yes. Containers are copied (as the
 * codec would: class instances become plain objects), leaves are shared.
 */
export function replaceQueues(value: unknown, refKey: string, onQueue: (queue: Queue<unknown>) => number): unknown {
  const copies = new Map<object, unknown>();
  const copy = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof Queue) return { [refKey]: onQueue(v) };
    const done = copies.get(v);
    if (done !== undefined) return done;
    if (isLeaf(v)) return v;
    if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      copies.set(v, out);
      for (let i = 0; i < v.length; i++) if (i in v) out[i] = copy(v[i]);
      return out;
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>();
      copies.set(v, out);
      for (const [k, item] of v) out.set(copy(k), copy(item));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set<unknown>();
      copies.set(v, out);
      for (const item of v) out.add(copy(item));
      return out;
    }
    const out: Record<string, unknown> = Object.getPrototypeOf(v) === null ? Object.create(null) : {};
    copies.set(v, out);
    for (const key of Object.keys(v)) out[key] = copy((v as Record<string, unknown>)[key]);
    return out;
  };
  return copy(value);
}

/** Walks a decoded value and replaces each placeholder in place with `resolve(index)`. */
export function restoreQueues(value: unknown, refKey: string, resolve: (index: number) => unknown): unknown {
  const seen = new Set<object>();
  const placeholder = (v: unknown): number | undefined => {
    if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
    if (!Object.hasOwn(v, refKey)) return undefined;
    const index = (v as Record<string, unknown>)[refKey];
    return typeof index === 'number' ? index : undefined;
  };
  const fix = (v: unknown): unknown => {
    const index = placeholder(v);
    if (index !== undefined) return resolve(index);
    if (typeof v !== 'object' || v === null || seen.has(v) || isLeaf(v)) return v;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (i in v) v[i] = fix(v[i]);
    } else if (v instanceof Map) {
      const entries = [...v].map(([k, item]) => [fix(k), fix(item)] as const);
      v.clear();
      for (const [k, item] of entries) v.set(k, item);
    } else if (v instanceof Set) {
      const items = [...v].map(fix);
      v.clear();
      for (const item of items) v.add(item);
    } else {
      const record = v as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = fix(record[key]);
    }
    return v;
  };
  return fix(value);
}

/** The ref of an open queue. */
export function refOf(queue: Queue<unknown>): QueueRef {
  return [queue.name, queue.codec, queue instanceof JoinableQueue ? 1 : 0];
}

/** Opens the queue a ref names (`codec` is the codec object for a custom codec). */
export function openRef(ref: QueueRef, codec: Codec<unknown> | undefined): Queue<unknown> {
  const [name, codecName, joinable] = ref;
  const options = { codec: codec ?? (codecName as 'msgpack') };
  return joinable ? JoinableQueue.open(name, options) : Queue.open(name, options);
}

/** Imports a custom codec from its source and checks it is the codec named `name`. */
export async function importCodec(name: string, source: CodecSource): Promise<Codec<unknown>> {
  const url = moduleUrl(source.module);
  const exportName = source.export ?? 'default';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new poolErrors.TaskModuleError(
      `cannot import the module of codec '${name}' (${url}): ${(error as Error)?.message ?? String(error)}`,
      url,
      { cause: error },
    );
  }
  const codec = mod[exportName] as Codec<unknown> | undefined;
  if (typeof codec !== 'object' || codec === null || codec.name !== name) {
    throw new poolErrors.TaskModuleError(
      `export '${exportName}' of ${url} is not the codec '${name}' (a { name: '${name}', encode, decode } object)`,
      url,
    );
  }
  return codec;
}

// ---------------------------------------------------------------------------------------------
// Errors across the process boundary (Python attaches the remote traceback; we keep the class
// name, message, code, own properties, cause and the worker's stack).

/** An error as it travels. `chain`: constructor names from the error's class up to `Error`. */
export interface WireError {
  error: true;
  chain: string[];
  name: string;
  message: string;
  stack: string | undefined;
  props: Record<string, unknown> | undefined;
  cause: WireError | WireThrown | undefined;
}

/** Something thrown that is not an Error (a string, a plain object...). */
export interface WireThrown {
  error: false;
  value: unknown;
}

/** Describes a thrown value for the wire; `full: false` leaves out the properties and cause. */
export function toWire(thrown: unknown, full = true, depth = 0): WireError | WireThrown {
  if (!(thrown instanceof Error)) return { error: false, value: thrown };
  const chain: string[] = [];
  for (let p = Object.getPrototypeOf(thrown); p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    chain.push(typeof name === 'string' && name !== '' ? name : 'Error');
  }
  let props: Record<string, unknown> | undefined;
  if (full) {
    for (const key of Object.keys(thrown)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
      props ??= {};
      props[key] = (thrown as unknown as Record<string, unknown>)[key];
    }
  }
  const cause = (thrown as { cause?: unknown }).cause;
  return {
    error: true,
    chain,
    name: String(thrown.name),
    message: String(thrown.message),
    stack: typeof thrown.stack === 'string' ? thrown.stack : undefined,
    props,
    cause: full && cause !== undefined && depth < 8 ? toWire(cause, true, depth + 1) : undefined,
  };
}

type ErrorClass = abstract new (...args: never[]) => Error;
const BUILTIN_ERRORS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
/** This package's own error classes: rebuilt as themselves, so `instanceof` works. */
const PACKAGE_ERRORS: Record<string, ErrorClass> = {};
for (const source of [deps as Record<string, unknown>, poolErrors as Record<string, unknown>]) {
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === 'function' && value.prototype instanceof Error) PACKAGE_ERRORS[key] = value as ErrorClass;
  }
}
const dynamicClasses = new Map<string, new (message?: string) => Error>();

/** A class named `name` extending `base`, made once per (name, base). */
function dynamicClass(name: string, base: new (message?: string) => Error): new (message?: string) => Error {
  const key = `${name}\u0000${base.name}`;
  let made = dynamicClasses.get(key);
  if (!made) {
    made = { [name]: class extends base {} }[name] as new (message?: string) => Error;
    dynamicClasses.set(key, made);
  }
  return made;
}

function define(target: object, key: string, value: unknown, enumerable = false): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}

/**
 * Rebuilds a thrown value from the wire: this package's error classes and the built-in ones as
 * themselves; any other class as a class of the same name extending the nearest built-in
 * ancestor (so `err.constructor.name` and `err.name` read as in the worker). `stack` is the
 * worker's stack.
 */
export function fromWire(w: WireError | WireThrown): unknown {
  if (!w.error) return w.value;
  const own = w.chain[0] ?? 'Error';
  let error: Error;
  const pkg = PACKAGE_ERRORS[own];
  if (pkg) {
    error = Object.create(pkg.prototype) as Error;
    define(error, 'message', w.message);
  } else {
    const baseName = w.chain.find((n) => Object.hasOwn(BUILTIN_ERRORS, n)) ?? 'Error';
    const base = BUILTIN_ERRORS[baseName] as new (message?: string) => Error;
    const ctor = own === baseName ? base : dynamicClass(own, base);
    error = new ctor(w.message);
  }
  if (error.name !== w.name) define(error, 'name', w.name);
  if (w.props) for (const [key, value] of Object.entries(w.props)) define(error, key, value, true);
  if (w.cause !== undefined) define(error, 'cause', fromWire(w.cause));
  define(error, 'stack', w.stack ?? `${w.name}: ${w.message}\n    at <ProcessPool worker>`);
  return error;
}
