/**
 * Public types of the inspection API.
 *
 * @module
 */
import type { Codec, CodecName } from '../codecs/index.js';
import type { MessageDecodeError } from '../errors.js';
import type { QueueStats } from '../types.js';

/** What `inspectQueue` reports: the queue's {@link QueueStats} plus a few derived facts. */
export interface QueueInspection extends QueueStats {
  /** Path of the segment file (`/dev/shm/shm-queue.<name>`). */
  path: string;
  /** `true` for a queue created by `JoinableQueue.create`. */
  joinable: boolean;
  /**
   * `null` while any process has the queue open (`inUse`, or a live entry in `attached`), or when
   * that cannot be told; otherwise the latest of `createdAt`,
   * `lastAttachAt` and `lastDetachAt` (ms since the epoch): since when nobody is known to have
   * used it. A process killed without closing its handle never records a detach, so after such a
   * death this is the time of the last attach or detach *before* it, which can be earlier than
   * the death itself.
   */
  idleSince: number | null;
}

/**
 * Why a `/dev/shm/shm-queue.*` entry could not be read:
 * - `'permission-denied'`: no read permission (another user's queue, created with mode 0o600);
 * - `'not-a-queue'`: not a shm-queue segment at all (bad magic number, not a regular file);
 * - `'incompatible'`: a shm-queue segment of another layout version (another shm-queue release);
 * - `'unfinished'`: its creator never finished creating it (it probably died while doing so);
 * - `'corrupt'`: the header holds impossible values;
 * - `'invalid-name'`: the part after `shm-queue.` is not a valid queue name;
 * - `'error'`: any other system error (see `message`).
 */
export type UnreadableReason =
  | 'permission-denied'
  | 'not-a-queue'
  | 'incompatible'
  | 'unfinished'
  | 'corrupt'
  | 'invalid-name'
  | 'error';

/** One entry of `listQueues`: a readable queue ... */
export interface ListedQueue {
  ok: true;
  /** Queue name (the segment file name without `shm-queue.`). */
  name: string;
  path: string;
  stats: QueueInspection;
}

/** ... or an entry that could not be read, with the reason. */
export interface UnreadableQueue {
  ok: false;
  name: string;
  path: string;
  reason: UnreadableReason;
  /** A sentence saying what is wrong and what to do about it. */
  message: string;
  /** The error code behind it (`EACCES`, `ERR_QUEUE_CORRUPT`, ...), when there is one. */
  code?: string;
  /** With `'incompatible'`: the segment's layout version (0.1.x wrote 1), when its header says. */
  layoutVersion?: number;
}

/** An entry of `listQueues`. */
export type QueueListEntry = ListedQueue | UnreadableQueue;

/** Options of `listQueues`. */
export interface ListOptions {
  /** Lists only the entries whose name this returns `true` for; the others are not even opened. */
  filter?: (name: string) => boolean;
}

/** Options of `peekQueue`. */
export interface PeekOptions {
  /** How many messages to look at, from the head of the queue (default 10, at most 100,000). */
  max?: number;
  /**
   * Codec to decode with. Optional for a queue with a built-in codec (the stored one is used);
   * a custom codec must carry the queue's codec name (else `CodecMismatchError`). Without one,
   * messages of a custom-codec queue are returned as bytes only.
   */
  codec?: CodecName | Codec<unknown>;
}

/** One message seen by `peekQueue`. */
export interface PeekedMessage {
  /** Encoded size in bytes. */
  size: number;
  /** The encoded bytes (a private copy). */
  bytes: Buffer;
  /** Whether `value` holds the decoded message. */
  decoded: boolean;
  /** The decoded value, when `decoded`. */
  value?: unknown;
  /**
   * Why decoding failed, when a codec was available but threw: a `MessageDecodeError`
   * (`ERR_MESSAGE_DECODE`) with the codec's error as `cause`. The message stays in the queue.
   */
  error?: MessageDecodeError;
}

/** What `peekQueue` returns. */
export interface PeekResult {
  name: string;
  /** The queue's codec name. */
  codec: string;
  /** Messages in the queue when it was peeked (may be more than `messages.length`). */
  total: number;
  /** The first messages, oldest first. Nothing was removed from the queue. */
  messages: PeekedMessage[];
}
