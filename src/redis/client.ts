/**
 * Loading `ioredis` (an optional peer dependency) and making the connections a queue handle uses.
 *
 * `ioredis` is loaded when `shm-queue/redis` is imported, never by the main entry. Without it the
 * import throws one {@link RedisClientMissingError} that says what to install.
 *
 * Every connection a queue uses is its own, made with two settings that keep the queue's promises:
 * `autoResendUnfulfilledCommands: false` (a command in flight when the connection drops is never
 * sent a second time behind the queue's back: that would duplicate a put) and
 * `maxRetriesPerRequest: 0` (an operation issued while the server is unreachable rejects with the
 * client's error at the next failed reconnect, instead of hanging). ioredis goes on reconnecting,
 * so the queue works again once the server is back.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { Cluster, ClusterNode, ClusterOptions, Command, Redis, RedisOptions } from 'ioredis';

/** The stable `code` of a {@link RedisClientMissingError}. */
export const REDIS_MISSING_CODE = 'ERR_SHM_QUEUE_REDIS_MISSING';

/** `shm-queue/redis` was imported but the `ioredis` package cannot be loaded. */
export class RedisClientMissingError extends Error {
  readonly code: typeof REDIS_MISSING_CODE = REDIS_MISSING_CODE;

  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'RedisClientMissingError';
  }
}

type IORedis = typeof import('ioredis');

function load(): IORedis {
  try {
    return createRequire(import.meta.url)('ioredis') as IORedis;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e?.code === 'MODULE_NOT_FOUND' && /'ioredis'/.test(String(e.message))) {
      throw new RedisClientMissingError(
        "shm-queue/redis needs the 'ioredis' package (an optional peer dependency of shm-queue), and it is not " +
          'installed. Install it next to shm-queue: npm install ioredis',
        { cause: error },
      );
    }
    throw error;
  }
}

/** The loaded ioredis module. */
export const ioredis: IORedis = load();

/** A connected ioredis client: one server, or a Cluster. */
export type RedisClient = Redis | Cluster;

/** A Cluster given by its startup nodes (and optional ioredis Cluster options). */
export interface ClusterConnectionOptions {
  /** Startup nodes, e.g. `[{ host: '10.0.0.5', port: 7000 }]`. */
  cluster: ClusterNode[];
  /** ioredis Cluster options. */
  options?: ClusterOptions;
}

/**
 * Where the queue lives: a URL (`redis://host:6379/0`, `rediss://...`) or a unix socket path, ioredis
 * options, `{ cluster: nodes }`, or an ioredis `Redis`/`Cluster` instance (the queue makes its own
 * connections from its settings and never closes yours).
 */
export type RedisConnection = string | RedisOptions | ClusterConnectionOptions | Redis | Cluster;

const SAFE = { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 } as const;

/**
 * Errors reach the caller through the rejected operation; without a listener ioredis would also
 * print every reconnect failure to stderr. A command sent while the connection is down is rejected
 * with an error that does not say why (ioredis' `MaxRetriesPerRequestError`: "Reached the max
 * retries per request limit"): it gets the connection's last error as its `cause` (`connect
 * ECONNREFUSED ...`, `connect ENOENT ...`, `write EPIPE` from a server at its `maxclients`, which
 * closes new connections). Commands sent while connected pay nothing.
 */
function quiet<C extends RedisClient>(client: C): C {
  let why: Error | null = null;
  client.on('error', (error: Error) => {
    why = error;
  });
  client.on('ready', () => {
    why = null;
  });
  const send = client.sendCommand.bind(client) as (command: Command, ...rest: unknown[]) => unknown;
  const explained = (command: Command, ...rest: unknown[]): unknown => {
    if (client.status !== 'ready') {
      command.promise.catch((error: unknown) => {
        if (
          why !== null &&
          error instanceof Error &&
          error.cause === undefined &&
          !(error instanceof ioredis.ReplyError)
        )
          Object.defineProperty(error, 'cause', { value: why, configurable: true, writable: true });
      });
    }
    return send(command, ...rest);
  };
  (client as unknown as { sendCommand: typeof explained }).sendCommand = explained;
  return client;
}

/** Whether `client` is an ioredis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof ioredis.Cluster;
}

/**
 * Opens the command connection for `target`. `commandTimeout` (ms), for the short-lived
 * connections of one-off calls (unlink, list, inspect, peek): every command not answered within
 * it rejects with the client's "Command timed out" error (see {@link isCommandTimeout}).
 */
export function connect(target: RedisConnection, commandTimeout?: number): RedisClient {
  const safe = commandTimeout === undefined ? SAFE : { ...SAFE, commandTimeout };
  if (target instanceof ioredis.Redis) return quiet(target.duplicate(safe));
  if (target instanceof ioredis.Cluster) {
    const redisOptions = { ...target.options.redisOptions, ...safe };
    return quiet(target.duplicate(undefined, { redisOptions }));
  }
  if (typeof target === 'string') return quiet(new ioredis.Redis(target, safe));
  if (target !== null && typeof target === 'object' && Array.isArray((target as ClusterConnectionOptions).cluster)) {
    const { cluster, options } = target as ClusterConnectionOptions;
    return quiet(new ioredis.Cluster(cluster, { ...options, redisOptions: { ...options?.redisOptions, ...safe } }));
  }
  return quiet(new ioredis.Redis({ ...(target as RedisOptions), ...safe }));
}

/** Whether `error` is ioredis's rejection of a command not answered within `commandTimeout`. */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}

/** A subscriber connection beside `client` (same server or cluster). */
export function subscriber(client: RedisClient): RedisClient {
  return quiet(isCluster(client) ? client.duplicate() : client.duplicate());
}

/**
 * A plain connection to the server that holds `key`: on one server a copy of `client`, on a
 * Cluster a connection to the master of `key`'s slot. Blocking reads and `CLIENT UNBLOCK` must be
 * on connections to that one server.
 */
export async function nodeConnection(client: RedisClient, key: string): Promise<Redis> {
  if (!isCluster(client)) return quiet(client.duplicate());
  const slot = (await client.cluster('KEYSLOT', key)) as number;
  const owner = client.slots[slot]?.[0];
  if (!owner) throw new Error(`no Redis Cluster node serves slot ${slot} (key ${key}) yet`);
  const colon = owner.lastIndexOf(':');
  return quiet(
    new ioredis.Redis({
      ...client.options.redisOptions,
      host: owner.slice(0, colon),
      port: Number(owner.slice(colon + 1)),
      ...SAFE,
    }),
  );
}

/** The masters to SCAN for queues: the client itself, or every master of a Cluster. */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/** What a queue needs to know about the server it opens on (from `INFO`). */
export interface ServerFacts {
  /** `redis_version`, e.g. `'7.0.15'` ('' when INFO did not say). */
  version: string;
  /** Its major version (0 when unknown). */
  major: number;
  /** `maxmemory_policy`, e.g. `'noeviction'` (null when INFO did not say). */
  evictionPolicy: string | null;
}

/** Reads {@link ServerFacts} from the text of an `INFO` reply. */
export function serverFacts(info: string): ServerFacts {
  const field = (name: string): string | null => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;
  const version = field('redis_version') ?? '';
  return { version, major: Number.parseInt(version, 10) || 0, evictionPolicy: field('maxmemory_policy') };
}

/** The stable `code` of the warning about a server that may evict queue keys. */
export const EVICTION_WARNING_CODE = 'SHMQ_REDIS_EVICTION_POLICY';
const warnedPolicies = new Set<string>();

/**
 * Warns once per process and policy (a `process` warning with code {@link EVICTION_WARNING_CODE})
 * when the server may evict keys: an evicted key is a lost message or a lost queue.
 */
export function warnIfEvicting(facts: ServerFacts): void {
  const policy = facts.evictionPolicy;
  if (policy === null || policy === 'noeviction' || warnedPolicies.has(policy)) return;
  warnedPolicies.add(policy);
  process.emitWarning(
    `the Redis server's maxmemory-policy is '${policy}': when it reaches maxmemory it may evict a queue's keys, which loses messages or the whole queue. Set 'maxmemory-policy noeviction' (CONFIG SET maxmemory-policy noeviction, or in redis.conf): a full server then makes puts wait or fail with QueueFullError instead`,
    { code: EVICTION_WARNING_CODE, type: 'ShmQueueWarning' },
  );
}
