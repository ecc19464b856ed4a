/**
 * Receiving: one message (`shift`) or a batch (`shiftMany`) copied from the ring into the read
 * slab and decoded. A batch has left the ring as a whole, so when a message of it fails to decode
 * the failure and every later message are carried, in order, to the next gets instead of being
 * lost with the batch.
 *
 * @module
 */
import type { Codec } from '../codecs/index.js';
import { align8, type NativeHandle, status as S } from '../native/index.js';
import type { ReadSlab } from './read-slab.js';
import { outOfRange } from '../errors.js';
import { firstSlice, SYNC_SLICE_MS, shiftManyWaiting, shiftWaiting, sliced } from './sync-wait.js';

/** Sentinel for "nothing there" in the non-throwing gets. */
export const kEmpty: unique symbol = Symbol('empty');

/** A message taken from the ring but not yet handed out: its value, or why it could not be decoded. */
type Carried<T> = { value: T } | { error: unknown };

export class Receiver<T> {
  /** Messages already taken from the ring by a batch whose decode failed part-way. */
  readonly #carry: Carried<T>[] = [];

  constructor(
    private readonly handle: NativeHandle,
    private readonly codec: Codec<T>,
    private readonly slab: ReadSlab,
    /** Throws the typed error of a status that ended a get. */
    private readonly fail: (status: number, timeout: number) => never,
  ) {}

  /** Takes one message. Returns kEmpty instead of throwing when `throwEmpty` is false. */
  shift(timeout: number, throwEmpty: boolean): T | typeof kEmpty {
    if (this.#carry.length > 0) return this.#takeCarried();
    const { handle, slab } = this;
    slab.ensureAttached();
    for (;;) {
      const offset = slab.start();
      const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
      let n = handle.shift(offset, firstSlice(timeout));
      if (n === S.empty && timeout !== firstSlice(timeout)) n = shiftWaiting(handle, offset, timeout, started);
      if (n >= 0) {
        const bytes = slab.buf.subarray(offset, offset + n);
        slab.consumed(offset + align8(n));
        return this.codec.decode(bytes);
      }
      if (n === S.needSpace) {
        slab.grow(handle.needed());
        continue;
      }
      if (n === S.empty && !throwEmpty) return kEmpty;
      this.fail(n, timeout);
    }
  }

  /**
   * `getSync({ into })`: copies the next message straight into the caller's `into` (no slab, no
   * allocation) and decodes it from there. A message larger than `into` stays queued and throws
   * ERR_OUT_OF_RANGE with its size.
   */
  shiftInto(into: Uint8Array, timeout: number): T {
    if (this.#carry.length > 0) return this.#takeCarried();
    const { handle } = this;
    const n = sliced(timeout, (slice) => handle.shiftInto(into, slice), S.empty);
    if (n >= 0) return this.codec.decode(into.subarray(0, n));
    if (n === S.needSpace)
      throw outOfRange('options.into', `at least ${handle.needed()} bytes (the next message)`, into.byteLength);
    return this.fail(n, timeout);
  }

  /** Takes up to `max` messages (at least one). Returns kEmpty instead of throwing when `throwEmpty` is false. */
  shiftMany(max: number, timeout: number, throwEmpty: boolean): T[] | typeof kEmpty {
    if (this.#carry.length > 0) {
      const out: T[] = [this.#takeCarried()]; // throws if the first carried entry is an error
      while (out.length < max && this.#carry.length > 0 && !('error' in (this.#carry[0] as Carried<T>)))
        out.push(this.#takeCarried());
      return out;
    }
    const { handle, slab } = this;
    slab.ensureAttached();
    const lens = slab.ensureLens(max);
    for (;;) {
      const offset = slab.start();
      const started = timeout > SYNC_SLICE_MS ? performance.now() : 0;
      let n = handle.shiftMany(offset, max, lens, firstSlice(timeout));
      if (n === S.empty && timeout !== firstSlice(timeout))
        n = shiftManyWaiting(handle, offset, max, lens, timeout, started);
      if (n > 0) return this.#decodeBatch(offset, n, lens);
      if (n === S.needSpace) {
        slab.grow(handle.needed());
        continue;
      }
      if (n === S.empty && !throwEmpty) return kEmpty;
      this.fail(n, timeout);
    }
  }

  #decodeBatch(offset: number, n: number, lens: Uint32Array): T[] {
    const { slab, codec } = this;
    const out: T[] = [];
    let pos = offset;
    for (let i = 0; i < n; i++) {
      const len = lens[i] as number;
      const bytes = slab.buf.subarray(pos, pos + len);
      pos += align8(len);
      try {
        out.push(codec.decode(bytes));
      } catch (error) {
        // The whole batch has left the ring: keep the error and every later message, in order,
        // for the next gets, instead of losing them with this one.
        this.#carry.push({ error });
        for (let j = i + 1; j < n; j++) {
          const l = lens[j] as number;
          const b = slab.buf.subarray(pos, pos + l);
          pos += align8(l);
          try {
            this.#carry.push({ value: codec.decode(b) });
          } catch (e) {
            this.#carry.push({ error: e });
          }
        }
        break;
      }
    }
    slab.consumed(pos);
    if (out.length === 0) return [this.#takeCarried()]; // the first message failed: throw now
    return out;
  }

  /** Serves one carried entry: its value, or its decode error. */
  #takeCarried(): T {
    const entry = this.#carry.shift() as Carried<T>;
    if ('error' in entry) throw entry.error;
    return entry.value;
  }
}
