// Messages given back (nack(), or a late delivery a get no longer wanted) are pending in the
// consumer group until another take claims them, yet they wait for a consumer like any message
// not delivered yet: qsize/empty/full, stats, peek, maxsize and an immediate shutdown must count
// them so. Every step runs in a process of its own.
import { beforeAll, expect, it } from 'vitest';
import { RedisJoinableQueue, RedisQueue } from '../dist/redis/index.js';
import { lineReader, okJson, uniqueName } from './helpers.js';
import { describeRedis, redisForFile, runRedisNode, spawnRedisNode } from './redis-server.js';

describeRedis('messages given back count as waiting', () => {
  const server = redisForFile();
  let redis: string;
  beforeAll(() => {
    redis = server.url;
  });

  /** qsize, empty, full and stats of queue `name`, read by another process. */
  async function sizes(name: string): Promise<Record<string, unknown>> {
    const r = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const s = await q.stats();
       console.log(JSON.stringify({ qsize: await q.qsize(), empty: await q.empty(), full: await q.full(),
         messages: s.messages, pending: s.pending }));
       await q.close();`,
      { name, redis },
    );
    return okJson(r) as Record<string, unknown>;
  }

  it('a nacked message counts in qsize, empty, full, stats and peek until another consumer takes it', async () => {
    const name = uniqueName('r-back');
    const q = await RedisQueue.create(name, { redis, maxsize: 3 });
    await q.putMany(['a', 'b', 'c']);
    // A consumer takes 'a' in manual mode and keeps it while the others look...
    const holder = spawnRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const m = await q.get({ ack: 'manual', timeout: 2000 });
       console.log(JSON.stringify({ held: m.value }));
       for await (const _ of process.stdin) break;
       console.log(JSON.stringify({ nacked: await m.nack() }));
       await q.close();`,
      { name, redis },
    );
    const next = lineReader(holder);
    expect(await next()).toEqual({ held: 'a' });
    expect(await sizes(name)).toEqual({ qsize: 2, empty: false, full: false, messages: 2, pending: 1 });
    // ... then gives it back: it waits again, and fills the queue to its maxsize.
    holder.stdin?.write('nack\n');
    expect(await next()).toEqual({ nacked: true });
    expect(await sizes(name)).toEqual({ qsize: 3, empty: false, full: true, messages: 3, pending: 0 });
    const refused = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       let code; try { await q.putNowait('d'); } catch (e) { code = e.code; }
       const peek = await RedisQueue.peek(ARGS.name, { redis: ARGS.redis, max: 10 });
       console.log(JSON.stringify({ code, peek: peek.messages.map((m) => m.value) }));
       await q.close();`,
      { name, redis },
    );
    // The given-back message is the next one a consumer gets: peek lists it first.
    expect(okJson(refused)).toEqual({ code: 'ERR_QUEUE_FULL', peek: ['a', 'b', 'c'] });
    const taker = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const m = await q.get({ ack: 'manual', timeout: 2000 });
       console.log(JSON.stringify([m.value, m.deliveries, await q.qsize()]));
       await m.ack();
       await q.close();`,
      { name, redis },
    );
    expect(okJson(taker)).toEqual(['a', 2, 2]);
    expect(await sizes(name)).toEqual({ qsize: 2, empty: false, full: false, messages: 2, pending: 0 });
    expect(server.cli('EXISTS', `{shmq:${name}}:back`).trim()).toBe('0');
    await q.close();
    await RedisQueue.unlink(name, { redis });
  });

  it('an immediate shutdown discards given-back messages too, and counts them done for join', async () => {
    const name = uniqueName('r-back-shut');
    const q = await RedisJoinableQueue.create(name, { redis });
    await q.putMany(['a', 'b']);
    const nacker = await runRedisNode(
      `const q = await RedisJoinableQueue.open(ARGS.name, { redis: ARGS.redis });
       const m = await q.get({ ack: 'manual' });
       console.log(JSON.stringify({ value: m.value, nacked: await m.nack() }));
       await q.close();`,
      { name, redis },
    );
    expect(okJson(nacker)).toEqual({ value: 'a', nacked: true });
    await q.shutdown({ immediate: true });
    const after = await runRedisNode(
      `const q = await RedisJoinableQueue.open(ARGS.name, { redis: ARGS.redis });
       let code; try { await q.get({ timeout: 1000 }); } catch (e) { code = e.code; }
       console.log(JSON.stringify({ code, qsize: await q.qsize(), unfinished: await q.unfinishedTasks() }));
       await q.join();
       await q.close();`,
      { name, redis },
    );
    // Before: the given-back 'a' survived the shutdown and was delivered to the next get.
    expect(okJson(after)).toEqual({ code: 'ERR_QUEUE_SHUTDOWN', qsize: 0, unfinished: 0 });
    expect(server.cli('XLEN', `{shmq:${name}}:s`).trim()).toBe('0');
    await q.close();
    await RedisQueue.unlink(name, { redis });
  });

  it('ids another client added to the given-back set: the counts stay within what is pending, peek and an immediate shutdown skip them', async () => {
    const name = uniqueName('r-back-hostile');
    const q = await RedisQueue.create(name, { redis });
    await q.putMany(['a', 'b']);
    server.cli('SADD', `{shmq:${name}}:back`, 'garbage', '99999999999999999999999-1', '', '1-1');
    const r = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const s = await q.stats();
       const peek = await RedisQueue.peek(ARGS.name, { redis: ARGS.redis });
       const out = { qsize: await q.qsize(), messages: s.messages, pending: s.pending, peek: peek.messages.map((m) => m.value) };
       out.discarded = await q.shutdown({ immediate: true }).then(() => 'ok', (e) => e.code ?? e.message);
       let code; try { await q.get({ timeout: 500 }); } catch (e) { code = e.code; }
       out.after = code;
       console.log(JSON.stringify(out));
       await q.close();`,
      { name, redis },
    );
    expect(okJson(r)).toEqual({
      qsize: 2,
      messages: 2,
      pending: 0,
      peek: ['a', 'b'],
      discarded: 'ok',
      after: 'ERR_QUEUE_SHUTDOWN',
    });
    await q.close();
    await RedisQueue.unlink(name, { redis });
  });
});
