/**
 * `'json'`: `JSON.stringify` / `JSON.parse` over UTF-8, exactly as JSON behaves.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { describe } from '../errors.js';
import { asBuffer, kDecodeRange, refused, Utf8Scratch } from './shared.js';
import type { Codec } from './types.js';

const jsonScratch = new Utf8Scratch();

export const jsonCodec: Codec<unknown> = Object.freeze({
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
  // utf8Slice is what toString('utf8', start, end) ends in, minus the per-message Buffer view and
  // the encoding dispatch (~35 ns of a ~700 ns get of a small object).
  [kDecodeRange]: (slab: Buffer, start: number, end: number): unknown => JSON.parse(utf8Slice(slab, start, end)),
});

type Utf8Sliceable = Buffer & { utf8Slice?: (start: number, end: number) => string };
const utf8Slice: (slab: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function'
    ? (slab, start, end) => (slab as Utf8Sliceable & { utf8Slice(s: number, e: number): string }).utf8Slice(start, end)
    : (slab, start, end) => slab.toString('utf8', start, end);
