/**
 * `shm-queue/redis`: the shared async queue interface on Redis Streams + Lua, for producers and
 * consumers on different machines (Redis Cluster included). Needs the optional peer dependency
 * `ioredis` (`npm install ioredis`); importing this entry without it throws a
 * {@link RedisClientMissingError}. The main `shm-queue` entry never loads it.
 *
 * ```js
 * import { RedisQueue } from 'shm-queue/redis';
 * const q = await RedisQueue.create('jobs', { redis: 'redis://10.0.0.5:6379', maxsize: 1000, exclusive: false });
 * await q.put({ id: 1 });
 * for await (const job of q) { ... }   // ends on q.shutdown(), from any machine
 * await q.close();
 * ```
 *
 * @packageDocumentation
 */
export { RedisClientMissingError, REDIS_MISSING_CODE } from './client.js';
export type { RedisConnection, ClusterConnectionOptions, RedisClient } from './client.js';
export {
  RedisQueue,
  RedisJoinableQueue,
  DEFAULT_VISIBILITY_TIMEOUT,
  REDIS_MAX_MAXSIZE,
  REDIS_MAX_MESSAGE_SIZE,
} from './queue.js';
export type {
  RedisConnectOptions,
  RedisCreateOptions,
  RedisOpenOptions,
  RedisGetOptions,
  RedisMessage,
} from './queue.js';
export type { RedisQueueStats } from './stats.js';
export { listRedisQueues, inspectRedisQueue, peekRedisQueue } from './inspect.js';
export type { RedisListOptions, RedisPeekOptions, RedisPeekResult, RedisPeekedMessage } from './inspect.js';
export type { AsyncQueue, AsyncJoinableQueue, AsyncQueueStats, Awaitable } from '../async-queue.js';
export type { WaitOptions, ShutdownOptions } from '../types.js';
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
  QueueNoReplyError,
  QueuePermissionError,
  TaskDoneError,
  MessageDecodeError,
  MessagesUndeliveredError,
} from '../errors.js';
export type { ShmQueueErrorCode } from '../errors.js';
export { CODEC_NAMES } from '../codecs/index.js';
export type { Codec, CodecName } from '../codecs/index.js';
