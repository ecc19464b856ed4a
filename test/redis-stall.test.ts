// A Redis server that stops answering (SIGSTOP: a debugger, a frozen container, or a network
// that drops packets while the connection still looks open) must not hang anyone. Another process's
// calls end at their own timeout, or at `replyTimeout` when they have none, with
// QueueNoReplyError (ERR_QUEUE_NO_REPLY) saying whether the command may still be carried out;
// an aborted get ends at its abort. Once the server answers again, the same handle works, and
// every message is there exactly once: those put before, and those whose put "may still be
// carried out" (it was). 0.1's Redis backend hung in every one of these calls until SIGCONT.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisJoinableQueue, RedisQueue } from '../src/redis/index.js';
import { okJson, uniqueName } from './helpers.js';
import { describeRedis, type RedisServer, runRedisNode, startRedis } from './redis-server.js';

const REPLY_TIMEOUT = 1500;

/** Runs in another process: opens the queues, stops the server, times every call, resumes it. */
const STALLED_CALLS = `
const opts = { redis: ARGS.redis, replyTimeout: ARGS.replyTimeout };
const q = await RedisQueue.open(ARGS.name, opts);
const jq = await RedisJoinableQueue.open(ARGS.joinable, opts);
await q.qsize(); // connected and the scripts loaded: what follows waits only on the stopped server
await jq.unfinishedTasks();
process.kill(ARGS.pid, 'SIGSTOP');
const t0 = performance.now();
const timed = (p) => p.then(
  (value) => ({ ok: true, value, ms: performance.now() - t0 }),
  (e) => ({ name: e.name, code: e.code ?? null, mayTakeEffect: e.mayTakeEffect ?? null, message: e.message, ms: performance.now() - t0 }),
);
const calls = {
  putTimeout: timed(q.put({ p: 'timed' }, { timeout: 400 })),
  putNowait: timed(q.putNowait({ p: 'nowait' })),
  putForever: timed(q.put({ p: 'forever' })),
  getTimeout: timed(q.get({ timeout: 400 })),
  getNowait: timed(q.getNowait()),
  getManyTimeout: timed(q.getMany(5, { timeout: 400 })),
  getAborted: timed(q.get({ signal: AbortSignal.timeout(300) })),
  getForever: timed(q.get()),
  qsize: timed(q.qsize()),
  stats: timed(q.stats()),
  joinTimeout: timed(jq.join({ timeout: 400 })),
};
const out = {};
for (const [k, p] of Object.entries(calls)) out[k] = await p;
process.kill(ARGS.pid, 'SIGCONT');
// The same handle works again, and gets everything: what was there, and what the stalled puts added.
const received = [];
for (;;) {
  try { received.push(await q.get({ timeout: 1500 })); } catch (e) { out.drainEnd = e.code; break; }
}
out.received = received;
await q.close();
await jq.close();
console.log(JSON.stringify(out));
`;

/** Runs in another process: a get blocked on an empty queue when the server stops. */
const STALLED_BLOCK = `
const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis, replyTimeout: ARGS.replyTimeout });
await q.qsize();
const t0 = performance.now();
const timed = (p) => p.then(
  (value) => ({ ok: true, value, ms: performance.now() - t0 }),
  (e) => ({ code: e.code ?? null, mayTakeEffect: e.mayTakeEffect ?? null, ms: performance.now() - t0 }),
);
const blockedTimeout = timed(q.get({ timeout: 800 }));
await sleep(200); // the get is in its blocking read now
process.kill(ARGS.pid, 'SIGSTOP');
const out = { blockedTimeout: await blockedTimeout };
const t1 = performance.now();
const closed = await q.close().then(() => 'ok', (e) => e.code);
out.close = { result: closed, ms: performance.now() - t1 };
const t2 = performance.now();
out.inspect = await RedisQueue.inspect(ARGS.name, { redis: ARGS.redis, replyTimeout: 500 }).then(
  () => ({ ok: true }), (e) => ({ code: e.code, mayTakeEffect: e.mayTakeEffect, ms: performance.now() - t2 }));
const t3 = performance.now();
out.open = await RedisQueue.open(ARGS.name, { redis: ARGS.redis, replyTimeout: 500 }).then(
  () => ({ ok: true }), (e) => ({ code: e.code, mayTakeEffect: e.mayTakeEffect, ms: performance.now() - t3 }));
process.kill(ARGS.pid, 'SIGCONT');
const again = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
await again.put({ back: 1 });
out.after = await again.get({ timeout: 2000 });
await again.close();
console.log(JSON.stringify(out));
`;

type Outcome = {
  ok?: true;
  value?: unknown;
  name?: string;
  code?: string | null;
  mayTakeEffect?: boolean | null;
  ms: number;
};

describeRedis('a Redis server that stops answering (SIGSTOP)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    if (server) process.kill(server.pid, 'SIGCONT');
    await server?.stop();
  });

  it('every call of another process ends at its timeout or replyTimeout with ERR_QUEUE_NO_REPLY; after SIGCONT every message is there exactly once', async () => {
    const redis = server.url;
    const name = uniqueName('r-stall');
    const joinable = uniqueName('r-stall-j');
    const q = await RedisQueue.create(name, { redis, codec: 'json', maxsize: 100 });
    await q.putMany([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const jq = await RedisJoinableQueue.create(joinable, { redis, codec: 'json' });
    await jq.put({ j: 1 }); // one unfinished task: join() has something to wait for
    const r = okJson(
      await runRedisNode(
        STALLED_CALLS,
        { name, joinable, redis, pid: server.pid, replyTimeout: REPLY_TIMEOUT },
        60_000,
      ),
    ) as Record<string, Outcome> & { received: unknown[]; drainEnd: string };

    const noReply = (o: Outcome, mayTakeEffect: boolean, atLeast: number, atMost: number, what: string): void => {
      expect(o, what).toMatchObject({ name: 'QueueNoReplyError', code: 'ERR_QUEUE_NO_REPLY', mayTakeEffect });
      expect(o.ms, what).toBeGreaterThanOrEqual(atLeast - 5);
      // Slack for a loaded two-core machine; without the bound these waited until SIGCONT.
      expect(o.ms, what).toBeLessThan(atMost + 1000);
    };
    // A call with its own timeout ends at it; a command already sent gets at least 250 ms.
    noReply(r['putTimeout'] as Outcome, true, 400, 400, 'put({ timeout: 400 })');
    noReply(r['getTimeout'] as Outcome, false, 400, 400, 'get({ timeout: 400 })');
    noReply(r['getManyTimeout'] as Outcome, false, 400, 400, 'getMany(5, { timeout: 400 })');
    noReply(r['joinTimeout'] as Outcome, false, 400, 400, 'join({ timeout: 400 })');
    noReply(r['putNowait'] as Outcome, true, 250, 250, 'putNowait()');
    noReply(r['getNowait'] as Outcome, false, 250, 250, 'getNowait()');
    // Calls without a timeout end at replyTimeout.
    noReply(r['putForever'] as Outcome, true, REPLY_TIMEOUT, REPLY_TIMEOUT, 'put()');
    noReply(r['getForever'] as Outcome, false, REPLY_TIMEOUT, REPLY_TIMEOUT, 'get()');
    noReply(r['qsize'] as Outcome, false, REPLY_TIMEOUT, REPLY_TIMEOUT, 'qsize()');
    noReply(r['stats'] as Outcome, false, REPLY_TIMEOUT, REPLY_TIMEOUT, 'stats()');
    // An aborted get ends at its abort, with the signal's reason.
    const aborted = r['getAborted'] as Outcome;
    expect(aborted).toMatchObject({ name: 'TimeoutError' });
    expect(aborted.ms).toBeGreaterThanOrEqual(295);
    expect(aborted.ms).toBeLessThan(300 + 1000);

    // Nothing lost, nothing twice: the gets that gave up gave back what the server handed them
    // later, and the three puts that "may still be carried out" were.
    const key = (v: unknown): string => JSON.stringify(v);
    expect(r.received.map(key).sort()).toEqual(
      [{ i: 0 }, { i: 1 }, { i: 2 }, { p: 'timed' }, { p: 'nowait' }, { p: 'forever' }].map(key).sort(),
    );
    expect(r.drainEnd).toBe('ERR_QUEUE_EMPTY');
    const after = await q.stats();
    expect(after).toMatchObject({ messages: 0, pending: 0 });
    expect(await jq.unfinishedTasks()).toBe(1);
    await q.close();
    await jq.close();
    await RedisQueue.unlink(name, { redis });
    await RedisQueue.unlink(joinable, { redis });
  });

  it('a get blocked when the server stops ends at its timeout; close(), inspect and open end too; the queue works after SIGCONT', async () => {
    const redis = server.url;
    const name = uniqueName('r-stall-block');
    const q = await RedisQueue.create(name, { redis, codec: 'json' });
    const r = okJson(
      await runRedisNode(STALLED_BLOCK, { name, redis, pid: server.pid, replyTimeout: 1000 }, 60_000),
    ) as Record<string, Outcome & { result?: string }>;
    expect(r['blockedTimeout']).toMatchObject({ code: 'ERR_QUEUE_NO_REPLY', mayTakeEffect: false });
    expect(r['blockedTimeout']?.ms).toBeGreaterThanOrEqual(795);
    expect(r['blockedTimeout']?.ms).toBeLessThan(800 + 250 + 1000);
    // close() has one replyTimeout for everything it asks of the server.
    expect(r['close']?.result).toBe('ok');
    expect(r['close']?.ms).toBeLessThan(1000 + 1000);
    expect(r['inspect']).toMatchObject({ code: 'ERR_QUEUE_NO_REPLY', mayTakeEffect: false });
    expect(r['inspect']?.ms).toBeLessThan(500 + 1000);
    expect(r['open']).toMatchObject({ code: 'ERR_QUEUE_NO_REPLY', mayTakeEffect: false });
    expect(r['open']?.ms).toBeLessThan(500 + 1000);
    expect(r['after']).toEqual({ back: 1 });
    expect(await q.stats()).toMatchObject({ messages: 0, pending: 0 });
    await q.close();
    await RedisQueue.unlink(name, { redis });
  });
});
