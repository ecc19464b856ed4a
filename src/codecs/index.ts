/**
 * Codecs: how a queued value becomes bytes in shared memory, and back. One file per codec; this
 * module holds THE list of built-in codecs and resolves an `options.codec` value.
 *
 * Built-ins: `'msgpack'` (the default; msgpackr with structured clone, falling back to
 * `v8.serialize` for the few values msgpackr would alter), `'v8'` (Node's structured clone),
 * `'json'`, `'string'` and `'raw'`. A custom codec is any {@link Codec} object.
 *
 * @module
 */
import { describe, invalidArgType, invalidArgValue } from '../errors.js';
import { customCodec } from './custom.js';
import { jsonCodec } from './json.js';
import { msgpackCodec } from './msgpack.js';
import { rawCodec } from './raw.js';
import { stringCodec } from './string.js';
import type { Codec } from './types.js';
import { v8Codec } from './v8.js';

export type { Codec } from './types.js';

/** The built-in codecs by name, the default (`'msgpack'`) first. */
const BUILT_IN = Object.freeze({
  msgpack: msgpackCodec,
  v8: v8Codec,
  json: jsonCodec,
  string: stringCodec,
  raw: rawCodec,
});

/** Names of the built-in codecs, accepted as `options.codec`. */
export type CodecName = keyof typeof BUILT_IN;

/** Every built-in codec name, the default (`'msgpack'`) first. */
export const CODEC_NAMES: readonly CodecName[] = Object.freeze(Object.keys(BUILT_IN) as CodecName[]);

/** True when `name` names a built-in codec (a queue created with one opens without naming it). */
export function isBuiltinCodecName(name: string): name is CodecName {
  return Object.hasOwn(BUILT_IN, name);
}

const EXPECTED = `one of ${CODEC_NAMES.map((n) => `'${n}'`).join(', ')} or a codec object { name, encode, decode }`;

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
 *   Arrays with named properties (`Object.assign([1], { extra: 'x' })`), and arrays longer than
 *   4,096 elements (not scanned for them), take the v8 path too, which keeps named properties.
 *   Known losses, shared with structured clone: getters are read (twice: walk then pack),
 *   symbol-keyed and non-enumerable properties are dropped, typed arrays that shared one
 *   ArrayBuffer come back with separate buffers. The walk costs what the value holds, not its
 *   length (a sparse array is walked over its present elements only). docs/api.md has the table.
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
    if (isBuiltinCodecName(codec)) return BUILT_IN[codec];
    throw invalidArgValue('options.codec', `must be ${EXPECTED}. Received ${describe(codec)}`);
  }
  if (typeof codec !== 'object' || codec === null) throw invalidArgType('options.codec', EXPECTED, codec);
  for (const name of CODEC_NAMES) if (BUILT_IN[name] === codec) return codec; // e.g. another queue's `codec`
  return customCodec(codec, isBuiltinCodecName);
}
