/**
 * `'string'`: a string as UTF-8 bytes.
 *
 * @module
 */
import { invalidArgType } from '../errors.js';
import { asBuffer, isWellFormed, refused, Utf8Scratch } from './shared.js';
import type { Codec } from './types.js';

const stringScratch = new Utf8Scratch();

export const stringCodec: Codec<unknown> = Object.freeze({
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
