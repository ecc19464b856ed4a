/**
 * shm-queue: Python's `multiprocessing.Queue` for Node.js. A bounded FIFO in POSIX shared memory
 * that unrelated processes open by name; crash-safe, and event-loop friendly.
 *
 * @packageDocumentation
 */
export { Queue, JoinableQueue, DEFAULT_CAPACITY, MIN_CAPACITY, MAX_CAPACITY, MAX_MAXSIZE } from './queue/index.js';
export type {
  CreateOptions,
  OpenOptions,
  SyncWaitOptions,
  GetSyncOptions,
  WaitOptions,
  ShutdownOptions,
  QueueStats,
} from './types.js';
export type { AsyncQueue, AsyncJoinableQueue, AsyncQueueStats, Awaitable } from './async-queue.js';
export { resolveCodec, CODEC_NAMES } from './codecs/index.js';
export type { Codec, CodecName } from './codecs/index.js';
export {
  ShmQueueError,
  QueueFullError,
  QueueEmptyError,
  QueueClosedError,
  QueueShutdownError,
  QueueExistsError,
  QueueNotFoundError,
  MessageTooLargeError,
  CodecMismatchError,
  QueueIncompatibleError,
  QueueCorruptError,
  QueueOwnerError,
  QueueBusyError,
  QueueLockStalledError,
  QueueNoReplyError,
  QueuePermissionError,
  TaskDoneError,
  MessageDecodeError,
  MessagesUndeliveredError,
} from './errors.js';
export type { ShmQueueErrorCode, ArgumentError } from './errors.js';
export { listQueues, inspectQueue, peekQueue, segmentPath } from './inspect/index.js';
export type {
  QueueInspection,
  QueueListEntry,
  ListedQueue,
  UnreadableQueue,
  UnreadableReason,
  ListOptions,
  PeekOptions,
  PeekResult,
  PeekedMessage,
} from './inspect/index.js';
export * from './pool/index.js';
