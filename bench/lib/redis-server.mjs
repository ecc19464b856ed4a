// The one local redis-server every Redis scenario (R1-R4) of a bench run shares: started by the
// orchestrator on a unix socket in the run's temp dir (no persistence, noeviction), flushed after
// each case run, stopped at the end (also on ^C). It never touches another server.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';

/** { ok, version } or { ok: false, reason }. */
export function redisServerInfo() {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: 'redis-server is not installed (apt-get install redis-server)' };
  return { ok: true, version: r.stdout.trim().split(' v=')[1]?.split(' ')[0] ?? r.stdout.trim() };
}

function ping(path) {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts the server in `dir`; resolves with { path, pid, flush(), stop() }. */
export async function startRedisServer(dir) {
  const path = join(dir, 'redis.sock');
  const proc = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      path,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--loglevel',
      'warning',
    ],
    { stdio: 'ignore' },
  );
  const until = Date.now() + 10_000;
  while (!(await ping(path))) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error('the bench redis-server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    path,
    /** The server's pid (the bench reads its CPU time from /proc). */
    pid: proc.pid,
    flush: () => execFileSync('redis-cli', ['-s', path, 'FLUSHALL'], { stdio: 'ignore' }),
    stop: () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}
