// Redis ACLs a queue may meet: a user that may not PUBLISH (the queue's wake-ups), one limited to
// other keys, one without a command a get needs (XREADGROUP), one without the queue's channel.
// Each refusal is QueuePermissionError (ERR_QUEUE_PERMISSION) naming what to grant, never a bare
// ReplyError, nor QueueCorruptError ("damaged keys") for a command refused inside a script; and a
// refused wake-up leaves no work half done: shutdown, a waiting put and a blocked get still work,
// only slower. Before, shutdown() as a user without PUBLISH shut the queue down and then rejected
// with a ReplyError, and a get without XREADGROUP said the queue's keys were damaged.
import { beforeAll, expect, it } from 'vitest';
import { RedisQueue } from '../src/redis/index.js';
import { collect, okJson, uniqueName } from './helpers.js';
import { describeRedis, redisForFile, runRedisNode, spawnRedisNode } from './redis-server.js';

describeRedis('Redis ACLs', () => {
  const server = redisForFile();
  const as = (username: string): { path: string; username: string; password: string } => ({
    path: server.url,
    username,
    password: 'pw',
  });
  beforeAll(() => {
    server.cli('ACL', 'SETUSER', 'nopublish', 'on', '>pw', '~*', '&*', '+@all', '-publish');
    server.cli('ACL', 'SETUSER', 'otherkeys', 'on', '>pw', '~other:*', '&*', '+@all');
    server.cli('ACL', 'SETUSER', 'noreadgroup', 'on', '>pw', '~*', '&*', '+@all', '-xreadgroup');
    server.cli('ACL', 'SETUSER', 'nochannel', 'on', '>pw', '~*', 'resetchannels', '+@all');
  });

  it('without PUBLISH: shutdown works and ends a get blocked in another process; a waiting put resumes', async () => {
    const name = uniqueName('r-acl-pub');
    const q = await RedisQueue.create(name, { redis: server.url, codec: 'json', maxsize: 1 });
    await q.put({ first: 1 });
    // A put waiting for room, as that user: no 'room' message can reach it, it looks again by itself.
    const putter = spawnRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       console.log(JSON.stringify({ waiting: true }));
       const t0 = performance.now();
       await q.put({ second: 2 }, { timeout: 10000 });
       console.log(JSON.stringify({ put: true, ms: performance.now() - t0 }));
       await q.close();`,
      { name, redis: as('nopublish') },
    );
    const putDone = collect(putter, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await q.get({ timeout: 1000 })).toEqual({ first: 1 });
    const put = okJson(await putDone) as { put: boolean; ms: number };
    expect(put.put).toBe(true);
    expect(await q.get({ timeout: 2000 })).toEqual({ second: 2 });

    // A get blocked in one process, shutdown() in another, both as that user.
    const getter = spawnRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const t0 = performance.now();
       const r = await q.get().then((v) => ({ value: v }), (e) => ({ code: e.code }));
       console.log(JSON.stringify({ ...r, ms: performance.now() - t0 }));
       await q.close();`,
      { name, redis: as('nopublish') },
    );
    const gotten = collect(getter, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const shut = okJson(
      await runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const r = await q.shutdown().then(() => ({ ok: true }), (e) => ({ code: e.code ?? e.name, message: e.message }));
         await q.close();
         console.log(JSON.stringify(r));`,
        { name, redis: as('nopublish') },
      ),
    );
    expect(shut).toEqual({ ok: true });
    const g = okJson(await gotten) as { code: string; ms: number };
    expect(g.code).toBe('ERR_QUEUE_SHUTDOWN');
    expect(await q.isShutdown()).toBe(true);
    await q.close();
    await RedisQueue.unlink(name, { redis: server.url });
  });

  it('a refused key, command or channel is ERR_QUEUE_PERMISSION saying what to grant', async () => {
    const name = uniqueName('r-acl');
    await (await RedisQueue.create(name, { redis: server.url, codec: 'json' })).close();
    const r = okJson(
      await runRedisNode(
        `const out = {};
         const describe = (e) => ({ name: e.constructor.name, code: e.code ?? null, cause: e.cause?.name ?? null, message: e.message });
         out.otherkeys = await RedisQueue.open(ARGS.name, { redis: ARGS.otherkeys }).then(() => ({ ok: true }), describe);
         const q = await RedisQueue.open(ARGS.name, { redis: ARGS.noreadgroup });
         out.noreadgroup = await q.get({ timeout: 200 }).then(() => ({ ok: true }), describe);
         await q.close();
         const c = await RedisQueue.open(ARGS.name, { redis: ARGS.nochannel });
         await c.put({ fits: true }); // no channel needed
         out.nochannelGet = await c.get({ timeout: 200 }).then((v) => ({ value: v }), describe);
         out.nochannelWait = await c.get({ timeout: 200 }).then(() => ({ ok: true }), describe);
         await c.close();
         console.log(JSON.stringify(out));`,
        { name, otherkeys: as('otherkeys'), noreadgroup: as('noreadgroup'), nochannel: as('nochannel') },
      ),
    ) as Record<string, { name?: string; code?: string; cause?: string; message?: string; value?: unknown }>;
    for (const what of ['otherkeys', 'noreadgroup', 'nochannelWait']) {
      expect(r[what], what).toMatchObject({
        name: 'QueuePermissionError',
        code: 'ERR_QUEUE_PERMISSION',
        cause: 'ReplyError',
      });
      expect(r[what]?.message, what).toContain(`{shmq:${name}}`);
    }
    expect(r['nochannelGet']).toEqual({ value: { fits: true } });
    await RedisQueue.unlink(name, { redis: server.url });
  });
});
