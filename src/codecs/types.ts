/**
 * The codec interface: how a queued value becomes bytes in shared memory, and back.
 *
 * @module
 */

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
