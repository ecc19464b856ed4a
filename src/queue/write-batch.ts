/**
 * The write batch of `putMany`/`putManySync`: every value encoded into one slab first (so a
 * value the codec refuses puts nothing), then pushed with one lock per run that fits.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { invalidArgType } from '../errors.js';
import { type NativeHandle, status as S } from '../native/index.js';

/** Encoded values, back to back in `bytes`, with their lengths. */
export interface EncodedBatch {
  readonly bytes: Buffer;
  readonly lens: Uint32Array;
  readonly count: number;
}

/** Encodes batches into a slab and a lengths array reused from one batch to the next. */
export class BatchEncoder {
  #slab: Buffer | null = null;
  #lens: Uint32Array | null = null;

  /** Encodes every value with `encode` (which throws for a value it refuses). */
  encode<T>(values: Iterable<T>, encode: (value: T) => Uint8Array): EncodedBatch {
    if (values === null || typeof (values as Iterable<T>)?.[Symbol.iterator] !== 'function')
      throw invalidArgType('values', 'an iterable', values);
    let slab = this.#slab ?? Buffer.allocUnsafe(64 * 1024);
    let lens = this.#lens ?? new Uint32Array(64);
    let count = 0;
    let total = 0;
    for (const value of values) {
      const bytes = encode(value);
      if (total + bytes.length > slab.length) {
        const bigger = Buffer.allocUnsafe(Math.max(slab.length * 2, total + bytes.length));
        slab.copy(bigger, 0, 0, total);
        slab = bigger;
      }
      slab.set(bytes, total);
      if (count === lens.length) {
        const more = new Uint32Array(lens.length * 2);
        more.set(lens);
        lens = more;
      }
      lens[count++] = bytes.length;
      total += bytes.length;
    }
    this.#slab = slab;
    this.#lens = lens;
    return { bytes: slab, lens, count };
  }

  /** Gives `batch`'s slab and lengths to the caller for good (it waits with them; the next batch gets others). */
  detach(batch: EncodedBatch): void {
    if (this.#slab === batch.bytes) this.#slab = null;
    if (this.#lens === batch.lens) this.#lens = null;
  }
}

/** How far a batch got: the values before `done` are in the queue. */
export class BatchProgress {
  done = 0;
  #offset = 0;

  constructor(readonly batch: EncodedBatch) {}

  get complete(): boolean {
    return this.done === this.batch.count;
  }

  /** Encoded size of the next value to go in (0 when complete). */
  get nextSize(): number {
    return this.batch.lens[this.done] ?? 0;
  }

  /** Pushes what is left (waiting up to `timeoutMs`); returns `ok` when all went in, else why not. */
  push(handle: NativeHandle, timeoutMs: number): number {
    const { bytes, lens, count } = this.batch;
    const rest = lens.subarray(this.done, count);
    const pushed = handle.pushMany(bytes.subarray(this.#offset), rest, count - this.done, timeoutMs);
    for (let i = 0; i < pushed; i++) this.#offset += rest[i] as number;
    this.done += pushed;
    return this.done === count ? S.ok : handle.lastError().status;
  }
}

/**
 * The rejection of a putMany aborted after some values went in: an AbortError like Node's (same
 * `name` and `code`), with the signal's reason as `cause` and how many values were put.
 */
export function partialAbort(reason: unknown, putCount: number, total: number): Error {
  const error = new Error(
    `putMany was aborted after ${putCount} of ${total} values were put (they stay queued, in order)`,
    { cause: reason },
  );
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR', putCount });
}
