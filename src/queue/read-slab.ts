/**
 * The read slab: JS-owned memory the native layer copies messages into (one N-API call per get,
 * no Buffer created in native code), and the lengths array of batch gets.
 *
 * A codec that keeps its input ('raw', `borrowsInput`) is handed views of the slab, so for it each
 * message gets a fresh region that is never reused (carved like Node's Buffer pool carves its
 * pool); other codecs decode at once and every get reuses offset 0.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';
import { align8, type NativeHandle } from '../native/index.js';

/** Usual slab size in bytes. */
const READ_SLAB_SIZE = 256 * 1024;
/** Most messages one batch get takes. */
export const MAX_BATCH = 1 << 20;

export class ReadSlab {
  /** The slab (messages are at `[start(), start() + length)`, see view()); its byteLength is 0 once detached. */
  #memory: ArrayBuffer = new ArrayBuffer(0);
  #offset = 0;
  /** The whole slab as one Buffer, for codecs that decode a range of it in place. */
  whole: Buffer = Buffer.alloc(0);
  /** Lengths of the messages of a batch get. */
  lens = new Uint32Array(64);

  constructor(
    private readonly handle: NativeHandle,
    /** The codec keeps views of its input: carve, never reuse. */
    readonly borrows: boolean,
  ) {
    this.#renew(READ_SLAB_SIZE);
  }

  /**
   * A Buffer over `[offset, offset + length)` of the slab. Made from the ArrayBuffer kept here: Node's
   * `Buffer#subarray` reads `this.buffer`, a getter V8 calls into C++ for on every message (a third
   * of a batch get's JavaScript time in perf).
   */
  view(offset: number, length: number): Buffer {
    return Buffer.from(this.#memory, offset, length);
  }

  /** Where the next message will be copied. */
  start(): number {
    return this.borrows ? this.#offset : 0;
  }

  /** Marks the bytes up to `end` as handed out (for a borrowing codec). */
  consumed(end: number): void {
    if (this.borrows) this.#offset = end;
  }

  /** Replaces the slab if a borrowing codec's values were transferred away (detached it). */
  ensureAttached(): void {
    if (this.borrows && this.#memory.byteLength === 0) this.#renew(READ_SLAB_SIZE);
  }

  /** Makes `lens` hold at least `max` lengths. */
  ensureLens(max: number): Uint32Array {
    if (this.lens.length < max) this.lens = new Uint32Array(Math.min(MAX_BATCH, Math.max(max, this.lens.length * 2)));
    return this.lens;
  }

  /**
   * A fresh slab for a message of `needed` bytes that did not fit: bigger when it did not fit
   * at all, otherwise the usual size. A borrowing codec keeps each large message's slab alive as
   * long as the message, so a large message gets a slab of its own size rather than the next
   * power of two.
   */
  grow(needed: number): void {
    let size = READ_SLAB_SIZE;
    if (this.borrows && needed > READ_SLAB_SIZE / 2) size = align8(needed);
    else while (size < needed + 8) size *= 2;
    this.#renew(size);
  }

  #renew(size: number): void {
    // Not zero-filled: native code only copies whole messages in, and only bytes it copied are
    // ever handed out (a 1 MiB 'raw' message needs a new slab per get; zeroing it first cost as
    // much as the copy).
    const slab = Buffer.allocUnsafeSlow(size);
    // Values handed out by a borrowing codec are views of this slab. Like Node's own Buffer pool,
    // it must not be transferred away (postMessage(buf, [buf.buffer])): that would detach the
    // slab under later gets.
    this.#memory = slab.buffer as ArrayBuffer;
    this.whole = slab;
    if (this.borrows) markAsUntransferable(this.#memory);
    this.handle.setReadBuffer(this.#memory);
    this.#offset = 0;
  }
}
