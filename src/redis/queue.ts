/**
 * `RedisQueue<T>` and `RedisJoinableQueue<T>`: the shared async queue interface on Redis Streams,
 * for producers and consumers on different machines. Same names, options, errors and codes as the
 * shared-memory `Queue`; every method returns a promise (a network queue must not block a thread).
 *
 * How each operation maps onto Redis (keys and scripts: ./scripts.ts):
 * - put: one Lua script checks the shutdown flag and `maxsize` and XADDs, atomically. A put that
 *   must wait for room sleeps until a get publishes 'room' (or a poll interval passes), then tries
 *   again, honouring its timeout and signal.
 * - get: a Lua script first reclaims messages held longer than `visibilityTimeout` by a consumer
 *   (XAUTOCLAIM, at most every CLAIM_EVERY_MS), then reads new ones (XREADGROUP; a plain one
 *   within CLAIM_EVERY_MS of that script); when there is nothing, XREADGROUP ... BLOCK on a
 *   connection of the handle's own. The message is acknowledged and deleted (second script)
 *   before the get returns it, so a consumer that dies in between leaves it pending, to be
 *   delivered again elsewhere after the visibility timeout. The acknowledgement is sent, not
 *   awaited, where its bytes are surely in the kernel before the get returns (#received).
 * - shutdown: a flag in the queue's meta hash plus a pub/sub message; every handle that hears it
 *   wakes its waiting puts and joins and `CLIENT UNBLOCK`s its own blocked read.
 *
 * @module
 */
import { Socket } from 'node:net';
import { hostname } from 'node:os';
import { TLSSocket } from 'node:tls';
import type { Redis } from 'ioredis';
import type { AsyncJoinableQueue, AsyncQueue } from '../async-queue.js';
import { resolveCodec, type Codec, type CodecName } from '../codecs/index.js';
import {
  CodecMismatchError,
  MessageDecodeError,
  MessageTooLargeError,
  MessagesUndeliveredError,
  QueueClosedError,
  QueueEmptyError,
  QueueExistsError,
  QueueFullError,
  QueueIncompatibleError,
  QueueNoReplyError,
  QueueNotFoundError,
  QueueShutdownError,
  TaskDoneError,
  invalidArgType,
  invalidArgValue,
} from '../errors.js';
import type { ShutdownOptions, WaitOptions } from '../types.js';
import { validateInteger, validateName, validateOptions, validateSignal, validateTimeout } from '../validate.js';
import {
  connect,
  isCluster,
  nodeConnection,
  serverFacts,
  subscriber,
  warnIfEvicting,
  type RedisClient,
  type RedisConnection,
} from './client.js';
import { Fifo } from './fifo.js';
import {
  NO_DEADLINE,
  ReplyWatch,
  noReplyError,
  oneOffCall,
  replyTimeoutOption,
  requireRedis,
  type ReplyBound,
  type ReplyEffect,
} from './reply.js';
import {
  inspectRedisQueue,
  listRedisQueues,
  peekRedisQueue,
  type RedisListOptions,
  type RedisPeekOptions,
  type RedisPeekResult,
} from './inspect.js';
import { damagedQueueError, evalScript, pairs, readStats, type RedisQueueStats } from './stats.js';
import {
  ACK,
  ACK_SENT,
  FORGET_CONSUMER,
  FORMAT_VERSION,
  NACK,
  OPEN,
  PUT,
  SHUTDOWN,
  SIZE,
  CLAIM_EVERY_MS,
  ScriptStatus,
  TAKE,
  TASK_DONE,
  UNLINK,
  queueKeys,
  type QueueKeys,
  type Script,
} from './scripts.js';

/** Largest `maxsize` (messages), as for the shared-memory queue. */
export const REDIS_MAX_MAXSIZE = 2 ** 32 - 1;
/** Default and largest `maxMessageSize`: Redis's own limit for one value (proto-max-bulk-len). */
export const REDIS_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;
/** Default `visibilityTimeout`: 30 s. */
export const DEFAULT_VISIBILITY_TIMEOUT = 30_000;
/** Longest one blocking read waits before the handle looks again (reclaims, shutdown). */
const BLOCK_SLICE_MS = 1000;
/** Longest a waiting put or join sleeps between looks when no wake-up message arrives. */
const POLL_MS = 500;
/** How often a put waiting on a server out of memory tries again. */
const OOM_POLL_MS = 50;
/** Most messages, and bytes (unless one message is larger), one put script call carries. */
const PUT_CHUNK = 1000;
const PUT_CHUNK_BYTES = 4 << 20;
const MAX_BATCH = 1 << 20;
const BUILTIN_CODECS: readonly string[] = ['msgpack', 'v8', 'json', 'string', 'raw'];

/** The `redis` option every static method takes. */
export interface RedisConnectOptions {
  /** Where the queue lives: URL, unix socket path, ioredis options, `{ cluster: nodes }` or an ioredis client. */
  redis: RedisConnection;
  /**
   * Longest wait, in ms, for the server's reply to one command (default 15 000): a call whose
   * command is not answered in time rejects with `QueueNoReplyError` (`ERR_QUEUE_NO_REPLY`) instead
   * of hanging on a server that is stopped or cut off. A call with a shorter `timeout` ends at that
   * timeout. A setting of this handle, not stored with the queue.
   */
  replyTimeout?: number;
}

/** Options of {@link RedisQueue.create}. */
export interface RedisCreateOptions<T = unknown> extends RedisConnectOptions {
  /** Most messages waiting for a consumer; a put waits (or throws) when it is reached. 0 (default): no limit. */
  maxsize?: number;
  /** How values become bytes: a built-in codec name or a custom codec. Default `'msgpack'`. Stored with the queue. */
  codec?: CodecName | Codec<T>;
  /** `true` (default): throw `ERR_QUEUE_EXISTS` if the name is taken. `false`: create-or-open. */
  exclusive?: boolean;
  /**
   * Milliseconds a consumer may hold a message it received before the message is delivered again to
   * another consumer (default 30 000). Covers consumers that die between receiving a message and
   * acknowledging it, and manual-mode messages neither acked nor nacked in time.
   */
  visibilityTimeout?: number;
  /** After this many deliveries a message moves to the dead-letter stream instead (0, default: never). */
  maxDeliveries?: number;
  /** Largest encoded message in bytes (default and most: 512 MiB, Redis's limit). */
  maxMessageSize?: number;
}

/** Options of {@link RedisQueue.open}. */
export interface RedisOpenOptions<T = unknown> extends RedisConnectOptions {
  /** The codec: optional for a built-in codec (the stored one is used); required for a custom one. */
  codec?: CodecName | Codec<T>;
}

/** Options of {@link RedisQueue.get}: `ack: 'manual'` returns a {@link RedisMessage} to acknowledge. */
export interface RedisGetOptions extends WaitOptions {
  /** `'auto'` (default): acknowledged before the get returns. `'manual'`: you call `ack()` or `nack()`. */
  ack?: 'auto' | 'manual';
}

/** A message received with `get({ ack: 'manual' })`: at-least-once processing. */
export interface RedisMessage<T = unknown> {
  /** The decoded value. */
  readonly value: T;
  /** The stream entry id. */
  readonly id: string;
  /** How many times the message has been delivered (1 the first time). */
  readonly deliveries: number;
  /**
   * Acknowledges and deletes the message. Resolves `false` if this consumer no longer held it
   * (it was not acknowledged within `visibilityTimeout` and went to another consumer).
   */
  ack(): Promise<boolean>;
  /** Gives the message back: it is delivered again at once (counting one more delivery). */
  nack(): Promise<boolean>;
}

const CREATE_KEYS = [
  'redis',
  'maxsize',
  'codec',
  'exclusive',
  'visibilityTimeout',
  'maxDeliveries',
  'maxMessageSize',
  'replyTimeout',
] as const;
const OPEN_KEYS = ['redis', 'codec', 'replyTimeout'] as const;
const WAIT_KEYS = ['timeout', 'signal'] as const;
const GET_KEYS = ['timeout', 'signal', 'ack'] as const;

const kToken = Symbol('shm-queue.redis.internal');

/** A message received from Redis, not yet decoded. */
interface Delivery {
  id: string;
  payload: Buffer;
  deliveries: number;
}

/**
 * A received (acknowledged) message not yet handed out: its bytes, to put it back on close, and
 * its value or why it could not be decoded.
 */
type Carried<T> = { bytes: Buffer } & ({ value: T } | { error: unknown });

interface Opened<T> {
  name: string;
  conn: RedisClient;
  codec: Codec<T>;
  meta: Record<string, string>;
  replies: ReplyWatch;
}

function notFound(name: string, unlinked = false): QueueNotFoundError {
  return new QueueNotFoundError(
    unlinked
      ? `queue '${name}' no longer exists on this Redis (it was unlinked, or the server lost its data); create it again with RedisQueue.create('${name}', { redis })`
      : `queue '${name}' does not exist on this Redis; create it first with RedisQueue.create('${name}', { redis })`,
  );
}

function disconnectQuietly(client: RedisClient | null): void {
  if (!client) return;
  try {
    client.disconnect();
  } catch {
    // already gone
  }
}

/**
 * Before the first script: a server older than 7.0 cannot run the queue's scripts (it would report
 * their shebang line as a syntax error), and one that may evict keys gets a warning. A server that
 * does not let this user run INFO is taken as it comes.
 */
async function checkServer(conn: RedisClient, name: string, replies: ReplyWatch): Promise<void> {
  let info: string;
  try {
    info = await replies.wait(conn.info(), NO_DEADLINE, noReplyError(name, 'the open', 'none', false));
  } catch (error) {
    if (error instanceof QueueNoReplyError) throw error;
    if (error instanceof Error && error.name === 'ReplyError') return; // INFO refused (ACL)
    throw error; // the connection failed: the client's error, as for any call
  }
  const facts = serverFacts(info);
  if (facts.major > 0 && facts.major < 7) {
    throw new QueueIncompatibleError(
      `queue '${name}': this Redis server is version ${facts.version}; shm-queue/redis needs Redis 7.0 or later (stream consumer groups with XAUTOCLAIM, script flags)`,
    );
  }
  warnIfEvicting(facts);
}

async function openQueue<T>(
  rawName: unknown,
  mode: 'create' | 'open',
  rawOptions: unknown,
  joinable: boolean,
): Promise<Opened<T>> {
  const name = validateName(rawName);
  const options = validateOptions(rawOptions, 'options', mode === 'open' ? OPEN_KEYS : CREATE_KEYS);
  const target = requireRedis(options);
  const replies = new ReplyWatch(replyTimeoutOption(options));
  const explicitCodec = options['codec'] !== undefined;
  let codec = resolveCodec(options['codec'] as CodecName | Codec<unknown> | undefined) as Codec<T>;
  let scriptMode: 'create' | 'open' | 'either' = mode;
  let maxsize = 0;
  let vis = DEFAULT_VISIBILITY_TIMEOUT;
  let maxdel = 0;
  let maxmsg = REDIS_MAX_MESSAGE_SIZE;
  if (mode === 'create') {
    if (options['maxsize'] !== undefined)
      maxsize = validateInteger(options['maxsize'], 'options.maxsize', 0, REDIS_MAX_MAXSIZE);
    if (options['visibilityTimeout'] !== undefined)
      vis = validateInteger(options['visibilityTimeout'], 'options.visibilityTimeout', 1, 2 ** 31 - 1);
    if (options['maxDeliveries'] !== undefined)
      maxdel = validateInteger(options['maxDeliveries'], 'options.maxDeliveries', 0, 2 ** 31 - 1);
    if (options['maxMessageSize'] !== undefined)
      maxmsg = validateInteger(options['maxMessageSize'], 'options.maxMessageSize', 1, REDIS_MAX_MESSAGE_SIZE);
    const exclusive = options['exclusive'];
    if (exclusive !== undefined && typeof exclusive !== 'boolean')
      throw invalidArgType('options.exclusive', 'of type boolean', exclusive);
    if (exclusive === false) scriptMode = 'either';
  }
  const conn = connect(target);
  try {
    await checkServer(conn, name, replies);
    const keys = queueKeys(name);
    const reply = (await replies.wait(
      evalScript(
        conn,
        OPEN,
        [keys.meta, keys.stream, keys.back],
        [scriptMode, joinable ? 'joinable' : 'queue', codec.name, maxsize, maxmsg, vis, maxdel],
      ),
      NO_DEADLINE,
      // A create whose reply is lost may still have created the queue.
      noReplyError(name, mode === 'create' ? 'the create' : 'the open', mode === 'create' ? 'may' : 'none', false),
    )) as unknown[];
    const status = Number(reply[0]);
    if (status === ScriptStatus.Exists) {
      throw new QueueExistsError(
        `queue '${name}' already exists on this Redis; use RedisQueue.open('${name}', { redis }), or pass { exclusive: false } to create-or-open`,
      );
    }
    if (status === ScriptStatus.NotFound) throw notFound(name);
    const meta = pairs(reply, 1);
    if (Number(meta['v']) !== FORMAT_VERSION) {
      throw new QueueIncompatibleError(
        `queue '${name}' on this Redis uses data format ${meta['v']}, not ${FORMAT_VERSION}; use the shm-queue version that created it`,
      );
    }
    const isJoinable = meta['kind'] === 'joinable';
    if (isJoinable !== joinable) {
      throw new QueueIncompatibleError(
        `queue '${name}' is a ${isJoinable ? 'RedisJoinableQueue' : 'plain RedisQueue'}; open it with ${isJoinable ? 'RedisJoinableQueue' : 'RedisQueue'}.open('${name}', { redis })`,
      );
    }
    const stored = meta['codec'] ?? '';
    if (stored !== codec.name) {
      if (!explicitCodec && BUILTIN_CODECS.includes(stored)) codec = resolveCodec(stored as CodecName) as Codec<T>;
      else {
        throw new CodecMismatchError(
          `queue '${name}' uses codec '${stored}', not '${codec.name}'; ` +
            (BUILTIN_CODECS.includes(stored)
              ? `open it with { codec: '${stored}' } or without a codec option`
              : `open it with your custom codec named '${stored}'`),
        );
      }
    }
    if (status === 0 && scriptMode === 'either') {
      const mismatch = (
        [
          ['maxsize', 'maxsize'],
          ['visibilityTimeout', 'vis'],
          ['maxDeliveries', 'maxdel'],
          ['maxMessageSize', 'maxmsg'],
        ] as const
      ).find(([option, field]) => options[option] !== undefined && Number(meta[field]) !== options[option]);
      if (mismatch) {
        const [option, field] = mismatch;
        throw new QueueIncompatibleError(
          `queue '${name}' exists with ${option} ${meta[field]}, not ${String(options[option])}; use the same options in every process, or RedisQueue.open('${name}', { redis })`,
        );
      }
    }
    return { name, conn, codec, meta, replies };
  } catch (error) {
    disconnectQuietly(conn);
    throw error;
  }
}

/**
 * A named, bounded FIFO queue on Redis (Streams + Lua), opened by name from any machine that reaches
 * the server: the shared async interface ({@link AsyncQueue}) of the shared-memory `Queue`.
 *
 * Create it with {@link RedisQueue.create}, open it with {@link RedisQueue.open}, and `close()` it
 * when done: its connections keep the process alive while it is open.
 *
 * @typeParam T - the type of the values carried.
 */
export class RedisQueue<T = unknown> implements AsyncQueue<T> {
  /** The queue's name (its Redis keys start with `{shmq:NAME}`). */
  readonly name: string;
  /** Most messages waiting for a consumer (0 = no limit). */
  readonly maxsize: number;
  /** Name of the codec in use (stored with the queue). */
  readonly codec: string;
  /** Largest encoded message, in bytes. */
  readonly maxMessageSize: number;
  /** Milliseconds a consumer may hold a received message before it is delivered again elsewhere. */
  readonly visibilityTimeout: number;
  /** Deliveries after which a message moves to the dead-letter stream (0 = never). */
  readonly maxDeliveries: number;
  /** The consumer name of this handle in the stream's consumer group. */
  readonly consumer: string;
  /** `true` for a {@link RedisJoinableQueue}. */
  readonly joinable: boolean;
  /** Longest wait for the server's reply to one command, in ms (the `replyTimeout` option). */
  readonly replyTimeout: number;

  readonly #codec: Codec<T>;
  readonly #replies: ReplyWatch;
  readonly #keys: QueueKeys;
  #conn: RedisClient | null;
  #blocker: Redis | null = null;
  #blockerId: number | null = null;
  #blockerReady: Promise<Redis> | null = null;
  #unblocker: Redis | null = null;
  #sub: RedisClient | null = null;
  #subReady: Promise<void> | null = null;
  #blocking = false;
  readonly #naps = new Set<() => void>();
  /** Wake-up messages heard so far: a wait that began before the latest one does not nap. */
  #wakes = 0;
  readonly #gets = new Fifo();
  readonly #puts = new Fifo();
  #carry: Carried<T>[] = [];
  /** Received messages whose acknowledgement failed (connection lost): retried by the next get. */
  #ackRetry: (Delivery & { at: number })[] = [];
  /**
   * Ids of messages already handed out whose sent acknowledgement (see #received) failed: sent
   * again before this handle's next take, and by close().
   */
  #ackLater: string[] = [];
  /**
   * When this handle's last TAKE script ran (and found the queue there and not shut down and
   * drained): for CLAIM_EVERY_MS after it, gets read new messages with a plain XREADGROUP.
   */
  #tookAt = -Infinity;
  /** The last put script was refused because the server is out of memory (`maxmemory`). */
  #outOfMemory = false;
  /** ACK_SENT ran on the command connection since it last (re)connected (the server knows the script). */
  #ackSentLoaded = false;

  /** @internal Use {@link RedisQueue.create} or {@link RedisQueue.open}. */
  constructor(token: symbol, internal: unknown) {
    if (token !== kToken)
      throw new TypeError('RedisQueue has no public constructor; use await RedisQueue.create(name, { redis })');
    const o = internal as Opened<T>;
    this.name = o.name;
    this.#conn = o.conn;
    this.#codec = o.codec;
    this.codec = o.codec.name;
    this.#keys = queueKeys(o.name);
    this.maxsize = Number(o.meta['maxsize']);
    this.maxMessageSize = Number(o.meta['maxmsg']);
    this.visibilityTimeout = Number(o.meta['vis']);
    this.maxDeliveries = Number(o.meta['maxdel']);
    this.joinable = o.meta['kind'] === 'joinable';
    this.#replies = o.replies;
    this.replyTimeout = o.replies.replyTimeout;
    this.consumer = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
    // A server restart empties its script cache, and always comes with a reconnection.
    o.conn.on('ready', () => {
      this.#ackSentLoaded = false;
    });
  }

  /**
   * Creates the queue `name` on the server given by `options.redis`. Throws `QueueExistsError` if
   * it exists (unless `exclusive: false`, create-or-open, where explicit options must match).
   */
  static async create<T = unknown>(name: string, options: RedisCreateOptions<T>): Promise<RedisQueue<T>> {
    return new RedisQueue<T>(kToken, await openQueue<T>(name, 'create', options, false));
  }

  /** Opens the existing queue `name`. Throws `QueueNotFoundError` if there is none. */
  static async open<T = unknown>(name: string, options: RedisOpenOptions<T>): Promise<RedisQueue<T>> {
    return new RedisQueue<T>(kToken, await openQueue<T>(name, 'open', options, false));
  }

  /**
   * Deletes the queue `name` and everything in it (messages, dead letters). Unlike a shared-memory
   * unlink, open handles stop working: their operations fail with `QueueNotFoundError`.
   * Resolves `false` when there was no such queue.
   */
  static async unlink(name: string, options: RedisConnectOptions): Promise<boolean> {
    const valid = validateName(name);
    const opts = validateOptions(options, 'options', ['redis', 'replyTimeout']);
    const k = queueKeys(valid);
    return oneOffCall(requireRedis(opts), opts, { queue: valid, what: 'the unlink', effect: 'may' }, async (conn) => {
      return Number(await evalScript(conn, UNLINK, [k.meta, k.stream, k.dead, k.back], [k.channel])) === 1;
    });
  }

  /** Every queue on the server (or Cluster) with its stats, sorted by name (for `shm-queue ls --redis`). */
  static list(options: RedisListOptions): Promise<RedisQueueStats[]> {
    return listRedisQueues(options);
  }

  /** One queue's stats without opening it; `QueueNotFoundError` when there is none. */
  static inspect(name: string, options: RedisConnectOptions): Promise<RedisQueueStats> {
    return inspectRedisQueue(name, options);
  }

  /** The next messages a consumer would get, decoded, without taking them. */
  static peek(name: string, options: RedisPeekOptions): Promise<RedisPeekResult> {
    return peekRedisQueue(name, options);
  }

  // -------------------------------------------------------------------------------------------
  // Putting.

  /**
   * Puts `value`; resolves once the message is in Redis (every consumer can get it). Waits while
   * `maxsize` messages wait, up to `timeout` ms (then `QueueFullError`), or until `signal` aborts.
   * A put that rejects with a connection error may or may not have been added, as with any request
   * whose reply was lost; it is never sent twice by the client.
   */
  async put(value: T, options?: WaitOptions): Promise<void> {
    const { timeout, signal } = this.#waitOptions(options);
    this.#live();
    signal?.throwIfAborted();
    await this.#putAll([this.#encode(value)], timeout, signal, false);
  }

  /** Puts `value` if there is room now, else rejects with `QueueFullError` at once. */
  async putNowait(value: T): Promise<void> {
    this.#live();
    await this.#putAll([this.#encode(value)], 0, undefined, false);
  }

  /**
   * Puts every value in order, as many per script call as fit, waiting for room as needed. Every
   * value is encoded before any is put. On timeout rejects with `QueueFullError` whose `putCount`
   * says how many were put (they stay queued); aborted part-way, with an `AbortError` carrying
   * `putCount`.
   */
  async putMany(values: Iterable<T>, options?: WaitOptions): Promise<void> {
    const { timeout, signal } = this.#waitOptions(options);
    this.#live();
    signal?.throwIfAborted();
    if (values === null || typeof (values as Iterable<T>)?.[Symbol.iterator] !== 'function')
      throw invalidArgType('values', 'an iterable', values);
    const list: Buffer[] = [];
    for (const v of values) list.push(this.#encode(v));
    if (list.length === 0) return;
    await this.#putAll(list, timeout, signal, true);
  }

  async #putAll(list: Buffer[], timeout: number, signal: AbortSignal | undefined, many: boolean): Promise<void> {
    const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
    let done = 0;
    const fullError = (): QueueFullError =>
      new QueueFullError(
        this.#outOfMemory
          ? `queue '${this.name}': the Redis server is out of memory (its maxmemory is reached), so ${many ? `${done} of ${list.length} values were` : 'nothing was'} put${timeout === 0 ? '' : ` in ${timeout} ms`}; gets still work and free memory (put() waits for that), or give the server more memory`
          : timeout === 0
            ? `queue '${this.name}' is full (maxsize ${this.maxsize}); use put() to wait for room`
            : many
              ? `putMany on queue '${this.name}' timed out after ${timeout} ms with ${done} of ${list.length} values put`
              : `queue '${this.name}' stayed full for ${timeout} ms; consumers are not keeping up (raise the timeout or maxsize)`,
        done,
      );
    const abortError = (reason: unknown): unknown =>
      many && done > 0 ? partialAbort(reason, done, list.length) : reason;
    // The put script in flight is waited for up to the deadline, not the signal: it may be carried out.
    const bound: ReplyBound = { deadline };
    const what = (): string =>
      many ? `a putMany (at least ${done} of ${list.length} values were put before)` : 'a put';
    if (this.#puts.idle) {
      done = await this.#putSome(list, 0, bound, what);
      if (done === list.length) return;
      if (timeout === 0) throw fullError();
    }
    await this.#puts.run(
      async () => {
        await this.#wait(this.#subscribe(), { deadline, signal }, 'the subscription a waiting put needs', 'none');
        for (;;) {
          this.#live();
          // The 'room' for a put that found the queue full is published once (by the next
          // acknowledgement); one heard while that put's reply was on its way means: try again now.
          const wakes = this.#wakes;
          done += await this.#putSome(list, done, bound, what);
          if (done === list.length) return;
          if (timeout === 0) throw fullError();
          const left = deadline - performance.now();
          if (left <= 0) throw fullError();
          if (this.#wakes !== wakes) continue;
          try {
            // No 'room' message comes for a server out of memory (the refused put could not ask for it): look again soon.
            await this.#nap(Math.min(left, this.#outOfMemory ? OOM_POLL_MS : POLL_MS), signal);
          } catch (reason) {
            throw abortError(reason);
          }
        }
      },
      { signal, deadline, onTimeout: fullError, onAbort: abortError },
    );
  }

  /**
   * One put script call (or one per chunk while all fit): returns how many of list[from..] went in.
   * Each reply is waited for within `bound`; `what()` names the call in a `QueueNoReplyError`.
   */
  async #putSome(list: Buffer[], from: number, bound: ReplyBound, what: () => string): Promise<number> {
    let done = 0;
    while (from + done < list.length) {
      const start = from + done;
      let end = start;
      for (
        let bytes = 0;
        end < list.length && end - start < PUT_CHUNK && (end === start || bytes < PUT_CHUNK_BYTES);
        end++
      )
        bytes += (list[end] as Buffer).length;
      const chunk = start === 0 && end === list.length ? list : list.slice(start, end);
      let n: number;
      try {
        n = Number(
          await this.#wait(
            this.#run(PUT, [this.#keys.meta, this.#keys.stream, this.#keys.back], chunk),
            bound,
            what(),
            'may',
          ),
        );
      } catch (error) {
        if (!isOutOfMemory(error)) throw error;
        // Refused before it ran (the put script is 'deny' in scripts.ts): nothing of the chunk went
        // in. A server out of memory is a full queue to a put: it waits for gets to free some. What
        // the script would have checked first is read here (reads still run): shut down, or gone.
        const read = this.#live()
          .hget(this.#keys.meta, 'shutdown')
          .catch((e: unknown) => {
            throw damagedQueueError(e, this.#keys.meta) ?? e;
          });
        const state = await this.#wait(read, bound, what(), 'none');
        if (state === null) throw notFound(this.name, true);
        if (state !== 'none')
          throw new QueueShutdownError(`queue '${this.name}' is shut down; it accepts no more messages`);
        this.#outOfMemory = true;
        break;
      }
      this.#outOfMemory = false;
      if (n === ScriptStatus.Shutdown)
        throw new QueueShutdownError(`queue '${this.name}' is shut down; it accepts no more messages`);
      if (n === ScriptStatus.NotFound) throw notFound(this.name, true);
      done += n;
      if (n < chunk.length) break;
    }
    return done;
  }

  // -------------------------------------------------------------------------------------------
  // Getting.

  /**
   * Takes the next value. Waits while none is there, up to `timeout` ms (then `QueueEmptyError`),
   * or until `signal` aborts; a get that times out or aborts takes nothing. The message is
   * acknowledged (and deleted) before this resolves. With `{ ack: 'manual' }` it resolves with a
   * {@link RedisMessage} instead, which you `ack()` when done (or `nack()` to give it back).
   */
  get(options: RedisGetOptions & { ack: 'manual' }): Promise<RedisMessage<T>>;
  get(options?: RedisGetOptions): Promise<T>;
  async get(options?: RedisGetOptions): Promise<T | RedisMessage<T>> {
    const opts = validateOptions(options, 'options', GET_KEYS);
    const ack = opts['ack'];
    if (ack !== undefined && ack !== 'auto' && ack !== 'manual')
      throw invalidArgValue('options.ack', `must be 'auto' or 'manual'. Received ${JSON.stringify(ack)}`);
    const timeout = validateTimeout(opts['timeout']);
    const signal = validateSignal(opts['signal']);
    this.#live();
    signal?.throwIfAborted();
    if (ack === 'manual') {
      if (this.#carry.length > 0) return this.#acked(this.#takeCarried());
      const [d] = await this.#receive(1, timeout, signal, true);
      const delivery = d as Delivery;
      let value: T;
      try {
        value = this.#codec.decode(delivery.payload);
      } catch (cause) {
        // Undecodable: redelivering it would fail again. It leaves the queue; the error carries it.
        await this.#ack([delivery]);
        throw this.#decodeError(delivery.payload, cause);
      }
      return this.#message(value, delivery);
    }
    if (this.#carry.length === 0) {
      const deliveries = await this.#receive(1, timeout, signal, false);
      this.#decodeInto(deliveries);
    }
    return this.#takeCarried();
  }

  /** Takes the next value if one is there now, else rejects with `QueueEmptyError` at once. */
  async getNowait(): Promise<T> {
    return this.get({ timeout: 0 });
  }

  /**
   * Takes up to `max` values (one script call): waits until at least one is there, up to `timeout`
   * ms (then `QueueEmptyError`); never waits for more than one.
   */
  async getMany(max: number, options?: WaitOptions): Promise<T[]> {
    validateInteger(max, 'max', 1, MAX_BATCH);
    const { timeout, signal } = this.#waitOptions(options);
    this.#live();
    signal?.throwIfAborted();
    if (this.#carry.length === 0) this.#decodeInto(await this.#receive(max, timeout, signal, false));
    const out: T[] = [this.#takeCarried()]; // throws if the first one failed to decode
    while (out.length < max && this.#carry.length > 0 && !('error' in (this.#carry[0] as Carried<T>)))
      out.push(this.#takeCarried());
    return out;
  }

  /**
   * Yields values as they arrive (`for await (const v of q)`) until the queue is shut down and
   * drained or this handle is closed; then the loop ends.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let value: T;
      try {
        value = await this.get();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ERR_QUEUE_SHUTDOWN' || code === 'ERR_QUEUE_CLOSED') return;
        throw error;
      }
      yield value;
    }
  }

  /**
   * Receives 1..max messages: acknowledged ones (auto), or still pending for this consumer
   * (manual). Waits in this handle's FIFO of gets when it cannot complete at once.
   */
  async #receive(max: number, timeout: number, signal: AbortSignal | undefined, manual: boolean): Promise<Delivery[]> {
    const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
    const emptyError = (): QueueEmptyError =>
      new QueueEmptyError(
        timeout === 0
          ? `queue '${this.name}' is empty; use get() to wait for a message`
          : `queue '${this.name}' stayed empty for ${timeout} ms`,
      );
    const bound: ReplyBound = { deadline, signal };
    if (this.#gets.idle) {
      const got = await this.#takeNow(max, manual, bound);
      if (got.length > 0) return got;
      if (timeout === 0) throw emptyError();
    }
    return this.#gets.run(
      async () => {
        await this.#wait(this.#subscribe(), bound, 'the subscription a waiting get needs', 'none');
        for (;;) {
          this.#live();
          signal?.throwIfAborted();
          const got = await this.#takeNow(max, manual, bound);
          if (got.length > 0) return got;
          const left = deadline - performance.now();
          if (timeout === 0 || left <= 0) throw emptyError();
          const blockedAt = performance.now();
          const blocked = await this.#block(max, bound);
          if (blocked.length > 0) {
            const done = manual ? blocked : await this.#received(blocked, blockedAt, bound);
            if (done.length > 0) return done;
          }
        }
      },
      { signal, deadline, onTimeout: emptyError },
    );
  }

  /**
   * The non-blocking take script, then (auto mode) the acknowledgement. Every reply is waited for
   * within `bound`: a get that ends first takes nothing (what the server delivers later is given
   * back, see #giveBack).
   */
  async #takeNow(max: number, manual: boolean, bound: ReplyBound): Promise<Delivery[]> {
    if (this.#ackLater.length > 0) await this.#sendAcksAgain(bound);
    if (!manual && this.#ackRetry.length > 0) {
      const confirmed = await this.#retryAcks(bound);
      if (confirmed.length > 0) return confirmed;
    }
    const k = this.#keys;
    const signal = bound.signal;
    const takenAt = performance.now();
    if (!manual && takenAt - this.#tookAt < CLAIM_EVERY_MS) {
      // The TAKE script just looked for messages to claim again and at the shutdown state: new
      // messages need no script (nothing to check about them), a plain read is cheaper.
      const got = await this.#wait(this.#readNew(max), bound, 'a get', 'take', this.#giveBack);
      if (got.length > 0) {
        if (signal?.aborted) {
          this.#giveBack(got);
          throw signal.reason;
        }
        return this.#received(got, takenAt, bound);
      }
    }
    const taken = this.#run(TAKE, [k.meta, k.stream, k.dead, k.back], [this.consumer, max, k.channel], true).then(
      (reply) => takeReply(reply as unknown[]),
    );
    const { status, got } = await this.#wait(taken, bound, 'a get', 'take', (late) => this.#giveBack(late.got));
    if (status === ScriptStatus.Shutdown) throw new QueueShutdownError(`queue '${this.name}' is shut down and drained`);
    if (status === ScriptStatus.NotFound) throw notFound(this.name, true);
    this.#tookAt = takenAt;
    if (got.length === 0) return got;
    if (signal?.aborted) {
      this.#giveBack(got);
      throw signal.reason;
    }
    return manual ? got : this.#received(got, takenAt, bound);
  }

  /** Reads up to `max` new messages (never delivered before) for this consumer, without waiting. */
  async #readNew(max: number): Promise<Delivery[]> {
    let reply: unknown;
    try {
      reply = await this.#live().callBuffer('XREADGROUP', ...this.#readArgs(max));
    } catch (error) {
      if (String((error as Error)?.message).startsWith('NOGROUP')) throw notFound(this.name, true);
      throw damagedQueueError(error, this.#keys.stream) ?? error;
    }
    return deliveriesOf(reply);
  }

  /** XREADGROUP's arguments for up to `max` new messages of this consumer; with `blockMs`, a blocking read. */
  #readArgs(max: number, blockMs?: number): (string | number)[] {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    return ['GROUP', 'g', this.consumer, 'COUNT', max, ...block, 'STREAMS', this.#keys.stream, '>'];
  }

  /** Blocks on this handle's own connection for new messages, until `deadline` or one slice. */
  async #block(max: number, bound: ReplyBound): Promise<Delivery[]> {
    const blocker = await this.#wait(this.#blockerConnection(), bound, 'a get', 'take');
    const ms = Math.min(bound.deadline - performance.now(), BLOCK_SLICE_MS);
    if (ms <= 0) return [];
    const signal = bound.signal;
    signal?.throwIfAborted();
    const blockMs = Math.max(1, Math.ceil(ms));
    const onAbort = (): void => void this.#unblock();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#blocking = true;
    let got: Delivery[];
    try {
      const read = blocker
        .callBuffer('XREADGROUP', ...this.#readArgs(max, blockMs))
        .then(deliveriesOf, (error: unknown) => this.#blockFailed(error));
      // The server answers by itself after blockMs; only then does the wait for its reply count.
      got = await this.#wait(read, bound, 'a get', 'take', this.#giveBack, blockMs);
    } finally {
      this.#blocking = false;
      signal?.removeEventListener('abort', onAbort);
    }
    if (got.length > 0 && (signal?.aborted || this.#conn === null)) {
      // Delivered in the same instant as the abort (or close): give them back at once.
      this.#giveBack(got);
      if (this.#conn === null) throw this.#closedError();
      throw signal?.reason;
    }
    return got;
  }

  /** A blocking read that failed: nothing to return and look again (`[]`), or the error to throw. */
  #blockFailed(error: unknown): Delivery[] {
    if (this.#conn === null) throw this.#closedError();
    const message = String((error as Error)?.message);
    if (message.startsWith('UNBLOCKED')) return [];
    if (message.startsWith('NOGROUP')) throw notFound(this.name, true);
    if (message.startsWith('MOVED') || message.startsWith('ASK')) {
      this.#resetBlocker();
      return [];
    }
    throw damagedQueueError(error, this.#keys.stream) ?? error;
  }

  async #blockerConnection(): Promise<Redis> {
    if (this.#blocker && this.#blockerId !== null) return this.#blocker;
    if (!this.#blockerReady) {
      this.#blockerReady = (async () => {
        const conn = this.#live();
        let blocker = this.#blocker;
        if (!blocker) {
          blocker = await nodeConnection(conn, this.#keys.stream);
          this.#blocker = blocker;
          // A reconnected connection has a new id: fetch it again before the next blocking read.
          blocker.on('close', () => {
            this.#blockerId = null;
          });
          if (isCluster(conn)) this.#unblocker = await nodeConnection(conn, this.#keys.stream);
        }
        try {
          this.#blockerId = Number(await blocker.client('ID'));
        } catch (error) {
          throw damagedQueueError(error, this.#keys.stream) ?? error;
        }
        return blocker;
      })().finally(() => {
        this.#blockerReady = null;
      });
    }
    return this.#blockerReady;
  }

  #resetBlocker(): void {
    disconnectQuietly(this.#blocker);
    disconnectQuietly(this.#unblocker);
    this.#blocker = null;
    this.#unblocker = null;
    this.#blockerId = null;
  }

  /** Ends this handle's blocking read now (`CLIENT UNBLOCK`), if one is in progress. */
  async #unblock(bound: ReplyBound = NO_DEADLINE): Promise<void> {
    const id = this.#blockerId;
    if (!this.#blocking || id === null) return;
    const via = this.#unblocker ?? this.#conn;
    if (!via) return;
    try {
      await this.#wait(via.client('UNBLOCK', id), bound, 'close()', 'none');
    } catch {
      // The read ends at its slice anyway.
    }
  }

  /**
   * Acknowledges what an auto-mode get received, then the get returns it. Where that is as safe,
   * the acknowledgement is sent without waiting for its reply (one round trip per get instead of
   * two): its bytes are in the kernel's socket buffer before the get returns, so a process that
   * dies after its get returned cannot leave the message to be delivered again (the kernel still
   * hands the bytes to the server), exactly as if the reply had been awaited. "As safe" means: a
   * plain TCP or unix socket connection (not TLS, not a Cluster, no auto-pipelining) with nothing
   * else buffered in user space, the write went to the kernel at once, and less than half the
   * visibility timeout passed since the take was sent (so no other consumer can have claimed the
   * message again before the acknowledgement arrives). Otherwise the reply is awaited, as for
   * manual acks. What it gives up: should the connection fail in the instant after the get
   * returned, before the server read the acknowledgement, and the process then go away (or stay
   * cut off for longer than the visibility timeout), the message is delivered again; the failed
   * acknowledgement is sent again before this handle's next take and by close().
   */
  #received(got: Delivery[], takenAt: number, bound: ReplyBound): Delivery[] | Promise<Delivery[]> {
    // An acknowledgement waited for: should the get end first, what it confirms is carried (#carryLate).
    const awaited = (ack: Promise<Delivery[]>): Promise<Delivery[]> =>
      this.#wait(ack, bound, 'a get', 'take', this.#carryLate);
    const conn = this.#conn;
    if (conn === null || isCluster(conn) || conn.status !== 'ready' || conn.options.enableAutoPipelining)
      return awaited(this.#ack(got));
    const stream: unknown = conn.stream;
    if (!(stream instanceof Socket) || stream instanceof TLSSocket || stream.writableLength > 0)
      return awaited(this.#ack(got));
    if (performance.now() - takenAt >= this.visibilityTimeout / 2) return awaited(this.#ack(got));
    const ids = got.map((d) => d.id);
    const sent = this.#run(ACK_SENT, [this.#keys.meta, this.#keys.stream], [this.#keys.channel, ...ids]);
    // Until the script is known to the server on this connection (a NOSCRIPT reply would delay the
    // real acknowledgement by a round trip), and while the bytes are still in user space (the
    // kernel's buffer was full): wait for the reply.
    if (!this.#ackSentLoaded || stream.writableLength > 0) {
      return awaited(
        sent.then(
          () => {
            this.#ackSentLoaded = true;
            return got;
          },
          (error: unknown) => {
            const at = performance.now();
            for (const d of got) this.#ackRetry.push({ ...d, at });
            throw error;
          },
        ),
      );
    }
    sent.catch(() => {
      this.#ackLater.push(...ids);
    });
    return got;
  }

  /** Sends again the acknowledgements of #received that failed; rejects if that fails again. */
  async #sendAcksAgain(bound: ReplyBound): Promise<void> {
    const ids = this.#ackLater;
    this.#ackLater = [];
    try {
      const sent = this.#run(ACK_SENT, [this.#keys.meta, this.#keys.stream], [this.#keys.channel, ...ids]);
      // Not answered in time: sent again next time (acknowledging twice changes nothing).
      await this.#wait(sent, bound, 'a get', 'take');
    } catch (error) {
      this.#ackLater = ids.concat(this.#ackLater);
      throw error;
    }
  }

  /** Runs the ACK script for `deliveries`: per message, 1 when this consumer still held it. */
  async #runAck(deliveries: readonly Delivery[]): Promise<unknown[]> {
    const k = this.#keys;
    const ids = deliveries.map((d) => d.id);
    return (await this.#run(ACK, [k.meta, k.stream], [this.consumer, k.channel, ...ids])) as unknown[];
  }

  /** Acknowledges and deletes received messages; returns those this consumer still held. */
  async #ack(got: Delivery[]): Promise<Delivery[]> {
    let res: unknown[];
    try {
      res = await this.#runAck(got);
    } catch (error) {
      // The acknowledgement may or may not have reached the server: keep the messages and settle
      // that on the next get instead of losing them (see #retryAcks).
      const at = performance.now();
      for (const d of got) this.#ackRetry.push({ ...d, at });
      throw error;
    }
    return got.filter((_, i) => Number(res[i]) === 1);
  }

  /**
   * Acknowledges again the messages whose acknowledgement failed. Delivered now: those still held
   * (acknowledged now), and those already gone within the visibility timeout (the earlier
   * acknowledgement did reach the server; only its reply was lost). Dropped: those another
   * consumer holds now (it delivers them).
   */
  async #retryAcks(bound: ReplyBound): Promise<Delivery[]> {
    const list = this.#ackRetry;
    this.#ackRetry = [];
    let res: unknown[];
    try {
      // Not answered in time: settled by the next try (a message acknowledged meanwhile reads as gone).
      res = await this.#wait(this.#runAck(list), bound, 'a get', 'take');
    } catch (error) {
      this.#ackRetry = list.concat(this.#ackRetry);
      throw error;
    }
    const now = performance.now();
    return list.filter((d, i) => {
      const r = Number(res[i]);
      return r === 1 || (r === 2 && now - d.at < this.visibilityTimeout);
    });
  }

  async #nack(got: Delivery[]): Promise<number> {
    const k = this.#keys;
    return Number(
      await this.#run(NACK, [k.meta, k.stream, k.back], [this.consumer, k.channel, ...got.map((d) => d.id)]),
    );
  }

  #message(value: T, d: Delivery): RedisMessage<T> {
    let settled: Promise<boolean> | null = null;
    return Object.freeze({
      value,
      id: d.id,
      deliveries: d.deliveries,
      ack: (): Promise<boolean> => {
        settled ??= this.#wait(this.#ack([d]), NO_DEADLINE, 'an ack()', 'may').then((held) => held.length === 1);
        return settled;
      },
      nack: (): Promise<boolean> => {
        settled ??= this.#wait(this.#nack([d]), NO_DEADLINE, 'a nack()', 'may').then((n) => n === 1);
        return settled;
      },
    });
  }

  /** A carried (already acknowledged) value as a manual-mode message. */
  #acked(value: T): RedisMessage<T> {
    const yes = (): Promise<boolean> => Promise.resolve(true);
    return Object.freeze({ value, id: '', deliveries: 1, ack: yes, nack: () => Promise.resolve(false) });
  }

  /**
   * Decodes acknowledged messages into #carry, in order. A message the codec cannot decode is
   * carried as a MessageDecodeError (with its bytes): the get that reaches it throws it, and the
   * messages after it wait for the next gets of this handle (close() puts them back).
   */
  #decodeInto(got: Delivery[]): void {
    for (const d of got) {
      try {
        this.#carry.push({ bytes: d.payload, value: this.#codec.decode(d.payload) });
      } catch (cause) {
        this.#carry.push({ bytes: d.payload, error: this.#decodeError(d.payload, cause) });
      }
    }
  }

  #decodeError(bytes: Buffer, cause: unknown): MessageDecodeError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new MessageDecodeError(
      `a message of ${bytes.length} bytes taken from queue '${this.name}' could not be decoded by codec '${this.codec}' (${why}); it is no longer in the queue: error.bytes holds it`,
      Buffer.from(bytes),
      this.codec,
      cause,
    );
  }

  #takeCarried(): T {
    const entry = this.#carry.shift() as Carried<T>;
    if ('error' in entry) throw entry.error;
    return entry.value;
  }

  // -------------------------------------------------------------------------------------------
  // Inspecting, shutting down, closing.

  /**
   * Messages waiting for a consumer, across all processes: not delivered yet, or given back
   * (`nack()`; delivered, unacknowledged ones excluded), plus those this handle received and holds
   * for its next gets (see getMany).
   */
  async qsize(): Promise<number> {
    const n = Number(
      await this.#wait(
        this.#run(SIZE, [this.#keys.meta, this.#keys.stream, this.#keys.back], []),
        NO_DEADLINE,
        'qsize()',
        'none',
      ),
    );
    if (n === ScriptStatus.NotFound) throw notFound(this.name, true);
    return n + this.#carry.length;
  }

  /** `true` when no message waits for a consumer. */
  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  /** `true` when `maxsize` messages wait (always `false` when `maxsize` is 0). */
  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.qsize()) >= this.maxsize;
  }

  /** A snapshot of the queue's counters, read atomically; see {@link RedisQueueStats}. */
  async stats(): Promise<RedisQueueStats> {
    this.#live();
    const s = await this.#wait(readStats(this.#live(), this.name), NO_DEADLINE, 'stats()', 'none');
    if (!s) throw notFound(this.name, true);
    return s;
  }

  /** `true` once {@link RedisQueue.shutdown} was called by any process. */
  async isShutdown(): Promise<boolean> {
    return (await this.stats()).shutdown !== 'none';
  }

  /** `true` once this handle was closed. */
  get closed(): boolean {
    return this.#conn === null;
  }

  /**
   * Shuts the queue down for every process on every machine: puts reject with
   * `QueueShutdownError`, gets return what is left and then reject with it, `for await` loops end,
   * and blocked gets, puts and joins everywhere wake. `immediate: true` discards the messages not
   * yet delivered (counted as done for `join()`).
   */
  async shutdown(options?: ShutdownOptions): Promise<void> {
    const opts = validateOptions(options, 'options', ['immediate']);
    const immediate = opts['immediate'];
    if (immediate !== undefined && typeof immediate !== 'boolean')
      throw invalidArgType('options.immediate', 'of type boolean', immediate);
    const n = Number(
      await this.#wait(
        this.#run(
          SHUTDOWN,
          [this.#keys.meta, this.#keys.stream, this.#keys.back],
          [immediate ? '1' : '0', this.#keys.channel],
        ),
        NO_DEADLINE,
        'shutdown()',
        'may',
      ),
    );
    if (n === ScriptStatus.NotFound) throw notFound(this.name, true);
    this.#wakeAll();
  }

  /**
   * Closes this handle: operations waiting in it reject with `QueueClosedError`, its blocked read
   * ends, and its connections close. The queue stays (see {@link RedisQueue.unlink}). Idempotent.
   */
  async close(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return;
    // One budget for everything close() asks of the server: a server that does not answer cannot hold it.
    const bound: ReplyBound = { deadline: performance.now() + this.replyTimeout };
    await this.#unblock(bound);
    if (this.#ackLater.length > 0) await this.#sendAcksAgain(bound).catch(() => {}); // else: delivered again later
    const undelivered = this.#carry.length > 0 ? await this.#putBack(bound) : null;
    this.#conn = null;
    const error = this.#closedError();
    this.#gets.rejectAll(error);
    this.#puts.rejectAll(error);
    this.#wakeAll();
    try {
      const forget = evalScript(conn, FORGET_CONSUMER, [this.#keys.stream], [this.consumer]);
      await this.#replies.wait(forget, bound, noReplyError(this.name, 'close()', 'none'));
    } catch {
      // Server unreachable: the consumer entry stays, and is pruned by a later close.
    }
    disconnectQuietly(this.#sub);
    this.#resetBlocker();
    disconnectQuietly(conn);
    this.#sub = null;
    if (undelivered) {
      throw new MessagesUndeliveredError(
        `closing queue '${this.name}': ${undelivered.messages.length} message(s) this handle had taken out could not be put back (${(undelivered.cause as Error)?.message ?? String(undelivered.cause)}); error.messages holds their bytes`,
        undelivered.messages,
        undelivered.putBack,
        undelivered.cause,
      );
    }
  }

  /**
   * Puts the messages this handle holds (received, not handed out) back at the tail of the queue,
   * without waiting; on a joinable queue each put-back is marked done once, so that it still counts
   * once. Returns what could not be put back.
   */
  async #putBack(bound: ReplyBound): Promise<{ messages: Buffer[]; putBack: number; cause: unknown } | null> {
    const list = this.#carry.map((c) => c.bytes);
    this.#carry = [];
    let putBack = 0;
    let cause: unknown = null;
    try {
      putBack = await this.#putSome(list, 0, bound, () => 'the put-back of close()');
      if (putBack < list.length) cause = new QueueFullError(`queue '${this.name}' is full`, putBack);
      if (this.joinable)
        for (let i = 0; i < putBack; i++) {
          const done = this.#run(TASK_DONE, [this.#keys.meta], [this.#keys.channel]);
          await this.#wait(done, bound, 'the put-back of close()', 'may');
        }
    } catch (error) {
      cause = error;
    }
    return cause === null ? null : { messages: list.slice(putBack), putBack, cause };
  }

  /** Same as {@link RedisQueue.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------
  // Internals.

  /** @internal Runs a queue script on the command connection; `what` names the call if no reply comes. */
  protected run(s: Script, keys: string[], args: (string | Buffer | number)[], what: string): Promise<unknown> {
    return this.#wait(this.#run(s, keys, args), NO_DEADLINE, what, 'may');
  }

  /** @internal Waits for `reply` within `bound` and `replyTimeout` (see #wait). */
  protected waitReply<R>(reply: Promise<R>, bound: ReplyBound, what: string, effect: ReplyEffect): Promise<R> {
    return this.#wait(reply, bound, what, effect);
  }

  /** @internal */
  protected get keys(): QueueKeys {
    return this.#keys;
  }

  /** @internal Sleeps until a wake-up message or `ms`; rejects on abort or close. */
  protected nap(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return this.#nap(ms, signal);
  }

  /** @internal Subscribes this handle to the queue's wake-up messages (once). */
  protected subscribe(): Promise<void> {
    return this.#subscribe();
  }

  /** @internal */
  protected live(): RedisClient {
    return this.#live();
  }

  #run(s: Script, keys: string[], args: (string | Buffer | number)[], buffers = false): Promise<unknown> {
    return evalScript(this.#live(), s, keys, args, buffers);
  }

  /**
   * Waits for `reply` until `bound` or `replyTimeout` passes (then `QueueNoReplyError`, saying what
   * the command may still do: `effect`); see {@link ReplyWatch.wait} for `late` and `serverMs`.
   */
  #wait<R>(
    reply: Promise<R>,
    bound: ReplyBound,
    what: string,
    effect: ReplyEffect,
    late?: (value: R) => void,
    serverMs = 0,
  ): Promise<R> {
    return this.#replies.wait(reply, bound, noReplyError(this.name, what, effect), late, serverMs);
  }

  /**
   * Late handler of a get's take or read: messages the server delivered after the get had ended
   * (it timed out, was aborted, or got no reply in time) are given back at once. Should that fail
   * too, they are delivered again after the visibility timeout: never lost.
   */
  readonly #giveBack = (got: Delivery[]): void => {
    if (got.length > 0 && this.#conn !== null) this.#nack(got).catch(() => {});
  };

  /**
   * Late handler of an acknowledgement a get waited for: the messages it confirms are no longer
   * in the stream, so this handle hands them out with its next gets (close() puts them back).
   */
  readonly #carryLate = (held: Delivery[]): void => {
    this.#decodeInto(held);
  };

  #live(): RedisClient {
    const c = this.#conn;
    if (c === null) throw this.#closedError();
    return c;
  }

  #closedError(): QueueClosedError {
    return new QueueClosedError(
      `queue '${this.name}' handle is closed; open it again with RedisQueue.open('${this.name}', { redis })`,
    );
  }

  #waitOptions(options: WaitOptions | undefined): { timeout: number; signal: AbortSignal | undefined } {
    if (options === undefined) return { timeout: -1, signal: undefined };
    const opts = validateOptions(options, 'options', WAIT_KEYS);
    return { timeout: validateTimeout(opts['timeout']), signal: validateSignal(opts['signal']) };
  }

  #encode(value: T): Buffer {
    const bytes = this.#codec.encode(value);
    if (bytes.length > this.maxMessageSize) {
      throw new MessageTooLargeError(
        `message of ${bytes.length} bytes is larger than queue '${this.name}' accepts (largest: ${this.maxMessageSize} bytes); create the queue with a larger maxMessageSize`,
        bytes.length,
        this.maxMessageSize,
      );
    }
    return Buffer.from(bytes); // a copy: the codec may reuse its buffer for the next encode
  }

  #subscribe(): Promise<void> {
    if (!this.#subReady) {
      const sub = subscriber(this.#live());
      this.#sub = sub;
      sub.on('message', (_channel: string, message: string) => {
        this.#wakes++;
        this.#wakeAll();
        // 'ready': a message was nacked; a blocked read does not see it (it is claimable, not new),
        // so the read ends and the get takes again.
        if (message === 'shutdown' || message === 'unlink' || message === 'ready') void this.#unblock();
      });
      this.#subReady = sub.subscribe(this.#keys.channel).then(
        () => undefined,
        (error: unknown) => {
          this.#subReady = null;
          this.#sub = null;
          disconnectQuietly(sub);
          throw damagedQueueError(error, this.#keys.meta) ?? error;
        },
      );
    }
    return this.#subReady;
  }

  #wakeAll(): void {
    const naps = [...this.#naps];
    this.#naps.clear();
    for (const wake of naps) wake();
  }

  #nap(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#naps.delete(wake);
        signal?.removeEventListener('abort', onAbort);
      };
      const wake = (): void => {
        done();
        if (this.#conn === null) reject(this.#closedError());
        else resolve();
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(wake, ms);
      this.#naps.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A {@link RedisQueue} that also counts unfinished tasks across processes and machines, like
 * Python's `JoinableQueue`: every put adds one, {@link RedisJoinableQueue.taskDone} removes one,
 * and {@link RedisJoinableQueue.join} waits until the count is zero.
 */
export class RedisJoinableQueue<T = unknown> extends RedisQueue<T> implements AsyncJoinableQueue<T> {
  /** Creates the joinable queue `name` (same options as {@link RedisQueue.create}). */
  static override async create<T = unknown>(
    name: string,
    options: RedisCreateOptions<T>,
  ): Promise<RedisJoinableQueue<T>> {
    return new RedisJoinableQueue<T>(kToken, await openQueue<T>(name, 'create', options, true));
  }

  /** Opens the existing joinable queue `name`. */
  static override async open<T = unknown>(name: string, options: RedisOpenOptions<T>): Promise<RedisJoinableQueue<T>> {
    return new RedisJoinableQueue<T>(kToken, await openQueue<T>(name, 'open', options, true));
  }

  /** Marks one task done. Rejects with `TaskDoneError` if more were marked done than put. */
  async taskDone(): Promise<void> {
    const n = Number(await this.run(TASK_DONE, [this.keys.meta], [this.keys.channel], 'taskDone()'));
    if (n === ScriptStatus.TaskDoneTooMany)
      throw new TaskDoneError(`taskDone() called more times than items were put on queue '${this.name}'`);
    if (n === ScriptStatus.NotFound) throw notFound(this.name, true);
  }

  /** Items put and not yet marked done, across all processes. */
  async unfinishedTasks(): Promise<number> {
    return this.#unfinished(NO_DEADLINE);
  }

  async #unfinished(bound: ReplyBound): Promise<number> {
    const read = this.live()
      .hget(this.keys.meta, 'unfinished')
      .catch((e: unknown) => {
        throw damagedQueueError(e, this.keys.meta) ?? e;
      });
    const u = await this.waitReply(read, bound, 'unfinishedTasks()', 'none');
    if (u === null) throw notFound(this.name, true);
    return Number(u);
  }

  /**
   * Resolves `true` once every item put has been marked done (by any process), or `false` when
   * `timeout` ms pass first; rejects with `signal.reason` on abort.
   */
  async join(options?: WaitOptions): Promise<boolean> {
    const opts = validateOptions(options, 'options', WAIT_KEYS);
    const timeout = validateTimeout(opts['timeout']);
    const signal = validateSignal(opts['signal']);
    this.live();
    signal?.throwIfAborted();
    const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
    const bound: ReplyBound = { deadline, signal };
    if (timeout !== 0) await this.waitReply(this.subscribe(), bound, 'join()', 'none');
    for (;;) {
      if ((await this.#unfinished(bound)) === 0) return true;
      const left = deadline - performance.now();
      if (timeout === 0 || left <= 0) return false;
      await this.nap(Math.min(left, POLL_MS), signal);
    }
  }
}

/** Whether `error` is the server refusing a command because it is out of memory (`maxmemory`). */
function isOutOfMemory(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && error.message.startsWith('OOM ');
}

/** The status and messages of a TAKE script reply. */
function takeReply(reply: unknown[]): { status: number; got: Delivery[] } {
  const got: Delivery[] = [];
  for (let i = 1; i + 2 < reply.length; i += 3) {
    got.push({ id: String(reply[i]), payload: reply[i + 1] as Buffer, deliveries: Number(reply[i + 2]) });
  }
  return { status: Number(reply[0]), got };
}

/** The messages of an XREADGROUP reply (one stream, new messages: first delivery). */
function deliveriesOf(reply: unknown): Delivery[] {
  const got: Delivery[] = [];
  const streams = reply as [Buffer, [Buffer, Buffer[]][]][] | null;
  for (const [id, fields] of streams?.[0]?.[1] ?? []) {
    got.push({ id: id.toString(), payload: fields[1] as Buffer, deliveries: 1 });
  }
  return got;
}

/**
 * The rejection of a putMany aborted after some values went in: an AbortError like Node's, with
 * the signal's reason as `cause` and how many values were put.
 */
function partialAbort(reason: unknown, putCount: number, total: number): Error {
  const error = new Error(
    `putMany was aborted after ${putCount} of ${total} values were put (they stay queued, in order)`,
    { cause: reason },
  );
  error.name = 'AbortError';
  return Object.assign(error, { code: 'ABORT_ERR', putCount });
}
