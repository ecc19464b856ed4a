/**
 * Codecs: how a queued value becomes bytes in shared memory, and back.
 *
 * Built-ins: `'msgpack'` (the default; msgpackr with structured clone, falling back to
 * `v8.serialize` for the few values msgpackr would alter), `'v8'` (Node's structured clone),
 * `'json'`, `'string'` and `'raw'`. A custom codec is any {@link Codec} object.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { types } from 'node:util';
import v8 from 'node:v8';
import { Packr, Unpackr } from 'msgpackr';
import { describe, invalidArgType, invalidArgValue, type ArgumentError } from './errors.js';

/** A codec turns values into bytes and back. */
export interface Codec<T = unknown> {
  /** Stored in the queue's shared header; 1-31 chars of [A-Za-z0-9_.:-]. */
  readonly name: string;
  /**
   * Returns the encoded bytes. The result may be a view of an internal buffer that the next
   * encode() call overwrites: the caller copies it at once. Must throw (and have no side effect)
   * for a value it cannot carry faithfully.
   */
  encode(value: T): Uint8Array;
  /**
   * `bytes` is only valid during the call (it lives in a reusable slab), unless `borrowsInput` is
   * true. The result must not keep references into `bytes` (unless borrowsInput).
   */
  decode(bytes: Uint8Array): T;
  /**
   * When true, the queue hands decode() a fresh region that is never reused, so decode may return
   * views of it (the 'raw' codec does; custom codecs default to true for safety).
   */
  readonly borrowsInput?: boolean;
}

/** Names of the built-in codecs, accepted as `options.codec`. */
export type CodecName = 'msgpack' | 'v8' | 'json' | 'string' | 'raw';

/** Every built-in codec name, the default (`'msgpack'`) first. */
export const CODEC_NAMES: readonly CodecName[] = Object.freeze(['msgpack', 'v8', 'json', 'string', 'raw'] as const);

const CUSTOM_NAME = /^[A-Za-z0-9_.:-]{1,31}$/;

// ---------------------------------------------------------------------------------------------
// Helpers

/** `invalidArgValue('value', ...)` with the underlying error attached as `cause`. */
function refused(reason: string, cause?: unknown): TypeError & ArgumentError {
  const error = invalidArgValue('value', reason);
  if (cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  }
  return error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A Buffer viewing the same bytes (no copy); `bytes` itself when it already is one. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const stringProto = String.prototype as unknown as { isWellFormed?: (this: string) => boolean };
/** True when `s` has no lone surrogate, i.e. UTF-8 carries it exactly. */
const isWellFormed: (s: string) => boolean =
  typeof stringProto.isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF])/.test(s);

/**
 * A growable scratch buffer for UTF-8 text. encode() results are views of it, valid until the
 * next encode() of the same codec (the queue copies them at once).
 */
class Utf8Scratch {
  private buf = Buffer.allocUnsafeSlow(8192);

  write(text: string): Uint8Array {
    const worst = text.length * 3;
    if (worst > this.buf.length) {
      // Do not keep very large scratch buffers alive: allocate exactly, once.
      if (worst > 1 << 20) return Buffer.from(text, 'utf8');
      this.buf = Buffer.allocUnsafeSlow(Math.max(worst, this.buf.length * 2));
    }
    const written = this.buf.write(text, 0, 'utf8');
    return this.buf.subarray(0, written);
  }
}

// ---------------------------------------------------------------------------------------------
// 'v8'

/** Deserializes v8 bytes without aliasing them (Node's deserializer returns views for typed arrays). */
function v8DecodeCopy(bytes: Uint8Array): unknown {
  return v8.deserialize(Buffer.from(bytes));
}

function v8Encode(value: unknown, codec: string): Buffer {
  try {
    return v8.serialize(value);
  } catch (error) {
    throw refused(
      `cannot be encoded by the '${codec}' codec: ${messageOf(error)} ` +
        'Only structured-clone-able data can be queued (no functions, symbols, WeakMap/WeakSet, ' +
        'Promise, Proxy or host objects); convert it to plain data first, or use a custom codec.',
      error,
    );
  }
}

const v8Codec: Codec<unknown> = Object.freeze({
  name: 'v8',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    return v8Encode(value, 'v8');
  },
  decode(bytes: Uint8Array): unknown {
    return v8DecodeCopy(bytes);
  },
});

// ---------------------------------------------------------------------------------------------
// 'msgpack'

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

/**
 * Objects already visited by the current walk. A short array scanned linearly, promoted to a Set
 * past 32 entries: Set#clear() after every small walk cost more than the rest of the walk.
 */
const seenList: object[] = [];
let seenSet: Set<object> | null = null;

/** Marks `obj` as visited; true when it already was. */
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
/** Cleared by the walk when msgpackr would not reproduce the value exactly. */
let exact = true;
/** Set by the walk when the value holds an Error (see {@link v8Fallback}). */
let sawError = false;

/**
 * Walks `value` and clears {@link exact} for anything msgpackr (with the options above) would
 * alter or drop: -0, lone surrogates (values and keys), array holes, `__proto__` keys, Errors
 * (msgpackr loses the stack), boxed primitives, class instances and other objects without a
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

function visitObject(obj: object): void {
  if (alreadySeen(obj)) return; // a cycle or a shared reference: msgpackr keeps identity
  if (types.isProxy(obj)) {
    exact = false; // structured clone refuses proxies; v8 will throw
    return;
  }
  const ctor = (obj as { constructor?: unknown }).constructor;
  if (ctor === Object) {
    visitProperties(obj as Record<string, unknown>);
  } else if (ctor === Array) {
    const array = obj as unknown[];
    for (let i = 0, n = array.length; i < n; i++) {
      const item = array[i];
      if (item === undefined && !(i in array))
        exact = false; // a hole
      else visit(item);
    }
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
  try {
    visit(value);
    return exact;
  } catch {
    // A throwing getter, or nesting too deep for the walk: let v8 decide (and test-decode).
    sawError = true;
    return false;
  } finally {
    seenList.length = 0;
    seenSet = null;
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

const msgpackCodec: Codec<unknown> = Object.freeze({
  name: 'msgpack',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    if (!isExact(value)) return v8Fallback(value);
    try {
      return packr.pack(value);
    } catch (error) {
      // msgpackr limits we did not foresee (e.g. > 65535 keys in one object): v8 carries it or refuses.
      return v8Fallback(value);
    }
  },
  decode(bytes: Uint8Array): unknown {
    if (isFallback(bytes)) return v8DecodeCopy(bytes.subarray(FALLBACK_HEADER));
    return unpackr.unpack(asBuffer(bytes)); // a Buffer source makes binary values decode as Buffers
  },
});

// ---------------------------------------------------------------------------------------------
// 'json', 'string', 'raw'

const jsonScratch = new Utf8Scratch();

const jsonCodec: Codec<unknown> = Object.freeze({
  name: 'json',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      if (error instanceof TypeError) {
        // BigInt, or a circular structure: JSON has no way to carry either.
        throw refused(
          `cannot be encoded by the 'json' codec: ${error.message}. Use the 'msgpack' codec, or convert it first.`,
          error,
        );
      }
      throw error; // thrown by the value's own toJSON(): not ours to rename
    }
    if (text === undefined) {
      throw refused(
        `cannot be encoded by the 'json' codec: JSON.stringify() returns undefined for ${describe(value)}. Use the 'msgpack' codec, or convert it first.`,
      );
    }
    return jsonScratch.write(text);
  },
  decode(bytes: Uint8Array): unknown {
    return JSON.parse(asBuffer(bytes).toString('utf8'));
  },
});

const stringScratch = new Utf8Scratch();

const stringCodec: Codec<unknown> = Object.freeze({
  name: 'string',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    if (typeof value !== 'string') throw invalidArgType('value', 'of type string', value);
    if (!isWellFormed(value)) {
      throw refused(
        "contains a lone surrogate, which UTF-8 cannot carry; use the 'msgpack' or 'v8' codec, or fix it with String.prototype.toWellFormed().",
      );
    }
    return stringScratch.write(value);
  },
  decode(bytes: Uint8Array): unknown {
    return asBuffer(bytes).toString('utf8');
  },
});

const rawCodec: Codec<unknown> = Object.freeze({
  name: 'raw',
  borrowsInput: true,
  encode(value: unknown): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (types.isAnyArrayBuffer(value)) return new Uint8Array(value);
    throw invalidArgType('value', 'an instance of Buffer, TypedArray, DataView or ArrayBuffer', value);
  },
  decode(bytes: Uint8Array): unknown {
    return asBuffer(bytes);
  },
});

const BUILT_IN: Readonly<Record<CodecName, Codec<unknown>>> = Object.freeze({
  msgpack: msgpackCodec,
  v8: v8Codec,
  json: jsonCodec,
  string: stringCodec,
  raw: rawCodec,
});

// ---------------------------------------------------------------------------------------------
// resolveCodec

const EXPECTED = `one of ${CODEC_NAMES.map((n) => `'${n}'`).join(', ')} or a codec object { name, encode, decode }`;

function isCodecName(value: string): value is CodecName {
  return Object.prototype.hasOwnProperty.call(BUILT_IN, value);
}

/**
 * Validates and returns the codec for an option value (undefined -> 'msgpack').
 *
 * - `'msgpack'` (default): msgpackr with structured clone. Carries what structured clone carries:
 *   undefined, NaN, -0, ±Infinity, BigInt of any size, strings (lone surrogates too), Date
 *   (invalid ones too), RegExp, Map, Set, arrays (holes too), plain objects, shared and cyclic
 *   references (identity preserved), every typed array kind, Buffer, ArrayBuffer, DataView and
 *   Error (name, message, stack, cause). Values msgpackr would alter (-0, lone surrogates, holes,
 *   Errors, boxed primitives, class instances, `__proto__` keys...) are detected by a walk before
 *   packing and encoded with `v8.serialize` instead, so nothing is silently changed; class
 *   instances arrive as plain objects (own enumerable properties), as with structured clone.
 *   Functions, symbols, WeakMap/WeakSet/WeakRef, Promise, Proxy, SharedArrayBuffer and host
 *   objects, anywhere in the value, throw a `TypeError` with code `ERR_INVALID_ARG_VALUE`.
 *   Known losses, shared with structured clone: getters are read (twice: walk then pack), non-index
 *   properties of arrays are dropped by msgpackr (v8 keeps them), typed arrays that shared one
 *   ArrayBuffer come back with separate buffers.
 * - `'v8'`: `v8.serialize` / `v8.deserialize`; refusals become `ERR_INVALID_ARG_VALUE` with the
 *   DataCloneError as `cause`. Decoded typed arrays view a private copy of the message (their
 *   `.buffer` is larger than they are). Caveat of Node 20's v8: an Error whose `cause` leads back
 *   to itself encodes but cannot be decoded ('msgpack' refuses it at put instead).
 * - `'json'`: follows `JSON.stringify` exactly (toJSON is called, Dates become strings, undefined
 *   properties and functions inside objects are dropped, NaN/Infinity become null, -0 becomes 0,
 *   Map/Set become `{}`); a value whose JSON is `undefined` (undefined, a function, a symbol), a
 *   BigInt or a circular structure throws `ERR_INVALID_ARG_VALUE`.
 * - `'string'`: a string as UTF-8; non-strings throw `ERR_INVALID_ARG_TYPE`, strings with a lone
 *   surrogate `ERR_INVALID_ARG_VALUE`.
 * - `'raw'`: any Buffer, TypedArray, DataView or ArrayBuffer, sent byte for byte (no copy at
 *   encode); gets return a `Buffer` owning its bytes (`borrowsInput`).
 *
 * A custom codec object must have a `name` matching `/^[A-Za-z0-9_.:-]{1,31}$/` that is not a
 * built-in name, and `encode`/`decode` functions. It is returned wrapped: the wrapper checks that
 * encode() returns a Uint8Array and defaults `borrowsInput` to true.
 *
 * @throws TypeError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` naming `options.codec`.
 */
export function resolveCodec(codec: CodecName | Codec<unknown> | undefined): Codec<unknown> {
  if (codec === undefined) return msgpackCodec;
  if (typeof codec === 'string') {
    if (isCodecName(codec)) return BUILT_IN[codec];
    throw invalidArgValue('options.codec', `must be ${EXPECTED}. Received ${describe(codec)}`);
  }
  if (typeof codec !== 'object' || codec === null) throw invalidArgType('options.codec', EXPECTED, codec);
  for (const name of CODEC_NAMES) if (BUILT_IN[name] === codec) return codec; // e.g. another queue's `codec`

  const { name, encode, decode, borrowsInput } = codec as Partial<Codec<unknown>>;
  if (typeof name !== 'string') throw invalidArgType('options.codec.name', 'of type string', name);
  if (!CUSTOM_NAME.test(name)) {
    throw invalidArgValue(
      'options.codec.name',
      `must be 1-31 characters of [A-Za-z0-9_.:-]. Received ${describe(name)}`,
    );
  }
  if (isCodecName(name)) {
    throw invalidArgValue(
      'options.codec.name',
      `must not be the name of a built-in codec. Received '${name}'; pass the string '${name}' to use the built-in one`,
    );
  }
  if (typeof encode !== 'function') throw invalidArgType('options.codec.encode', 'of type function', encode);
  if (typeof decode !== 'function') throw invalidArgType('options.codec.decode', 'of type function', decode);
  if (borrowsInput !== undefined && typeof borrowsInput !== 'boolean') {
    throw invalidArgType('options.codec.borrowsInput', 'of type boolean', borrowsInput);
  }

  const wrapper: Codec<unknown> = {
    name,
    borrowsInput: borrowsInput ?? true,
    encode(value: unknown): Uint8Array {
      const bytes: unknown = encode.call(codec, value);
      if (!(bytes instanceof Uint8Array)) {
        const error = new TypeError(
          `The encode() method of codec "${name}" must return a Uint8Array. Received ${describe(bytes)}`,
        );
        Object.defineProperty(error, 'code', {
          value: 'ERR_INVALID_ARG_TYPE',
          enumerable: true,
          writable: true,
          configurable: true,
        });
        throw error;
      }
      return bytes;
    },
    decode(bytes: Uint8Array): unknown {
      return decode.call(codec, bytes);
    },
  };
  return Object.freeze(wrapper);
}
