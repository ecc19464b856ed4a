// The server killed (SIGKILL) and restarted mid-run, under a producer and a consumer process:
// operations reject with the client's error while it is down, the queue works again once it is
// back, and nothing is lost or duplicated silently (the server runs with appendfsync always, so
// everything it acknowledged survives the kill).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisQueue } from '../src/redis/index.js';
import { okJson, uniqueName } from './helpers.js';
import { describeRedis, type RedisServer, runRedisNode, startRedis } from './redis-server.js';

describeRedis('RedisQueue when the server dies and comes back', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ aof: true });
  });
  afterAll(() => server?.stop());

  it('clean errors while it is down, work again after it returns; every acknowledged put is received exactly once', async () => {
    const name = uniqueName('r-restart');
    const redis = server.url;
    const q = await RedisQueue.create(name, { redis, visibilityTimeout: 1000 });
    const producer = runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const ok = [], failed = [], errors = new Set();
       let okAfterError = 0;
       const started = Date.now();
       for (let seq = 0; okAfterError < 300 && Date.now() - started < 20000; seq++) {
         try {
           await q.put({ seq });
           ok.push(seq);
           if (failed.length > 0) okAfterError++;
         } catch (e) {
           failed.push(seq);
           errors.add(e.constructor.name + ': ' + e.message);
           await sleep(50);
         }
         if (seq % 20 === 0) await sleep(5);
       }
       console.log(JSON.stringify({ ok, failed, errors: [...errors] }));
       await q.close();`,
      { name, redis },
      40_000,
    );
    const consumer = runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const got = [], errors = new Set();
       for (;;) {
         try {
           const vs = got.length % 2 ? await q.getMany(16) : [await q.get()];
           for (const v of vs) got.push(v.seq);
         } catch (e) {
           if (e.code === 'ERR_QUEUE_SHUTDOWN') break;
           errors.add(e.constructor.name + ': ' + e.message);
           await sleep(50);
         }
       }
       console.log(JSON.stringify({ got, errors: [...errors] }));
       await q.close();`,
      { name, redis },
      40_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 700));
    await server.restart();
    const p = okJson(await producer) as { ok: number[]; failed: number[]; errors: string[] };
    // Messages whose delivery was cut by the crash come back after the visibility timeout.
    await expect
      .poll(
        async () => {
          const s = await q.stats();
          return s.messages + s.pending;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(0);
    await q.shutdown();
    const c = okJson(await consumer) as { got: number[]; errors: string[] };
    expect(p.errors.length).toBeGreaterThan(0);
    expect(c.errors.length).toBeGreaterThan(0);
    for (const e of [...p.errors, ...c.errors]) expect(e).toMatch(/^\w+: \S/);
    const got = new Map<number, number>();
    for (const seq of c.got) got.set(seq, (got.get(seq) ?? 0) + 1);
    expect([...got.values()].every((n) => n === 1)).toBe(true); // no duplicates
    for (const seq of p.ok) expect(got.get(seq), `acknowledged put ${seq}`).toBe(1);
    const known = new Set([...p.ok, ...p.failed]);
    for (const seq of c.got) expect(known.has(seq)).toBe(true);
    expect(p.ok.length).toBeGreaterThan(300);
    await q.close();
  });
});
