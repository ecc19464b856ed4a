// Private redis-server processes for the Redis tests: unix sockets (or free loopback ports for a
// Cluster) in temp dirs, stopped after the file's tests (afterAll) and, should the test process
// die first, by an exit hook. The tests never connect to any other server.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type ChildResult, collect } from './helpers.js';

/** file:// URLs of the built entries, for child processes. */
export const DIST = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
export const DIST_REDIS = pathToFileURL(fileURLToPath(new URL('../dist/redis/index.js', import.meta.url))).href;

/** Whether redis-server is installed here. */
export const REDIS_AVAILABLE = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
/** With SHM_QUEUE_REQUIRE_REDIS=1 (set by .ci/run) a missing redis-server fails the Redis tests. */
export const REDIS_REQUIRED = process.env['SHM_QUEUE_REQUIRE_REDIS'] === '1';

/**
 * `describe` for tests that need redis-server: skipped when it is missing (test/redis-global-setup.ts
 * prints one line saying how to enable them), a failure when SHM_QUEUE_REQUIRE_REDIS=1.
 */
export function describeRedis(name: string, fn: () => void): void {
  if (REDIS_AVAILABLE) describe(name, fn);
  else if (REDIS_REQUIRED) {
    describe(name, () => {
      it('needs redis-server', () => {
        throw new Error('SHM_QUEUE_REQUIRE_REDIS=1 but redis-server is not installed: apt-get install -y redis-server');
      });
    });
  } else describe.skip(name, fn);
}

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
});

function stopProcess(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  running.delete(p);
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill(signal);
  });
}

/** Resolves once the server answers PING on `target` (a socket path or a port). */
async function waitForPing(target: string | number, proc: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}):\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s =
        typeof target === 'string' ? createConnection(target) : createConnection({ port: target, host: '127.0.0.1' });
      s.setTimeout(500);
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not answer on ${target}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function launch(args: string[], cwd: string): { proc: ChildProcess; log: () => string } {
  const proc = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d) => (out += d.toString()));
  proc.stderr?.on('data', (d) => (out += d.toString()));
  running.add(proc);
  return { proc, log: () => out };
}

const BASE_ARGS = ['--save', '', '--protected-mode', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'];

/** A private standalone server on a unix socket. */
export interface RedisServer {
  /** What the `redis` option takes: the socket path. */
  url: string;
  dir: string;
  /** The server's process id (for SIGSTOP / SIGCONT). */
  readonly pid: number;
  /** Kills it (SIGKILL by default) without cleaning up. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same socket and data dir (AOF, if enabled, is reloaded). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Runs redis-cli against it. */
  cli(...args: string[]): string;
}

/**
 * The private redis-server of the `describe` block it is called in: started before its tests
 * (beforeAll) and stopped after them (afterAll, also when a test failed). The object it returns
 * stands for the server from the first test on; reading it before the server started throws.
 */
export function redisForFile(options: { aof?: boolean } = {}): RedisServer {
  let started: RedisServer | undefined;
  beforeAll(async () => {
    started = await startRedis(options);
  });
  afterAll(() => started?.stop());
  const live = (): RedisServer => {
    if (started === undefined) throw new Error('the redis-server of this file is used before its beforeAll started it');
    return started;
  };
  return {
    get url() {
      return live().url;
    },
    get dir() {
      return live().dir;
    },
    get pid() {
      return live().pid;
    },
    kill: (signal) => live().kill(signal),
    restart: () => live().restart(),
    stop: () => live().stop(),
    cli: (...args) => live().cli(...args),
  };
}

export async function startRedis(options: { aof?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'shmq-redis-'));
  dirs.add(dir);
  const sock = join(dir, 'redis.sock');
  const args = [
    '--port',
    '0',
    '--unixsocket',
    sock,
    '--unixsocketperm',
    '700',
    '--dir',
    dir,
    ...BASE_ARGS,
    '--appendonly',
    options.aof ? 'yes' : 'no',
    ...(options.aof ? ['--appendfsync', 'always'] : []),
  ];
  let current = launch(args, dir);
  await waitForPing(sock, current.proc, current.log);
  return {
    url: sock,
    dir,
    get pid() {
      return current.proc.pid as number;
    },
    kill: (signal = 'SIGKILL') => stopProcess(current.proc, signal),
    restart: async () => {
      current = launch(args, dir);
      await waitForPing(sock, current.proc, current.log);
    },
    stop: () => stopProcess(current.proc),
    cli: (...a: string[]) => execFileSync('redis-cli', ['-s', sock, ...a], { encoding: 'utf8' }),
  };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (+10000) is free as well. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
}

/** A private Redis Cluster of three masters on loopback ports. */
export interface RedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
  cli(port: number, ...args: string[]): string;
}

export async function startCluster(): Promise<RedisCluster> {
  const taken = new Set<number>();
  const procs: ChildProcess[] = [];
  const nodes: { host: string; port: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeClusterPort(taken);
    const dir = mkdtempSync(join(tmpdir(), `shmq-cluster-${port}-`));
    dirs.add(dir);
    const { proc, log } = launch(
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--appendonly',
        'no',
        ...BASE_ARGS,
      ],
      dir,
    );
    await waitForPing(port, proc, log);
    procs.push(proc);
    nodes.push({ host: '127.0.0.1', port });
  }
  const cli = (port: number, ...a: string[]): string =>
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...a], { encoding: 'utf8' });
  execFileSync(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const until = Date.now() + 15_000;
  while (!nodes.every((n) => cli(n.port, 'cluster', 'info').includes('cluster_state:ok'))) {
    if (Date.now() > until) throw new Error('the local Redis Cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { nodes, stop: async () => void (await Promise.all(procs.map((p) => stopProcess(p)))), cli };
}

/**
 * Runs `code` as an ES module in a separate `node` process with `shm` (the main entry), `Queue`,
 * `JoinableQueue`, `RedisQueue`, `RedisJoinableQueue`, `ARGS` (JSON) and `sleep(ms)` in scope.
 */
export function spawnRedisNode(code: string, args: unknown = null): ChildProcess {
  const source = `import * as shm from ${JSON.stringify(DIST)};
import * as rq from ${JSON.stringify(DIST_REDIS)};
const { Queue, JoinableQueue } = shm;
const { RedisQueue, RedisJoinableQueue } = rq;
const ARGS = ${JSON.stringify(args)};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
${code}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['pipe', 'pipe', 'pipe'] });
  void collect(child, 2 ** 31 - 1); // records its output and end from now on (see helpers.ts)
  return child;
}

/** {@link spawnRedisNode} to completion (killed after `timeoutMs`). */
export function runRedisNode(code: string, args: unknown = null, timeoutMs = 30_000): Promise<ChildResult> {
  return collect(spawnRedisNode(code, args), timeoutMs);
}
