// A Redis server out of memory (`maxmemory` reached, `noeviction`, as docs/redis.md asks for) is a
// full queue to a put: putNowait and timed puts reject with QueueFullError (ERR_QUEUE_FULL) saying
// so, and a waiting put goes in once another process's gets free memory. Everything that lets
// consumers drain and users repair still runs: gets, taskDone, shutdown, unlink. A putMany is
// refused whole or put whole per script call, so the counters stay exact. Before, puts rejected
// with a bare ioredis ReplyError and shutdown() was refused.
import { describe, expect, it } from 'vitest';
import { serverFacts } from '../src/redis/client.js';
import { RedisJoinableQueue, RedisQueue } from '../src/redis/index.js';
import { collect, okJson, uniqueName } from './helpers.js';
import { describeRedis, redisForFile, runRedisNode, spawnRedisNode } from './redis-server.js';

const FILL = `
const q = await RedisJoinableQueue.open(ARGS.name, { redis: ARGS.redis });
const big = Buffer.alloc(10000, 7);
let put = 0;
let full;
for (;;) {
  try { await q.putMany([big, big, big], { timeout: 300 }); put += 3; }
  catch (e) { full = { code: e.code, putCount: e.putCount, message: e.message }; break; }
}
let nowait;
try { await q.putNowait(big); nowait = { ok: true }; } catch (e) { nowait = { code: e.code, message: e.message }; }
await q.close();
console.log(JSON.stringify({ put, full, nowait }));
`;

describeRedis('a Redis server out of memory (maxmemory, noeviction)', () => {
  const server = redisForFile();

  it('puts fail or wait as for a full queue; gets, taskDone, shutdown and unlink still work; the counters stay exact', async () => {
    const redis = server.url;
    const name = uniqueName('r-oom');
    const q = await RedisJoinableQueue.create(name, { redis, codec: 'raw' });
    const used = Number(/used_memory:(\d+)/.exec(server.cli('INFO', 'memory'))?.[1]);
    server.cli('CONFIG', 'SET', 'maxmemory', String(used + 2_000_000));
    try {
      const fill = okJson(await runRedisNode(FILL, { name, redis })) as {
        put: number;
        full: { code: string; putCount: number; message: string };
        nowait: { code?: string; message?: string };
      };
      expect(fill.put).toBeGreaterThan(30);
      expect(fill.full).toMatchObject({ code: 'ERR_QUEUE_FULL', putCount: 0 });
      expect(fill.full.message).toContain('out of memory');
      expect(fill.nowait).toMatchObject({ code: 'ERR_QUEUE_FULL' });
      expect(fill.nowait.message).toContain('out of memory');
      // Whole batches or nothing: every counter agrees with what the producer was told.
      expect(await q.stats()).toMatchObject({ messages: fill.put, puts: fill.put, unfinishedTasks: fill.put });

      // A put that waits goes in once another process's gets free memory.
      const waiter = spawnRedisNode(
        `const q = await RedisJoinableQueue.open(ARGS.name, { redis: ARGS.redis });
         const t0 = performance.now();
         console.log('waiting');
         const r = await q.put(Buffer.alloc(10000, 8), { timeout: 20000 }).then(() => ({ ok: true }), (e) => ({ code: e.code }));
         await q.close();
         console.log(JSON.stringify({ ...r, ms: performance.now() - t0 }));`,
        { name, redis },
      );
      const waited = collect(waiter, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 600));
      const drained = okJson(
        await runRedisNode(
          `const q = await RedisJoinableQueue.open(ARGS.name, { redis: ARGS.redis });
           let got = 0;
           for (let i = 0; i < 30; i++) { const v = await q.get({ timeout: 1000 }); if (v.length === 10000) got++; await q.taskDone(); }
           await q.close();
           console.log(JSON.stringify({ got }));`,
          { name, redis },
        ),
      );
      expect(drained).toEqual({ got: 30 });
      const done = await waited;
      const w = done.stdout.trim().split('\n');
      expect(w[0], done.stderr).toBe('waiting');
      const result = JSON.parse(w[1] as string) as { ok?: true; code?: string; ms: number };
      expect(result.ok).toBe(true);
      expect(result.ms).toBeGreaterThanOrEqual(500); // it did wait for the gets
      expect(await q.stats()).toMatchObject({
        messages: fill.put - 30 + 1,
        gets: 30,
        unfinishedTasks: fill.put - 30 + 1,
      });
      // Full again: shutdown and unlink (which frees it all) still run.
      const big = Buffer.alloc(10000, 9);
      for (;;) {
        const error = await q.putNowait(big).catch((e: { code?: string }) => e);
        if (error) {
          expect(error).toMatchObject({ code: 'ERR_QUEUE_FULL' });
          break;
        }
      }
      // A put waiting on the full server learns of the shutdown (the refused script could not tell it).
      const waiting = q.put(big);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await q.shutdown();
      await expect(waiting).rejects.toMatchObject({ code: 'ERR_QUEUE_SHUTDOWN' });
      await expect(q.put(big)).rejects.toMatchObject({ code: 'ERR_QUEUE_SHUTDOWN' });
      await q.close();
      expect(await RedisQueue.unlink(name, { redis })).toBe(true);
    } finally {
      server.cli('CONFIG', 'SET', 'maxmemory', '0');
    }
  });

  it('a server that may evict keys: opening queues warns once per process, with a stable code', async () => {
    const redis = server.url;
    const name = uniqueName('r-evict');
    await (await RedisQueue.create(name, { redis })).close();
    server.cli('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const r = okJson(
        await runRedisNode(
          `const warnings = [];
           process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));
           for (let i = 0; i < 2; i++) await (await RedisQueue.open(ARGS.name, { redis: ARGS.redis })).close();
           await new Promise((resolve) => setImmediate(resolve));
           console.log(JSON.stringify(warnings));`,
          { name, redis },
        ),
      ) as { name: string; code: string; message: string }[];
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ name: 'ShmQueueWarning', code: 'SHMQ_REDIS_EVICTION_POLICY' });
      expect(r[0]?.message).toContain("'allkeys-lru'");
      expect(r[0]?.message).toContain('noeviction');
    } finally {
      server.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    }
    await RedisQueue.unlink(name, { redis });
  });
});

describe('what a queue reads from INFO', () => {
  it('the version and the eviction policy; a missing field is unknown, not a guess', () => {
    expect(serverFacts('# Server\r\nredis_version:7.0.15\r\n# Memory\r\nmaxmemory_policy:noeviction\r\n')).toEqual({
      version: '7.0.15',
      major: 7,
      evictionPolicy: 'noeviction',
    });
    // A 6.2 server is refused at open (QueueIncompatibleError) instead of failing on the scripts' shebang.
    expect(serverFacts('redis_version:6.2.14\r\nmaxmemory_policy:allkeys-lru\r\n')).toMatchObject({
      major: 6,
      evictionPolicy: 'allkeys-lru',
    });
    expect(serverFacts('')).toEqual({ version: '', major: 0, evictionPolicy: null });
  });
});
