/**
 * The public option and stats types, shared by every part of the package (and by any other
 * backend of the same interface). Types only: importing this module loads nothing.
 *
 * @module
 */
import type { Codec, CodecName } from './codecs/index.js';

/** Options of `Queue.create`. */
export interface CreateOptions<T = unknown> {
  /** Most messages the queue holds; a put waits (or throws) when it is reached. 0 (default) bounds by bytes only. */
  maxsize?: number;
  /** Bytes of the shared ring that holds the encoded messages (default 1 MiB, 64 B to 1 TiB). Each message costs its encoded size plus 8-15 bytes. */
  capacity?: number;
  /** How values become bytes: a built-in codec name or a custom codec. Default `'msgpack'`. */
  codec?: CodecName | Codec<T>;
  /** File mode of the segment under /dev/shm (default `0o600`: only the creating user). */
  mode?: number;
  /** `true` (default): throw `ERR_QUEUE_EXISTS` if the name is taken. `false`: open the existing queue instead (create-or-open); options given explicitly must then match it. */
  exclusive?: boolean;
  /** With `exclusive: false`: the other user (uid or user name) whose existing queue of this name may be opened. See {@link OpenOptions.owner}. */
  owner?: number | string;
}

/** Options of `Queue.open`. */
export interface OpenOptions<T = unknown> {
  /** The codec to use. Optional for a queue created with a built-in codec (the stored one is used); required for a custom codec. Must match the queue's codec. */
  codec?: CodecName | Codec<T>;
  /**
   * The user (uid or user name) trusted to own the queue's file, for a queue shared between users
   * on purpose. Without it, a queue whose file belongs to another user than the caller's effective
   * uid is refused with `QueueOwnerError` (`ERR_QUEUE_UNTRUSTED_OWNER`): another local user may have
   * created the name first to read or inject messages.
   */
  owner?: number | string;
}

/** Options of the synchronous blocking methods. */
export interface SyncWaitOptions {
  /** Milliseconds to wait. Absent (or `Infinity`) waits forever, `0` does not wait at all. */
  timeout?: number;
}

/** Options of `getSync`. */
export interface GetSyncOptions extends SyncWaitOptions {
  /**
   * Copy the message straight into this buffer instead of a fresh slab region, and decode it from
   * there: no allocation and no page faults per get, for large messages. With the 'raw' codec the
   * returned bytes are a view of `into` (`into.subarray(0, length)`): valid until you reuse `into`,
   * so copy or consume them first. A message larger than `into` stays queued and the call throws
   * a `RangeError` (`ERR_OUT_OF_RANGE`) that names its size.
   */
  into?: Uint8Array;
}

/** Options of the promise-returning methods. */
export interface WaitOptions extends SyncWaitOptions {
  /** Cancels the wait: the promise rejects with `signal.reason` and nothing is put or taken. */
  signal?: AbortSignal;
}

/** Options of `Queue.shutdown`. */
export interface ShutdownOptions {
  /** Discard the messages still queued (counted as done for `join()`). Default `false`: consumers drain them first. */
  immediate?: boolean;
}

/** What `Queue.stats` reports: a lock-free snapshot of the shared header. */
export interface QueueStats {
  /** Queue name. */
  name: string;
  /** Messages in the queue now (same as `qsize()`). */
  messages: number;
  /** Ring bytes in use, including record headers and padding. */
  bytesUsed: number;
  /** Ring size in bytes. */
  capacity: number;
  /** Message limit (0 = bytes only). */
  maxsize: number;
  /** Messages ever put / taken, by every process. */
  puts: number;
  gets: number;
  /** Times a process found the lock held by a dead process and recovered it. */
  recoveries: number;
  /** `JoinableQueue`: items put and not yet marked done (0 for a plain `Queue`). */
  unfinishedTasks: number;
  /** Shutdown state of the queue. */
  shutdown: 'none' | 'graceful' | 'immediate';
  /** Threads (in every process) waiting for a message / for room right now. */
  waitingConsumers: number;
  waitingProducers: number;
  /** Segment layout version, creator, creation time (ms since the epoch) and size. */
  layoutVersion: number;
  creatorUid: number;
  creatorPid: number;
  createdAt: number;
  /** Wall-clock ms of the last open and the last close of a handle, by any process (0 = never). */
  lastAttachAt: number;
  lastDetachAt: number;
  segmentSize: number;
  /** Codec name stored in the segment. */
  codec: string;
  /** Permission bits and owner uid of the segment file. */
  fileMode: number;
  fileUid: number;
  /** Live processes that have the queue open, with how many handles each. The table has 64 slots
   *  and may miss processes (see `inUse`): never conclude from it that nobody uses the queue. */
  attached: { pid: number; handles: number }[];
  /** Whether another handle (in any process) has the queue open: exact for any number of processes,
   *  kept by the kernel across kill -9. `null` when the system cannot tell. */
  inUse: boolean | null;
}
