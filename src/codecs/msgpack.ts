/**
 * `'msgpack'`, the default codec: msgpackr with structured clone, falling back to `v8.serialize`
 * for the few values msgpackr would alter (found by a walk over the value before packing).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { types } from 'node:util';
import v8 from 'node:v8';
import { Packr, Unpackr } from 'msgpackr';
import { describe } from '../errors.js';
import { asBuffer, isWellFormed, messageOf, refused } from './shared.js';
import type { Codec } from './types.js';
import { v8DecodeCopy, v8Encode } from './v8.js';
import { VisitedObjects } from '../visited.js';

/**
 * Where msgpackr would alter a value, the message is v8.serialize output wrapped as one top-level
 * msgpack ext 32 value of this type: `c9 <u32 length> 56 <v8 bytes>`. msgpackr never writes this
 * ext type, so plain msgpack messages and fallback messages cannot be confused.
 */
const V8_FALLBACK_EXT = 0x56; // 'V'
const FALLBACK_HEADER = 6;

function functionRefused(fn: unknown): never {
  throw refused(
    `contains ${describe(fn)}, which the 'msgpack' codec cannot carry; remove it or convert it to data first.`,
  );
}

const packr = new Packr({
  structuredClone: true, // identity of shared and cyclic references; implies moreTypes
  moreTypes: true, // Set, Error, RegExp, typed arrays, ArrayBuffer, DataView, big BigInts
  largeBigIntToFloat: false, // BigInts beyond 64 bits use msgpackr's exact bigint extension
  encodeUndefinedAsNil: false,
  writeFunction: functionRefused as () => never, // never reached (functions take the v8 path), but never silent
});
/**
 * The same options without structured clone, for values the walk found no object twice in: then
 * msgpackr writes the same bytes either way (its structured clone only adds references to objects
 * seen before), and skips the Map of every object it packs (identity hashes and Map sets were ~5%
 * of a put of the S2 object in perf). The decoder is the structured-clone one for both.
 */
const plainPackr = new Packr({
  moreTypes: true,
  largeBigIntToFloat: false,
  encodeUndefinedAsNil: false,
  writeFunction: functionRefused as () => never,
});
const unpackr = new Unpackr({ structuredClone: true, moreTypes: true, copyBuffers: true });

/** Typed array constructors msgpackr restores by name (subclasses are not). */
const TYPED_ARRAYS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  Buffer,
  DataView,
]);

/** Objects already visited by the current walk. */
const visited = new VisitedObjects();
/** Cleared by the walk when msgpackr would not reproduce the value exactly. */
let exact = true;
/** Set by the walk when the value holds an Error (see {@link v8Fallback}). */
let sawError = false;
/** Set by the walk when it met an object a second time (a shared or cyclic reference). */
let sawShared = false;

/**
 * Walks `value` and clears {@link exact} for anything msgpackr (with the options above) would
 * alter or drop: -0, lone surrogates (values and keys), array holes and named properties,
 * `__proto__` keys, Errors (msgpackr loses the stack), boxed primitives, class instances and other objects without a
 * plain prototype, typed array subclasses, Proxies, and what structured clone refuses (functions,
 * symbols, WeakMap, Promise...). Such values go to v8, which carries them exactly or throws.
 * The walk always completes, so that {@link sawError} is reliable.
 */
function visit(value: unknown): void {
  switch (typeof value) {
    case 'number':
      if (value === 0 && 1 / value < 0) exact = false;
      return;
    case 'string':
      if (!isWellFormed(value)) exact = false;
      return;
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return;
    case 'object':
      if (value !== null) visitObject(value);
      return;
    default: // function, symbol
      exact = false;
  }
}

function visitProperties(record: Record<string, unknown>): void {
  for (const key in record) {
    if (key === '__proto__' || !isWellFormed(key)) exact = false;
    visit(record[key]);
  }
}

/**
 * Arrays longer than this are not checked for named properties (their key list costs more than
 * packing them): they take the v8 path, which carries holes and named properties exactly and
 * costs about what msgpackr does for long arrays.
 */
const ARRAY_KEYS_LIMIT = 4096;

/** True when `key` is an array index (a canonical integer below 2^32 - 1). */
function isIndex(key: string): boolean {
  const n = Number(key);
  return n >>> 0 === n && n !== 4294967295 && String(n) === key;
}

/**
 * Arrays: msgpackr writes `length` elements (a hole becomes undefined) and drops named
 * properties (`Object.assign([1], { extra: 'x' })`). Either sends the array to v8. The walk costs
 * what the array holds, not its length: at the first hole it switches to the own keys, which for a
 * sparse array (`a = []; a[1e8 - 1] = 1`) are only the present ones.
 */
function visitArray(array: unknown[]): void {
  const n = array.length;
  let i = 0;
  for (; i < n; i++) {
    const item = array[i];
    if (item === undefined && !(i in array)) break; // a hole
    visit(item);
  }
  if (i < n) {
    exact = false;
    for (const key of Object.keys(array)) {
      if (isIndex(key)) {
        if (Number(key) > i) visit(array[key as unknown as number]);
      } else {
        visitNamed(array, key);
      }
    }
    return;
  }
  if (n > ARRAY_KEYS_LIMIT) {
    // Dense but too long to list its keys: v8 carries whatever named properties it has, and an
    // Error among them (unseen by this walk) is caught by v8Fallback's test decode.
    exact = false;
    sawError = true;
    return;
  }
  const keys = Object.keys(array);
  if (keys.length === n) return;
  exact = false; // named properties: msgpackr would drop them
  for (let k = n; k < keys.length; k++) visitNamed(array, keys[k] as string);
}

function visitNamed(obj: object, key: string): void {
  if (key === '__proto__' || !isWellFormed(key)) exact = false;
  visit((obj as Record<string, unknown>)[key]);
}

function visitObject(obj: object): void {
  if (visited.seen(obj)) {
    sawShared = true; // a cycle or a shared reference: msgpackr's structured clone keeps identity
    return;
  }
  if (types.isProxy(obj)) {
    exact = false; // structured clone refuses proxies; v8 will throw
    return;
  }
  const ctor = (obj as { constructor?: unknown }).constructor;
  if (ctor === Object) {
    visitProperties(obj as Record<string, unknown>);
  } else if (ctor === Array) {
    visitArray(obj as unknown[]);
  } else if (ctor === Map) {
    for (const [k, v] of obj as Map<unknown, unknown>) {
      visit(k);
      visit(v);
    }
  } else if (ctor === Set) {
    for (const v of obj as Set<unknown>) visit(v);
  } else if (ctor === undefined && Object.getPrototypeOf(obj) === null) {
    visitProperties(obj as Record<string, unknown>);
  } else if (!(ctor === Date || ctor === RegExp || ctor === ArrayBuffer || TYPED_ARRAYS.has(ctor))) {
    exact = false;
    if (obj instanceof Error) {
      sawError = true;
      visit((obj as { cause?: unknown }).cause);
    } else if (obj instanceof Map) {
      for (const [k, v] of obj) {
        visit(k);
        visit(v);
      }
    } else if (obj instanceof Set) {
      for (const v of obj) visit(v);
    }
    if (!types.isBoxedPrimitive(obj)) visitProperties(obj as Record<string, unknown>);
  }
}

/** True when msgpackr carries `value` exactly; also sets {@link sawError}. */
function isExact(value: unknown): boolean {
  exact = true;
  sawError = false;
  sawShared = false;
  try {
    visit(value);
    return exact;
  } catch {
    // A throwing getter, or nesting too deep for the walk: let v8 decide (and test-decode).
    sawError = true;
    return false;
  } finally {
    visited.clear();
  }
}

/**
 * Encodes with v8.serialize behind the fallback header. When the value holds an Error, the bytes
 * are test-decoded: Node 20's deserializer fails on an Error whose `cause` leads back to itself,
 * and such a value must be refused now rather than become a message no one can get.
 */
function v8Fallback(value: unknown): Uint8Array {
  const body = v8Encode(value, 'msgpack');
  if (sawError) {
    try {
      v8.deserialize(body);
    } catch (error) {
      throw refused(
        `cannot be encoded by the 'msgpack' codec: v8 cannot decode its own encoding of it (${messageOf(error)}); an Error whose cause refers back to it does this.`,
        error,
      );
    }
  }
  const out = Buffer.allocUnsafe(body.length + FALLBACK_HEADER);
  out[0] = 0xc9;
  out.writeUInt32BE(body.length, 1);
  out[5] = V8_FALLBACK_EXT;
  body.copy(out, FALLBACK_HEADER);
  return out;
}

function isFallback(bytes: Uint8Array): boolean {
  return (
    bytes[0] === 0xc9 &&
    bytes[5] === V8_FALLBACK_EXT &&
    bytes.length >= FALLBACK_HEADER &&
    ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0 === bytes.length - FALLBACK_HEADER
  );
}

export const msgpackCodec: Codec<unknown> = Object.freeze({
  name: 'msgpack',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    if (!isExact(value)) return v8Fallback(value);
    try {
      return (sawShared ? packr : plainPackr).pack(value);
    } catch {
      // msgpackr limits we did not foresee (e.g. > 65535 keys in one object): v8 carries it or refuses.
      return v8Fallback(value);
    }
  },
  decode(bytes: Uint8Array): unknown {
    if (isFallback(bytes)) return v8DecodeCopy(bytes.subarray(FALLBACK_HEADER));
    return unpackr.unpack(asBuffer(bytes)); // a Buffer source makes binary values decode as Buffers
  },
});
