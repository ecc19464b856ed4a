// The backends the conformance suite runs against. Each gives child processes the same few
// functions, so that one test body (plain JavaScript run in separate `node` processes) exercises
// the shared async interface on either backend:
//   await create(name, options) / open(name, options)              -> AsyncQueue
//   await createJoinable(name, options) / openJoinable(name, options) -> AsyncJoinableQueue
//   TOO_SMALL: create options under which a 2000-byte message is too large
import { type ChildProcess, spawn } from 'node:child_process';
import { type ChildResult, collect } from '../helpers.js';
import { DIST, DIST_REDIS, REDIS_AVAILABLE, REDIS_REQUIRED, type RedisServer, startRedis } from '../redis-server.js';

export interface Backend {
  id: 'shm' | 'redis';
  /** false: the backend's tests are skipped (redis-server missing and not required). */
  available: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Source defining create/open/createJoinable/openJoinable/TOO_SMALL in a child. */
  preamble(): string;
}

const common = `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const codeOf = async (fn) => { try { await fn(); return 'resolved'; } catch (e) { return typeof e.code === 'string' ? e.code : e.name; } };
`;

export const shmBackend: Backend = {
  id: 'shm',
  available: true,
  start: async () => {},
  stop: async () => {},
  preamble: () => `import * as shm from ${JSON.stringify(DIST)};
const create = async (name, o = {}) => shm.Queue.create(name, o);
const open = async (name, o = {}) => shm.Queue.open(name, o);
const createJoinable = async (name, o = {}) => shm.JoinableQueue.create(name, o);
const openJoinable = async (name, o = {}) => shm.JoinableQueue.open(name, o);
const TOO_SMALL = { capacity: 1024 };
${common}`,
};

let server: RedisServer | null = null;
export const redisBackend: Backend = {
  id: 'redis',
  available: REDIS_AVAILABLE || REDIS_REQUIRED,
  start: async () => {
    server = await startRedis();
  },
  stop: async () => {
    await server?.stop();
    server = null;
  },
  preamble: () => `import * as rq from ${JSON.stringify(DIST_REDIS)};
const REDIS = ${JSON.stringify(server?.url)};
const create = (name, o = {}) => rq.RedisQueue.create(name, { ...o, redis: REDIS });
const open = (name, o = {}) => rq.RedisQueue.open(name, { ...o, redis: REDIS });
const createJoinable = (name, o = {}) => rq.RedisJoinableQueue.create(name, { ...o, redis: REDIS });
const openJoinable = (name, o = {}) => rq.RedisJoinableQueue.open(name, { ...o, redis: REDIS });
const TOO_SMALL = { maxMessageSize: 1016 };
${common}`,
};

/** Spawns `code` in a child `node` process with the backend's preamble and `ARGS`. */
export function spawnOn(backend: Backend, code: string, args: unknown = null): ChildProcess {
  const source = `${backend.preamble()}\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['pipe', 'pipe', 'pipe'] });
  void collect(child, 2 ** 31 - 1); // records its output from now on
  return child;
}

/** Runs `code` on the backend to completion; resolves with the last stdout line parsed as JSON. */
export async function runOn(
  backend: Backend,
  code: string,
  args: unknown = null,
  timeoutMs = 30_000,
): Promise<unknown> {
  const r: ChildResult = await collect(spawnOn(backend, code, args), timeoutMs);
  if (r.code !== 0) throw new Error(`child failed (code ${r.code}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string);
}
