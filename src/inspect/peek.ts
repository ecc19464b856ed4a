/**
 * Peeking at the next messages of a queue without removing them.
 *
 * @module
 */
import { type Codec, type CodecName, isBuiltinCodecName, resolveCodec } from '../codecs/index.js';
import { CodecMismatchError, MessageDecodeError, QueueNotFoundError, statusError } from '../errors.js';
import { addon, align8, type NativeHandle, OpenMode, status as S } from '../native/index.js';
import { validateInteger, validateName, validateOptions } from '../validate.js';
import { classifyOpenError, precheck, segmentPath } from './segment.js';
import type { PeekedMessage, PeekOptions, PeekResult } from './types.js';

const PEEK_SLAB_SIZE = 256 * 1024;
/** Largest read buffer {@link peekQueue} grows to for the sake of returning more messages. */
const PEEK_SLAB_LIMIT = 64 * 1024 * 1024;
const MAX_PEEK = 100_000;

function notFound(name: string): QueueNotFoundError {
  return new QueueNotFoundError(`queue '${name}' does not exist (no ${segmentPath(name)})`);
}

/**
 * Returns copies of the next `max` messages of queue `name` without removing them, decoded when
 * a codec is available (see {@link PeekOptions.codec}).
 *
 * Peeking takes the queue's lock for one short copy, so unlike {@link inspectQueue} it opens the
 * queue read-write and attaches for the duration of the call (it counts as an attach and a
 * detach in `lastAttachAt`/`lastDetachAt`). Messages put or taken by others meanwhile are not
 * seen; what is returned is a consistent run of messages at one instant.
 *
 * @throws the errors of {@link inspectQueue}; `CodecMismatchError` for a codec of another name;
 *   `RangeError` `ERR_OUT_OF_RANGE` for a bad `max`.
 */
export function peekQueue(name: string, options?: PeekOptions): PeekResult {
  const valid = validateName(name);
  const opts = validateOptions(options, 'options', ['max', 'codec']);
  const max = opts['max'] === undefined ? 10 : validateInteger(opts['max'], 'options.max', 1, MAX_PEEK);
  const wanted = opts['codec'] === undefined ? undefined : resolveCodec(opts['codec'] as CodecName | Codec<unknown>);
  const early = precheck(valid);
  if (early === 'missing') throw notFound(valid);
  if (early !== null) throw early.error;
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(OpenMode.Open, valid, 1 << 20, 0, 0, 'raw', 0);
  } catch (error) {
    const r = classifyOpenError(valid, error, 'peek');
    throw r === 'missing' ? notFound(valid) : r.error;
  }
  try {
    const stored = handle.info().codec;
    let codec: Codec<unknown> | undefined;
    if (wanted !== undefined) {
      if (wanted.name !== stored)
        throw new CodecMismatchError(`queue '${valid}' uses codec '${stored}', not '${wanted.name}'`);
      codec = wanted;
    } else if (isBuiltinCodecName(stored)) {
      codec = resolveCodec(stored);
    }
    const lens = new Uint32Array(max);
    let size = PEEK_SLAB_SIZE;
    for (;;) {
      const slab = new ArrayBuffer(size);
      handle.setReadBuffer(slab);
      const n = handle.peek(0, max, lens);
      if (n === S.needSpace) {
        size = Math.max(size * 2, handle.needed() + 8);
        continue;
      }
      // busy (the lock is held: a stopped process?) is QueueBusyError: peek never waits.
      if (n < 0)
        throw statusError(n, {
          queue: valid,
          op: 'get',
          timeout: 0,
          detail: () => handle.lastError().message,
          holderPid: () => handle.lastError().holderPid,
        });
      const total = handle.count();
      // Fewer than asked and more are queued: the buffer was too small for the rest. Try bigger.
      if (n < max && total > n && size < PEEK_SLAB_LIMIT) {
        size *= 4;
        continue;
      }
      const buf = Buffer.from(slab);
      const messages: PeekedMessage[] = [];
      let pos = 0;
      for (let i = 0; i < n; i++) {
        const len = lens[i] as number;
        const bytes = Buffer.from(buf.subarray(pos, pos + len)); // a copy: the slab is dropped
        pos += align8(len);
        const m: PeekedMessage = { size: len, bytes, decoded: false };
        if (codec) {
          try {
            // A view of its own: some decoders (msgpackr) cache state on the object they are given.
            m.value = codec.decode(bytes.subarray());
            m.decoded = true;
          } catch (error) {
            const why = error instanceof Error ? error.message : String(error);
            m.error = new MessageDecodeError(
              `message ${i} of queue '${valid}' (${len} bytes) could not be decoded by codec '${codec.name}' (${why}); it is still in the queue`,
              bytes,
              codec.name,
              error,
            );
          }
        }
        messages.push(m);
      }
      return { name: valid, codec: stored, total: Math.max(total, n), messages };
    }
  } finally {
    handle.close();
  }
}
