// RedisQueue on a real local Redis Cluster of three masters (started by the test on free loopback
// ports): every key of a queue shares the hash tag {shmq:NAME}, so scripts, blocking reads and
// CLIENT UNBLOCK all go to the one master that owns the queue's slot.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisQueue } from '../src/redis/index.js';
import { collect, lineReader, okJson, uniqueName } from './helpers.js';
import { describeRedis, type RedisCluster, runRedisNode, spawnRedisNode, startCluster } from './redis-server.js';

describeRedis('RedisQueue on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('queues on different masters: FIFO across processes, blocking gets, shutdown wake-up, list over every master', async () => {
    const redis = { cluster: cluster.nodes };
    const port = cluster.nodes[0]?.port as number;
    // Names until they cover at least two masters (slots are split in three ranges).
    const names: string[] = [];
    const owners = new Set<string>();
    while (names.length < 2) {
      const name = uniqueName('r-cluster');
      const slot = Number(cluster.cli(port, 'CLUSTER', 'KEYSLOT', `{shmq:${name}}:meta`).trim());
      const owner = slot < 5461 ? 'a' : slot < 10923 ? 'b' : 'c';
      if (owners.has(owner)) continue;
      owners.add(owner);
      names.push(name);
    }
    for (const name of names) {
      const keys = ['meta', 's', 'dead', 'full'].map((k) => `{shmq:${name}}:${k}`);
      const slots = new Set(keys.map((k) => cluster.cli(port, 'CLUSTER', 'KEYSLOT', k).trim()));
      expect(slots.size).toBe(1);
    }
    const queues = await Promise.all(names.map((name) => RedisQueue.create(name, { redis, maxsize: 50 })));
    const consumers = names.map((name) =>
      spawnRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const got = [];
         for await (const v of q) got.push(v);
         console.log(JSON.stringify({ got, at: Date.now() }));
         await q.close();`,
        { name, redis },
      ),
    );
    const producers = names.map((name) =>
      runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         for (let i = 0; i < 1000; i += 50) {
           if (i % 100) await q.putMany(Array.from({ length: 50 }, (_, j) => i + j));
           else for (let j = i; j < i + 50; j++) await q.put(j);
         }
         console.log('1');
         await q.close();`,
        { name, redis },
      ),
    );
    for (const p of await Promise.all(producers)) expect(p.code, p.stderr).toBe(0);
    await expect.poll(async () => Promise.all(queues.map((q) => q.qsize())), { timeout: 10_000 }).toEqual([0, 0]);
    await new Promise((r) => setTimeout(r, 200)); // the consumers are blocked in get() again
    const listed = (await RedisQueue.list({ redis })).map((s) => s.name);
    for (const name of names) expect(listed).toContain(name);
    // Readers first: a consumer woken by the shutdown may print before the next event-loop turn.
    const readers = consumers.map((c) => lineReader(c));
    const shutAt = Date.now();
    await Promise.all(queues.map((q) => q.shutdown()));
    for (const next of readers) {
      const r = (await next()) as { got: number[]; at: number };
      expect(r.got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(r.at - shutAt).toBeLessThan(800); // woken by pub/sub + CLIENT UNBLOCK on the slot's master
    }
    for (const c of consumers) expect((await collect(c)).code).toBe(0);
    for (const q of queues) {
      expect(await q.stats()).toMatchObject({ puts: 1000, gets: 1000, shutdown: 'graceful' });
      await q.close();
    }
    expect(
      okJson(
        await runRedisNode(`console.log(JSON.stringify(await RedisQueue.unlink(ARGS.name, { redis: ARGS.redis })));`, {
          name: names[0],
          redis,
        }),
      ),
    ).toBe(true);
  });
});
