/**
 * `'raw'`: bytes in, bytes out, no encoding.
 *
 * @module
 */
import { types } from 'node:util';
import { invalidArgType } from '../errors.js';
import { asBuffer } from './shared.js';
import type { Codec } from './types.js';

export const rawCodec: Codec<unknown> = Object.freeze({
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
