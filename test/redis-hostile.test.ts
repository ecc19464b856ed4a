// Hostile bytes on Redis: another client changes a queue's keys behind its back (a key of another
// type, the consumer group destroyed, a counter that is not a number, an entry that is not a
// message). Each operation of another process on that queue ends at once with a typed error
// (ERR_QUEUE_CORRUPT with the server's reply as cause, ERR_MESSAGE_DECODE for a bad entry), never
// an untyped ReplyError or a hang; other queues on the server are untouched, and unlink + create
// gives a working queue again.
import { beforeAll, expect, it } from 'vitest';
import { RedisQueue } from '../src/redis/index.js';
import { okJson, uniqueName } from './helpers.js';
import { describeRedis, redisForFile, runRedisNode } from './redis-server.js';

/** What another process sees when it runs each operation on the damaged queue. */
const OPERATIONS = `
const out = {};
const describe = (e) => ({ name: e.constructor.name, code: e.code ?? null, cause: e.cause?.name ?? null, message: e.message });
let q;
const opened = Date.now();
try {
  q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis, codec: 'json' });
} catch (e) {
  console.log(JSON.stringify({ open: { ...describe(e), ms: Date.now() - opened } }));
  process.exit(0);
}
const ops = {
  put: () => q.put({ b: 2 }, { timeout: 500 }),
  get: () => q.get({ timeout: 500 }),
  putMany: () => q.putMany([{ c: 3 }], { timeout: 500 }),
  getMany: () => q.getMany(5, { timeout: 500 }),
  qsize: () => q.qsize(),
};
for (const [op, run] of Object.entries(ops)) {
  const t0 = Date.now();
  try {
    await run();
    out[op] = { ok: true };
  } catch (e) {
    out[op] = describe(e);
  }
  out[op].ms = Date.now() - t0;
}
await q.close().catch(() => {});
console.log(JSON.stringify(out));
`;

type Outcome = { ok?: true; name?: string; code?: string | null; cause?: string | null; message?: string; ms: number };

describeRedis('a RedisQueue whose keys another client changed', () => {
  const server = redisForFile();
  let redis: string;
  beforeAll(() => {
    redis = server.url;
  });

  const damages: [string, (tag: string) => void, string[]][] = [
    [
      'the stream replaced by a string',
      (t) => {
        server.cli('DEL', `${t}:s`);
        server.cli('SET', `${t}:s`, 'x');
      },
      [],
    ],
    [
      'the consumer group destroyed',
      (t) => server.cli('XGROUP', 'DESTROY', `${t}:s`, 'g'),
      ['put', 'putMany', 'qsize'],
    ],
    ['maxsize made a word', (t) => server.cli('HSET', `${t}:meta`, 'maxsize', 'lots'), ['get', 'getMany', 'qsize']],
    [
      'the given-back set replaced by a string',
      (t) => server.cli('SET', `${t}:back`, 'x'),
      ['put', 'putMany', 'get', 'getMany'],
    ],
    [
      'the claim cursor made a word',
      (t) => server.cli('HSET', `${t}:meta`, 'claimcur', 'nowhere'),
      ['put', 'putMany', 'qsize'],
    ],
    [
      'the meta hash replaced by a list',
      (t) => {
        server.cli('DEL', `${t}:meta`);
        server.cli('RPUSH', `${t}:meta`, 'x');
      },
      [],
    ],
  ];

  for (const [what, damage, unaffected] of damages) {
    it(`${what}: every operation of another process ends at once with ERR_QUEUE_CORRUPT; unlink + create repairs it`, async () => {
      const name = uniqueName('r-damage');
      const bystander = uniqueName('r-bystander');
      const q = await RedisQueue.create(name, { redis, codec: 'json', maxsize: 100 });
      const other = await RedisQueue.create(bystander, { redis, codec: 'json' });
      await q.put({ a: 1 });
      await other.put({ safe: true });
      await q.close();
      damage(`{shmq:${name}}`);
      const outcomes = okJson(await runRedisNode(OPERATIONS, { name, redis })) as Record<string, Outcome>;
      for (const [op, o] of Object.entries(outcomes)) {
        // An operation that does not touch the damaged part works (or finds the queue empty).
        if (unaffected.includes(op) && (o.ok || o.code === 'ERR_QUEUE_EMPTY')) continue;
        // The damage is reported at once, not waited on until the operation's timeout.
        expect(o.ms, op).toBeLessThan(400);
        expect(o, op).toMatchObject({ name: 'QueueCorruptError', code: 'ERR_QUEUE_CORRUPT', cause: 'ReplyError' });
        expect(o.message, op).toContain(`RedisQueue.unlink('${name}'`);
      }
      // The other queue on the same server is untouched.
      expect(await other.get({ timeout: 1000 })).toEqual({ safe: true });
      await other.close();
      await RedisQueue.unlink(name, { redis });
      const again = await RedisQueue.create(name, { redis, codec: 'json' });
      await again.put({ fresh: 1 });
      expect(await again.get({ timeout: 1000 })).toEqual({ fresh: 1 });
      await again.close();
      await RedisQueue.unlink(name, { redis });
      await RedisQueue.unlink(bystander, { redis });
    });
  }

  it('a stream entry that is not a message is a MessageDecodeError carrying its bytes, and the next message still arrives', async () => {
    const name = uniqueName('r-garbage');
    const q = await RedisQueue.create(name, { redis, codec: 'json' });
    server.cli('XADD', `{shmq:${name}}:s`, '*', 'd', '{not json');
    await q.put({ after: true });
    const r = okJson(
      await runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const out = [];
         for (let i = 0; i < 2; i++) {
           try { out.push({ value: await q.get({ timeout: 1000 }) }); }
           catch (e) { out.push({ code: e.code, bytes: e.bytes?.toString() }); }
         }
         await q.close();
         console.log(JSON.stringify(out));`,
        { name, redis },
      ),
    );
    expect(r).toEqual([{ code: 'ERR_MESSAGE_DECODE', bytes: '{not json' }, { value: { after: true } }]);
    await q.close();
    await RedisQueue.unlink(name, { redis });
  });
});
