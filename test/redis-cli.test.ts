// `shm-queue ls|stat|peek --redis URL`: the command on Redis queues, as a user runs it (bin/,
// a separate process), against a private redis-server.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { RedisJoinableQueue, RedisQueue } from '../src/redis/index.js';
import { type ChildResult, collect, uniqueName } from './helpers.js';
import { describeRedis, redisForFile } from './redis-server.js';

const BIN = fileURLToPath(new URL('../bin/shm-queue.js', import.meta.url));
const cli = (...args: string[]): Promise<ChildResult> =>
  collect(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), 20_000);

describeRedis('shm-queue --redis', () => {
  const server = redisForFile();
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = uniqueName('cli-a');
    b = uniqueName('cli-b');
    const qa = await RedisQueue.create(a, { redis: server.url, maxsize: 10, codec: 'json' });
    await qa.putMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await qa.close();
    const qb = await RedisJoinableQueue.create(b, { redis: server.url });
    await qb.put(new Map([[1, 'one']]));
    await qb.shutdown();
    await qb.close();
  });

  it('ls lists the queues on the server, as a table and as JSON', async () => {
    const r = await cli('ls', '--redis', server.url);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MSGS\s+PENDING\s+DEAD\s+MAXSIZE\s+CODEC\s+KIND\s+CONSUMERS\s+AGE\s+STATUS$/);
    expect(lines.find((l) => l.startsWith(a))).toMatch(/\s3\s+0\s+0\s+10\s+json\s+queue\s+0\s.*ok$/);
    expect(lines.find((l) => l.startsWith(b))).toMatch(/joinable \(1\).*\+shutdown \(graceful\)$/);
    const j = await cli('ls', `--redis=${server.url}`, '--json', `${a.slice(0, -2)}*`);
    expect(j.code, j.stderr).toBe(0);
    const list = JSON.parse(j.stdout) as { name: string; messages: number }[];
    expect(list.map((s) => s.name)).toContain(a);
  });

  it('stat shows one queue; peek shows the next messages without taking them', async () => {
    const s = await cli('stat', a, '--redis', server.url);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/^queue\s+\S+$/m);
    expect(s.stdout).toMatch(/^messages\s+3 waiting of maxsize 10$/m);
    expect(s.stdout).toMatch(/^codec\s+json$/m);
    const sj = JSON.parse((await cli('stat', a, '--redis', server.url, '--json')).stdout);
    expect(sj).toMatchObject({ name: a, messages: 3, maxsize: 10, codec: 'json', pending: 0 });
    const p = await cli('peek', a, '-n', '2', '--redis', server.url);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('the first 2 of 3 messages waiting');
    expect(p.stdout).toContain('{ n: 1 }');
    expect(p.stdout).toContain('{ n: 2 }');
    const pj = JSON.parse((await cli('peek', b, '--json', '--redis', server.url)).stdout);
    expect(pj.messages[0]).toMatchObject({ index: 1, decoded: true, value: [[1, 'one']] });
    expect(await RedisQueue.inspect(a, { redis: server.url })).toMatchObject({ messages: 3 });
  });

  it('a missing queue is exit code 1, a bad command line exit code 2, an unreachable server exit code 1', async () => {
    const missing = await cli('stat', uniqueName('cli-none'), '--redis', server.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no queue '.*' on /);
    const usage = await cli('peek', '--redis', server.url);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing queue NAME');
    const noValue = await cli('ls', '--redis');
    expect(noValue.code).toBe(2);
    const down = await cli('ls', '--redis', `${server.dir}/nothing.sock`);
    expect(down.code).toBe(1);
    // Says why, not ioredis' "Reached the max retries per request limit".
    expect(down.stderr).toMatch(
      /^shm-queue ls: .*nothing\.sock: cannot reach the server \(connect ENOENT .*nothing\.sock\)/,
    );
  });
});
