/**
 * `'v8'`: Node's own structured clone (`v8.serialize` / `v8.deserialize`), what worker_threads and
 * 'advanced' IPC use. Also the fallback of `'msgpack'` for the values msgpackr would alter.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import v8 from 'node:v8';
import { messageOf, refused } from './shared.js';
import type { Codec } from './types.js';

/** Deserializes v8 bytes without aliasing them (Node's deserializer returns views for typed arrays). */
export function v8DecodeCopy(bytes: Uint8Array): unknown {
  return v8.deserialize(Buffer.from(bytes));
}

export function v8Encode(value: unknown, codec: string): Buffer {
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

export const v8Codec: Codec<unknown> = Object.freeze({
  name: 'v8',
  borrowsInput: false,
  encode(value: unknown): Uint8Array {
    return v8Encode(value, 'v8');
  },
  decode(bytes: Uint8Array): unknown {
    return v8DecodeCopy(bytes);
  },
});
