/**
 * Queues inside task arguments and results. A queue is replaced by a placeholder and travels as
 * its name, codec and kind; the other side opens it. Custom codecs come from a module URL.
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { type Codec, JoinableQueue, Queue, VisitedObjects } from './deps.js';
import { TaskModuleError } from './errors.js';

/** How a queue travels: `[name, codec name, joinable ? 1 : 0]`. */
export type QueueRef = [name: string, codec: string, joinable: 0 | 1];

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

/** Objects visited by the current {@link containsQueue} walk. */
const visited = new VisitedObjects();

function visit(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Queue) return true;
  if (isLeaf(v) || visited.seen(v)) return false;
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
    visited.clear();
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
    throw new TaskModuleError(
      `cannot import the module of codec '${name}' (${url}): ${(error as Error)?.message ?? String(error)}`,
      url,
      { cause: error },
    );
  }
  const codec = mod[exportName] as Codec<unknown> | undefined;
  if (typeof codec !== 'object' || codec === null || codec.name !== name) {
    throw new TaskModuleError(
      `export '${exportName}' of ${url} is not the codec '${name}' (a { name: '${name}', encode, decode } object)`,
      url,
    );
  }
  return codec;
}
