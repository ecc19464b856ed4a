/**
 * Reading a queue's counters ({@link RedisQueueStats}) and running the queue's scripts.
 *
 * @module
 */
import type { AsyncQueueStats } from '../async-queue.js';
import { QueueCorruptError, QueuePermissionError } from '../errors.js';
import type { RedisClient } from './client.js';
import { STATS, queueKeys, type Script } from './scripts.js';

/**
 * Server replies that mean a queue's keys were changed behind its back (by another client: a key
 * of another type, its consumer group destroyed, a counter that is not a number): the script
 * checked that the queue exists, so these are not a queue that was unlinked. "Invalid stream ID":
 * a stream id the scripts read from the queue's own keys (the claim cursor in meta) that another
 * client overwrote; the ids a client sends are the server's own.
 */
const DAMAGE_REPLY =
  /^(WRONGTYPE|NOGROUP)\b|user_script:\d+:|attempt to (compare|perform arithmetic)|Invalid stream ID/;

/** Server replies that mean its ACL refused the command (a key, a channel or a command). */
const PERMISSION_REPLY = /^NOPERM\b|can't run this command|no permissions to/;

/**
 * The typed error for a server reply that is not the queue's own business: an ACL refusal
 * (QueuePermissionError), or damaged keys (QueueCorruptError); null for any other error (a lost
 * connection, a server refusing writes: those reach the caller as the client's error). `key` is
 * one of the queue's keys, for the message.
 */
export function damagedQueueError(
  error: unknown,
  key: string | undefined,
): QueueCorruptError | QueuePermissionError | null {
  const reply = error instanceof Error && error.name === 'ReplyError' ? error.message : null;
  if (reply === null) return null;
  const tag = key?.match(/^\{shmq:(.*)\}:[a-z]+$/)?.[1];
  // An ACL refusal, at the call or inside a script (checked first: it also names the script's line).
  if (PERMISSION_REPLY.test(reply)) {
    const keys = tag === undefined ? "the queue's keys" : `the keys {shmq:${tag}}:*`;
    return new QueuePermissionError(
      `${tag === undefined ? 'a queue' : `queue '${tag}'`}: the Redis server's ACL does not let this user do what the queue needs (the server said: ${reply}); grant it ${keys} (or ~{shmq:*}), the channel ${tag === undefined ? '{shmq:NAME}:ev' : `{shmq:${tag}}:ev`} and the commands listed in docs/redis.md under "What the server needs"`,
      { cause: error },
    );
  }
  if (!DAMAGE_REPLY.test(reply)) return null;
  const what = tag === undefined ? 'a queue' : `queue '${tag}'`;
  const fix =
    tag === undefined
      ? 'remove it with RedisQueue.unlink() and create it again'
      : `remove it with RedisQueue.unlink('${tag}', { redis }) (or 'shm-queue rm --redis URL ${tag}') and create it again`;
  return new QueueCorruptError(
    `${what} on this Redis is damaged: its keys were changed by something other than shm-queue (the server said: ${reply}); ${fix}`,
    { cause: error },
  );
}

/** What {@link RedisQueue.stats} reports. */
export interface RedisQueueStats extends AsyncQueueStats {
  /**
   * Messages delivered to a consumer and neither acknowledged nor given back (in flight, or held by
   * a dead consumer until its visibility timeout lapses); given-back ones count in `messages`.
   */
  pending: number;
  /** Messages in the dead-letter stream. */
  deadLetters: number;
  /** Consumers known to the stream's consumer group (open handles, and dead ones still holding messages). */
  consumers: number;
  visibilityTimeout: number;
  maxDeliveries: number;
  maxMessageSize: number;
  /** `true` for a {@link RedisJoinableQueue}. */
  joinable: boolean;
  /** Creation time, ms since the epoch (server clock). */
  createdAt: number;
  /** Version of the queue's data model in Redis. */
  formatVersion: number;
  /** Stream id of the last message delivered to a consumer. */
  lastDeliveredId: string;
}

/** A plain-object view of an HGETALL-style flat reply. */
export function pairs(flat: unknown[], from = 0): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = from; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** Runs a script by SHA, loading it on a NOSCRIPT reply. */
export async function evalScript(
  client: RedisClient,
  s: Script,
  keys: string[],
  args: (string | Buffer | number)[],
  buffers = false,
): Promise<unknown> {
  try {
    return buffers
      ? await client.callBuffer('EVALSHA', s.sha, s.keys, ...keys, ...args)
      : await client.evalsha(s.sha, s.keys, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw damagedQueueError(error, keys[0]) ?? error;
    try {
      return buffers
        ? await client.callBuffer('EVAL', s.lua, s.keys, ...keys, ...args)
        : await client.eval(s.lua, s.keys, ...keys, ...args);
    } catch (again) {
      throw damagedQueueError(again, keys[0]) ?? again;
    }
  }
}

/** Reads a queue's stats with one script call; null when it does not exist. */
export async function readStats(client: RedisClient, name: string): Promise<RedisQueueStats | null> {
  const k = queueKeys(name);
  const reply = (await evalScript(client, STATS, [k.meta, k.stream, k.dead, k.back], [])) as unknown[];
  if (reply.length === 0) return null;
  const m = pairs(reply);
  const num = (f: string): number => Number(m[f] ?? 0);
  return {
    name,
    messages: num('messages'),
    maxsize: num('maxsize'),
    puts: num('puts'),
    gets: num('gets'),
    unfinishedTasks: num('unfinished'),
    shutdown: (m['shutdown'] ?? 'none') as RedisQueueStats['shutdown'],
    codec: m['codec'] ?? '',
    pending: num('pending'),
    deadLetters: num('deadLetters'),
    consumers: num('consumers'),
    visibilityTimeout: num('vis'),
    maxDeliveries: num('maxdel'),
    maxMessageSize: num('maxmsg'),
    joinable: m['kind'] === 'joinable',
    createdAt: num('created'),
    formatVersion: num('v'),
    lastDeliveredId: m['lastDeliveredId'] ?? '0-0',
  };
}
