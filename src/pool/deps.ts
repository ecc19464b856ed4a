/**
 * Everything the pool takes from the rest of the package, in one place, so that moving the
 * queue, codec and validation modules means editing this file only.
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
export { Queue, JoinableQueue } from '../queue/index.js';
export { resolveCodec, type Codec } from '../codecs/index.js';
export { VisitedObjects } from '../visited.js';
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
  TaskDoneError,
  MessageDecodeError,
  MessagesUndeliveredError,
  describe,
  invalidArgType,
  invalidArgValue,
  outOfRange,
} from '../errors.js';
export { validateInteger, validateOptions, validateSignal, validateTimeout } from '../validate.js';
