/**
 * Looking at Redis queues from the outside, for the `shm-queue` command and for health checks:
 * list the queues on a server (every master of a Cluster), read one queue's counters, peek at its
 * next messages. Nothing here changes a queue.
 *
 * @module
 */
import { resolveCodec, type Codec, type CodecName } from '../codecs/index.js';
import { CodecMismatchError, QueueNotFoundError } from '../errors.js';
import { validateInteger, validateName, validateOptions } from '../validate.js';
import { isCluster, masters, type RedisClient, type RedisConnection } from './client.js';
import { oneOffCall, requireRedis } from './reply.js';
import { damagedQueueError, evalScript, readStats, type RedisQueueStats } from './stats.js';
import { META_PATTERN, PEEK, ScriptStatus, nameOfMetaKey, queueKeys } from './scripts.js';

const BUILTIN_CODECS: readonly string[] = ['msgpack', 'v8', 'json', 'string', 'raw'];
const MAX_PEEK = 100_000;

/** Options of {@link listRedisQueues}. */
export interface RedisListOptions {
  /** The server (or Cluster) to list. */
  redis: RedisConnection;
  /** Longest wait for the reply to one command, in ms (default 15 000); then `QueueNoReplyError`. */
  replyTimeout?: number;
  /** Lists only the queues whose name this returns `true` for. */
  filter?: (name: string) => boolean;
}

/** Options of {@link peekRedisQueue}. */
export interface RedisPeekOptions {
  redis: RedisConnection;
  /** Longest wait for the reply to one command, in ms (default 15 000); then `QueueNoReplyError`. */
  replyTimeout?: number;
  /** How many messages to look at, oldest first (default 10, at most 100,000). */
  max?: number;
  /** Codec to decode with (default: the stored built-in codec; a custom codec must carry its name). */
  codec?: CodecName | Codec<unknown>;
}

/** One message seen by {@link peekRedisQueue}. */
export interface RedisPeekedMessage {
  /** Stream entry id. */
  id: string;
  /** Encoded size in bytes. */
  size: number;
  /** The encoded bytes. */
  bytes: Buffer;
  /** Whether `value` holds the decoded message. */
  decoded: boolean;
  value?: unknown;
  /** Why decoding failed, when a codec was available but threw. */
  error?: Error;
}

/** What {@link peekRedisQueue} returns. */
export interface RedisPeekResult {
  name: string;
  codec: string;
  /** Messages waiting for a consumer when peeked (may be more than `messages.length`). */
  total: number;
  /** The next messages a consumer would get, oldest first. Nothing was removed. */
  messages: RedisPeekedMessage[];
}

/** A look at one queue (`queue`) or at all of them (null), on a connection of its own. */
function withClient<R>(
  options: Record<string, unknown>,
  queue: string | null,
  fn: (client: RedisClient) => Promise<R>,
): Promise<R> {
  const what = queue === null ? 'a look at its queues' : 'a look at the queue';
  return oneOffCall(requireRedis(options), options, { queue, what, effect: 'none' }, fn);
}

async function scanNames(client: RedisClient): Promise<string[]> {
  const names = new Set<string>();
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', META_PATTERN, 'COUNT', 1000).catch((e: unknown) => {
        throw damagedQueueError(e, undefined) ?? e;
      });
      cursor = next;
      for (const key of keys) {
        const name = nameOfMetaKey(key);
        if (name !== null) names.add(name);
      }
    } while (cursor !== '0');
  }
  return [...names].sort();
}

/** Every queue on the server (or Cluster), sorted by name, with its stats. */
export async function listRedisQueues(options: RedisListOptions): Promise<RedisQueueStats[]> {
  const opts = validateOptions(options, 'options', ['redis', 'filter', 'replyTimeout']);
  const filter = opts['filter'] as ((name: string) => boolean) | undefined;
  return withClient(opts, null, async (client) => {
    // A Cluster knows its masters once ready; one server needs no wait (commands queue until then).
    if (isCluster(client) && client.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', (error: Error) => reject(error));
      });
    }
    const out: RedisQueueStats[] = [];
    for (const name of await scanNames(client)) {
      if (filter && !filter(name)) continue;
      const s = await readStats(client, name);
      if (s) out.push(s);
    }
    return out;
  });
}

/** One queue's stats; `QueueNotFoundError` when there is no such queue. */
export async function inspectRedisQueue(
  name: string,
  options: { redis: RedisConnection; replyTimeout?: number },
): Promise<RedisQueueStats> {
  const valid = validateName(name);
  const opts = validateOptions(options, 'options', ['redis', 'replyTimeout']);
  return withClient(opts, valid, async (client) => {
    const s = await readStats(client, valid);
    if (!s) throw new QueueNotFoundError(`queue '${valid}' does not exist on this Redis`);
    return s;
  });
}

/** The next `max` messages a consumer would get, decoded, without taking them. */
export async function peekRedisQueue(name: string, options: RedisPeekOptions): Promise<RedisPeekResult> {
  const valid = validateName(name);
  const opts = validateOptions(options, 'options', ['redis', 'max', 'codec', 'replyTimeout']);
  const max = opts['max'] === undefined ? 10 : validateInteger(opts['max'], 'options.max', 1, MAX_PEEK);
  return withClient(opts, valid, async (client) => {
    const stats = await readStats(client, valid);
    if (!stats) throw new QueueNotFoundError(`queue '${valid}' does not exist on this Redis`);
    let codec: Codec<unknown> | null = null;
    if (opts['codec'] !== undefined) {
      codec = resolveCodec(opts['codec'] as CodecName | Codec<unknown>);
      if (codec.name !== stats.codec)
        throw new CodecMismatchError(`queue '${valid}' uses codec '${stats.codec}', not '${codec.name}'`);
    } else if (BUILTIN_CODECS.includes(stats.codec)) codec = resolveCodec(stats.codec as CodecName);
    const k = queueKeys(valid);
    const reply = (await evalScript(client, PEEK, [k.meta, k.stream, k.back], [max], true)) as unknown[];
    if (Number(reply[0]) === ScriptStatus.NotFound)
      throw new QueueNotFoundError(`queue '${valid}' does not exist on this Redis`);
    const messages: RedisPeekedMessage[] = [];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const bytes = reply[i + 1] as Buffer;
      const m: RedisPeekedMessage = { id: String(reply[i]), size: bytes.length, bytes, decoded: false };
      if (codec) {
        try {
          m.value = codec.decode(bytes);
          m.decoded = true;
        } catch (error) {
          m.error = error as Error;
        }
      }
      messages.push(m);
    }
    return { name: valid, codec: stats.codec, total: stats.messages, messages };
  });
}
