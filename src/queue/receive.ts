/**
 * Receiving: one message (`shift`) or a batch (`shiftMany`) copied from the ring into the read
 * slab and decoded. A message the codec cannot decode becomes a {@link MessageDecodeError} that
 * carries its bytes. A batch has left the ring as a whole, so when a message of it fails to decode
 * the failure and every later message are held, in order, for the next gets: they count in this
 * handle's qsize(), and close() puts them back into the queue ({@link Receiver.putBack}).
 *
 * @module
 */
import type { Codec } from '../codecs/index.js';
import { kDecodeRange, type RangeDecoder } from '../codecs/shared.js';
import { MessageDecodeError } from '../errors.js';
import { align8, type NativeHandle, status as S } from '../native/index.js';
import type { ReadSlab } from './read-slab.js';
import { outOfRange } from '../errors.js';
import { firstSlice, SYNC_SLICE_MS, shiftManyWaiting, shiftWaiting, sliced } from './sync-wait.js';

/** Sentinel for "nothing there" in the non-throwing gets. */
export const kEmpty: unique symbol = Symbol('empty');

/**
 * A message taken from the ring but not yet handed out: its bytes (a copy, to put it back on
 * close) and its value, or why it could not be decoded.
 */
type Carried<T> = { bytes: Buffer } & ({ value: T } | { error: unknown });

/** What {@link Receiver.putBack} could not put back. */
export interface Undelivered {
  /** Bytes of the held messages not put back, oldest first. */
  messages: Buffer[];
  /** How many were put back before the queue refused. */
  putBack: number;
  /** The native status that refused the first of `messages`. */
  status: number;
}

export class Receiver<T> {
  /** Messages already taken from the ring by a batch whose decode failed part-way. */
  readonly #carry: Carried<T>[] = [];
  /** The codec's in-place decode of a slab range, when it has one (built-ins that copy). */
  readonly #decodeRange: RangeDecoder<T> | undefined;

  constructor(
    /** Queue name, for error messages. */
    private readonly name: string,
    private readonly handle: NativeHandle,
    private readonly codec: Codec<T>,
    private readonly slab: ReadSlab,
    /** Throws the typed error of a status that ended a get. */
    private readonly fail: (status: number, timeout: number) => never,
  ) {
    const range = (codec as { [kDecodeRange]?: RangeDecoder<T> })[kDecodeRange];
    this.#decodeRange = slab.borrows ? undefined : range;
  }

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
        const range = this.#decodeRange;
        if (range !== undefined) {
          try {
            return range(slab.whole, offset, offset + n);
          } catch (error) {
            throw this.#decodeError(slab.view(offset, n), error);
          }
        }
        const bytes = slab.view(offset, n);
        slab.consumed(offset + align8(n));
        try {
          return this.codec.decode(bytes);
        } catch (error) {
          throw this.#decodeError(bytes, error);
        }
      }
      if (n === S.needSpace) {
        slab.grow(handle.needed());
        continue;
      }
      if ((n === S.empty || n === S.busy) && !throwEmpty) return kEmpty; // busy: wait like for a message
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
    if (n >= 0) {
      const bytes = into.subarray(0, n);
      try {
        return this.codec.decode(bytes);
      } catch (error) {
        throw this.#decodeError(bytes, error);
      }
    }
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
      if ((n === S.empty || n === S.busy) && !throwEmpty) return kEmpty;
      this.fail(n, timeout);
    }
  }

  #decodeBatch(offset: number, n: number, lens: Uint32Array): T[] {
    const { slab, codec } = this;
    const out: T[] = [];
    let pos = offset;
    for (let i = 0; i < n; i++) {
      const len = lens[i] as number;
      const bytes = slab.view(pos, len);
      pos += align8(len);
      try {
        out.push(codec.decode(bytes));
      } catch (error) {
        // The whole batch has left the ring: hold the error and every later message, in order,
        // for the next gets, instead of losing them with this one.
        this.#carry.push({ bytes: Buffer.from(bytes), error: this.#decodeError(bytes, error) });
        for (let j = i + 1; j < n; j++) {
          const l = lens[j] as number;
          const b = slab.view(pos, l);
          pos += align8(l);
          const copy = Buffer.from(b);
          try {
            this.#carry.push({ bytes: copy, value: codec.decode(b) });
          } catch (e) {
            this.#carry.push({ bytes: copy, error: this.#decodeError(b, e) });
          }
        }
        break;
      }
    }
    slab.consumed(pos);
    if (out.length === 0) return [this.#takeCarried()]; // the first message failed: throw now
    return out;
  }

  /** Messages taken from the ring and held for the next gets of this handle. */
  get held(): number {
    return this.#carry.length;
  }

  /**
   * Puts the held messages back at the tail of the queue, oldest first, without waiting (for
   * close()). On a JoinableQueue each put-back is also marked done once, so that its unfinished
   * count still counts each message once. Returns what could not be put back, or null.
   */
  putBack(joinable: boolean): Undelivered | null {
    let putBack = 0;
    while (this.#carry.length > 0) {
      const entry = this.#carry[0] as Carried<T>;
      const st = this.handle.push(entry.bytes, 0);
      if (st !== S.ok) {
        const messages = this.#carry.splice(0).map((e) => e.bytes);
        return { messages, putBack, status: st };
      }
      this.#carry.shift();
      if (joinable) this.handle.taskDone();
      putBack++;
    }
    return null;
  }

  #decodeError(bytes: Uint8Array, cause: unknown): MessageDecodeError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new MessageDecodeError(
      `a message of ${bytes.length} bytes taken from queue '${this.name}' could not be decoded by codec '${this.codec.name}' (${why}); it is no longer in the queue: error.bytes holds it`,
      Buffer.from(bytes),
      this.codec.name,
      cause,
    );
  }

  /** Serves one carried entry: its value, or its decode error. */
  #takeCarried(): T {
    const entry = this.#carry.shift() as Carried<T>;
    if ('error' in entry) throw entry.error;
    return entry.value;
  }
}
