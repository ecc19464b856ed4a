/**
 * `shm-queue ls|stat|peek --redis URL`: the same three read-only commands on Redis queues
 * (`shm-queue/redis`). The Redis backend (and ioredis) is loaded only when `--redis` is given, so
 * the command keeps working without ioredis for shared-memory queues.
 *
 * @module
 */
import type { RedisQueueStats } from '../redis/index.js';
import { type CliIO, checkName, EXIT_FAILURE, EXIT_OK, type OptionSpec, parse, UsageError } from './common.js';
import { formatBytes, formatDuration, matcher, plural, table, time } from './format.js';
import { help } from './help.js';
import { bytesPreview, jsonValue, valuePreview } from './peek.js';

/**
 * The message of a failed call. ioredis' "Reached the max retries per request limit" means the
 * server could not be reached; its `cause` (set by shm-queue/redis) says why. The queue's own
 * errors already quote the server in their message.
 */
function describeFailure(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; cause?: unknown } | null;
  const cause = e?.cause instanceof Error ? e.cause.message : '';
  if (e?.name === 'MaxRetriesPerRequestError' && cause !== '') return `cannot reach the server (${cause})`;
  return typeof e?.message === 'string' ? e.message : String(error);
}

/** The commands that take `--redis`. */
export const REDIS_COMMANDS: readonly string[] = ['ls', 'list', 'stat', 'peek'];

/** Whether `args` (after the command) ask for a Redis server. */
export function wantsRedis(args: string[]): boolean {
  return args.some((a) => a === '--redis' || a.startsWith('--redis='));
}

/** The URL with any password masked, for printing. */
function shown(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function statusOf(s: RedisQueueStats): string {
  return s.shutdown === 'none' ? 'ok' : `+shutdown (${s.shutdown})`;
}

/** Runs `ls`, `stat` or `peek` against the Redis server of `--redis URL`. */
export async function runRedis(command: string, args: string[], io: CliIO): Promise<number> {
  const name = command === 'list' ? 'ls' : command;
  const options: OptionSpec = { json: { type: 'boolean' }, redis: { type: 'string' } };
  if (name === 'peek') options['count'] = { type: 'string', short: 'n' };
  const p = parse(name, args, options);
  if (p === 'help') return help(name, io);
  const url = p.values['redis'];
  if (typeof url !== 'string' || url === '')
    throw new UsageError('--redis needs a server: a redis:// URL or a unix socket path', name);
  let queueName = '';
  if (name !== 'ls') {
    if (p.positionals.length !== 1)
      throw new UsageError(p.positionals.length === 0 ? 'missing queue NAME' : `${name} takes exactly one NAME`, name);
    queueName = checkName(p.positionals[0] as string, name);
  }
  let max = 10;
  if (name === 'peek') {
    const countText = (p.values['count'] as string | undefined) ?? '10';
    if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 100_000)
      throw new UsageError(`-n must be a whole number from 1 to 100000. Received '${countText}'`, 'peek');
    max = Number(countText);
  }
  const json = p.values['json'] === true;
  let redis: typeof import('../redis/index.js');
  try {
    redis = await import('../redis/index.js');
  } catch (error) {
    io.err(`shm-queue ${name}: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  try {
    if (name === 'ls') return await ls(redis, url, p.positionals, json, io);
    if (name === 'stat') return await stat(redis, url, queueName, json, io);
    return await peek(redis, url, queueName, max, json, io);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_QUEUE_NOT_FOUND') io.err(`shm-queue ${name}: no queue '${queueName}' on ${shown(url)}`);
    else io.err(`shm-queue ${name}: ${shown(url)}: ${describeFailure(e)}`);
    return EXIT_FAILURE;
  }
}

type RedisModule = typeof import('../redis/index.js');

async function ls(redis: RedisModule, url: string, patterns: string[], json: boolean, io: CliIO): Promise<number> {
  const list = await redis.RedisQueue.list({ redis: url, filter: matcher(patterns) });
  if (json) {
    io.out(JSON.stringify(list, null, 2));
    return EXIT_OK;
  }
  if (list.length === 0) {
    io.err(patterns.length > 0 ? 'no queue matches' : `no queues on ${shown(url)}`);
    return EXIT_OK;
  }
  const now = io.now();
  const rows = list.map((s) => [
    s.name,
    String(s.messages),
    String(s.pending),
    String(s.deadLetters),
    s.maxsize === 0 ? '-' : String(s.maxsize),
    s.codec,
    s.joinable ? `joinable (${s.unfinishedTasks})` : 'queue',
    String(s.consumers),
    formatDuration(now - s.createdAt),
    statusOf(s),
  ]);
  io.out(
    table(['NAME', 'MSGS', 'PENDING', 'DEAD', 'MAXSIZE', 'CODEC', 'KIND', 'CONSUMERS', 'AGE', 'STATUS'], rows, [
      'left',
      'right',
      'right',
      'right',
      'right',
      'left',
      'left',
      'right',
      'right',
      'left',
    ]),
  );
  return EXIT_OK;
}

async function stat(redis: RedisModule, url: string, name: string, json: boolean, io: CliIO): Promise<number> {
  const s = await redis.RedisQueue.inspect(name, { redis: url });
  if (json) {
    io.out(JSON.stringify(s, null, 2));
    return EXIT_OK;
  }
  const rows: [string, string][] = [
    ['queue', s.name],
    ['server', shown(url)],
    ['kind', s.joinable ? `RedisJoinableQueue (${plural(s.unfinishedTasks, 'unfinished task')})` : 'RedisQueue'],
    ['codec', s.codec],
    ['messages', `${s.messages} waiting${s.maxsize > 0 ? ` of maxsize ${s.maxsize}` : ' (no maxsize)'}`],
    ['pending', `${s.pending} delivered, not yet acknowledged`],
    ['dead letters', `${s.deadLetters} (stream {shmq:${s.name}}:dead)`],
    ['consumers', String(s.consumers)],
    ['puts / gets', `${s.puts} / ${s.gets}`],
    ['visibility', `${formatDuration(s.visibilityTimeout)} (max deliveries: ${s.maxDeliveries || 'unlimited'})`],
    ['max message', formatBytes(s.maxMessageSize)],
    ['shutdown', s.shutdown],
    ['created', time(s.createdAt, io.now())],
    ['format', `version ${s.formatVersion}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  io.out(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  return EXIT_OK;
}

async function peek(
  redis: RedisModule,
  url: string,
  name: string,
  max: number,
  json: boolean,
  io: CliIO,
): Promise<number> {
  const r = await redis.RedisQueue.peek(name, { redis: url, max });
  if (json) {
    const messages = r.messages.map((m, i) => ({
      index: i + 1,
      id: m.id,
      size: m.size,
      decoded: m.decoded,
      ...(m.decoded ? { ...jsonValue(m.value), inspect: valuePreview(m.value) } : {}),
      ...(m.error ? { decodeError: m.error.message } : {}),
      base64: m.bytes.toString('base64'),
    }));
    io.out(JSON.stringify({ name: r.name, codec: r.codec, total: r.total, messages }, null, 2));
    return EXIT_OK;
  }
  io.out(
    `queue '${r.name}', codec ${r.codec}: ${
      r.messages.length === 0
        ? 'empty'
        : `the first ${r.messages.length} of ${plural(r.total, 'message')} waiting, oldest first (nothing was removed)`
    }`,
  );
  const rows = r.messages.map((m, i) => [
    `#${i + 1}`,
    m.id,
    formatBytes(m.size),
    m.error
      ? `undecodable (${m.error.message}): ${bytesPreview(m.bytes)}`
      : !m.decoded || Buffer.isBuffer(m.value)
        ? bytesPreview(m.bytes)
        : valuePreview(m.value),
  ]);
  if (rows.length > 0) io.out(table(['#', 'ID', 'SIZE', 'MESSAGE'], rows, ['right', 'left', 'right', 'left']));
  return EXIT_OK;
}
