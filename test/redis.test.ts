// Redis-only behaviour, across real processes and a private redis-server: redelivery of messages
// whose consumer died, manual acknowledgement and dead letters, many producers and consumers,
// shutdown wake-ups, inspection. (The API contract shared with shared memory is in
// test/conformance/; the server restart and the Cluster have files of their own.)
import { beforeAll, expect, it } from 'vitest';
import { RedisQueue } from '../src/redis/index.js';
import { ACK_SENT } from '../src/redis/scripts.js';
import { collect, lineReader, okJson, uniqueName } from './helpers.js';
import { describeRedis, redisForFile, runRedisNode, spawnRedisNode } from './redis-server.js';

describeRedis('RedisQueue across processes', () => {
  const server = redisForFile();
  let redis: string;
  beforeAll(() => {
    redis = server.url;
  });

  it('a consumer killed after the server handed it a message: delivered again after the visibility timeout, exactly once', async () => {
    const name = uniqueName('r-kill');
    const q = await RedisQueue.create(name, { redis, visibilityTimeout: 600 });
    // The victim blocks in get(); it is stopped (SIGSTOP) so that the server hands it the message
    // (the blocked XREADGROUP is served on the server side) while it cannot acknowledge it, then killed.
    const victim = spawnRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const v = await q.get();
       console.log(JSON.stringify({ unexpected: v }));`,
      { name, redis },
    );
    // Wait until the victim's read is blocked on the server (CLIENT LIST flags=b), then stop it.
    await expect
      .poll(() => /flags=b\w* .*cmd=xreadgroup/.test(server.cli('CLIENT', 'LIST')), { timeout: 10_000, interval: 10 })
      .toBe(true);
    victim.kill('SIGSTOP');
    const putAt = Date.now();
    await q.put({ job: 42 });
    // Handed out: nothing waits for a consumer, one message is pending for the stopped victim.
    await expect.poll(async () => (await q.stats()).pending, { timeout: 2000 }).toBe(1);
    expect(await q.qsize()).toBe(0);
    victim.kill('SIGKILL');
    await collect(victim);
    const rescuers = [0, 1].map(() =>
      runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const got = [];
         try { for (;;) got.push({ v: await q.get({ timeout: 1800 }), at: Date.now() }); } catch (e) { if (e.code !== 'ERR_QUEUE_EMPTY') throw e; }
         console.log(JSON.stringify(got));
         await q.close();`,
        { name, redis },
      ),
    );
    const results = (await Promise.all(rescuers)).map((r) => okJson(r) as { v: unknown; at: number }[]);
    const all = results.flat();
    expect(all.map((g) => g.v)).toEqual([{ job: 42 }]);
    expect((all[0] as { at: number }).at - putAt).toBeGreaterThanOrEqual(550);
    expect(await q.stats()).toMatchObject({ messages: 0, pending: 0, puts: 1, gets: 1 });
    await q.close();
  });

  it('a consumer SIGKILLed just after its get returned: that message is never delivered again, none is lost', async () => {
    // An auto-mode get sends its acknowledgement without waiting for the reply; the bytes are in
    // the kernel before get returns, so a kill right after get returned must not bring the message
    // back (a deferred acknowledgement, sent with the next take, would). Each victim records every
    // value the moment its get returns (writeSync to a pipe) and kills itself after a random count.
    const name = uniqueName('r-selfkill');
    const N = 1500;
    const q = await RedisQueue.create(name, { redis, visibilityTimeout: 1500 });
    await q.putMany(Array.from({ length: N }, (_, i) => i));
    const victim = `import { writeSync } from 'node:fs';
      const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
      for (let n = 1; ; n++) {
        let v;
        try { v = await q.get({ timeout: 500 }); } catch (e) { if (e.code !== 'ERR_QUEUE_EMPTY') throw e; await q.close(); process.exit(0); }
        writeSync(1, v + '\\n');
        if (n === ARGS.at) process.kill(process.pid, 'SIGKILL');
      }`;
    const seen: number[] = [];
    let kills = 0;
    for (let round = 0; round < 5 && (await q.qsize()) > 0; round++) {
      const victims = [0, 1, 2, 3].map(() =>
        spawnRedisNode(victim, { name, redis, at: 2 + Math.floor(Math.random() * 150) }),
      );
      for (const v of victims) {
        const r = await collect(v);
        // Killed itself, or found the queue empty before its count (the last round).
        expect(r.signal === 'SIGKILL' || r.code === 0, r.stderr).toBe(true);
        if (r.signal === 'SIGKILL') kills++;
        for (const line of r.stdout.split('\n')) if (line !== '') seen.push(Number(line));
      }
    }
    const rest = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const got = [];
       try { for (;;) got.push(await q.get({ timeout: 2500 })); } catch (e) { if (e.code !== 'ERR_QUEUE_EMPTY') throw e; }
       console.log(JSON.stringify(got));
       await q.close();`,
      { name, redis },
      60_000,
    );
    expect(kills).toBeGreaterThanOrEqual(8);
    const all = [...seen, ...(okJson(rest) as number[])].sort((a, b) => a - b);
    expect(all.filter((v, i) => i > 0 && all[i - 1] === v)).toEqual([]);
    expect(all).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(await q.stats()).toMatchObject({ messages: 0, pending: 0, puts: N, gets: N });
    // The victims' gets took the path under test: the sent-acknowledgement script ran on this server.
    expect(server.cli('SCRIPT', 'EXISTS', ACK_SENT.sha).trim()).toBe('1');
    await q.close();
  });

  it('consumers SIGKILLed at random moments: no message is handed to user code twice; at most one is lost per kill', async () => {
    // A kill that lands after the acknowledgement took effect and before get returned loses that
    // one message (auto mode acknowledges before returning: at most once); every other message is
    // delivered exactly once, the ones whose consumer died before acknowledging after the timeout.
    const name = uniqueName('r-sigkill');
    const N = 4000;
    const q = await RedisQueue.create(name, { redis, visibilityTimeout: 1200 });
    await q.putMany(Array.from({ length: N }, (_, i) => i));
    const victim = `import { writeSync } from 'node:fs';
      const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
      for (;;) {
        const v = await q.get();
        writeSync(1, v + '\\n');
        const until = performance.now() + Math.random();
        while (performance.now() < until);
      }`;
    const seen: number[] = [];
    let kills = 0;
    for (let round = 0; round < 10 && (await q.qsize()) > 0; round++) {
      const victims = [0, 1].map(() => spawnRedisNode(victim, { name, redis }));
      await new Promise((r) => setTimeout(r, 350 + Math.random() * 300));
      for (const v of victims) v.kill('SIGKILL');
      for (const v of victims) {
        const r = await collect(v);
        if (r.signal === 'SIGKILL') kills++;
        for (const line of r.stdout.split('\n')) if (line !== '') seen.push(Number(line));
      }
    }
    expect(kills).toBeGreaterThanOrEqual(4);
    const rest = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const got = [];
       try { for (;;) got.push(await q.get({ timeout: 2500 })); } catch (e) { if (e.code !== 'ERR_QUEUE_EMPTY') throw e; }
       console.log(JSON.stringify(got));
       await q.close();`,
      { name, redis },
      60_000,
    );
    const all = [...seen, ...(okJson(rest) as number[])].sort((a, b) => a - b);
    expect(all.filter((v, i) => i > 0 && all[i - 1] === v)).toEqual([]);
    const got = new Set(all);
    const lost = Array.from({ length: N }, (_, i) => i).filter((i) => !got.has(i));
    expect(lost.length).toBeLessThanOrEqual(kills);
    expect(await q.stats()).toMatchObject({ messages: 0, pending: 0, puts: N, gets: N });
    await q.close();
  });

  it('manual ack: ack() removes, nack() redelivers with a delivery count, an unacked message of a killed consumer returns, and after maxDeliveries it is dead-lettered', async () => {
    const name = uniqueName('r-manual');
    const q = await RedisQueue.create(name, { redis, visibilityTimeout: 400, maxDeliveries: 3 });
    await q.putMany(['keep', 'poison']);
    const first = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const a = await q.get({ ack: 'manual' });
       const b = await q.get({ ack: 'manual' });
       const nacked = await b.nack();
       const again = await q.get({ ack: 'manual', timeout: 3000 });
       console.log(JSON.stringify({ a: [a.value, a.deliveries], again: [again.value, again.deliveries], nacked,
         acked: await a.ack(), twice: await a.ack(), stats: await q.stats() }));
       process.exit(0); // 'again' (poison) is neither acked nor nacked: it stays pending for this dead consumer`,
      { name, redis },
    );
    const r = okJson(first) as { stats: { pending: number; gets: number } };
    expect(r).toMatchObject({ a: ['keep', 1], again: ['poison', 2], nacked: true, acked: true, twice: true });
    expect(r.stats).toMatchObject({ pending: 1, gets: 1, messages: 0 });
    // Another process receives the poison message again once the visibility timeout passed...
    const second = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const m = await q.get({ ack: 'manual', timeout: 3000 });
       console.log(JSON.stringify([m.value, m.deliveries]));
       process.exit(0);`,
      { name, redis },
    );
    expect(okJson(second)).toEqual(['poison', 3]);
    // ... and after its third delivery lapses it goes to the dead-letter stream instead.
    const third = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       let code; try { await q.get({ timeout: 1500 }); } catch (e) { code = e.code; }
       console.log(JSON.stringify({ code, stats: await q.stats() }));
       await q.close();`,
      { name, redis },
    );
    expect(okJson(third)).toMatchObject({
      code: 'ERR_QUEUE_EMPTY',
      stats: { deadLetters: 1, pending: 0, messages: 0 },
    });
    const dead = server.cli('XRANGE', `{shmq:${name}}:dead`, '-', '+');
    expect(dead).toContain('deliveries');
    expect(dead).toContain('3');
    await q.close();
  });

  it('3 producer and 3 consumer processes move 30,000 messages: none lost, none duplicated, per-producer order kept', async () => {
    const name = uniqueName('r-many');
    const PER = 10_000;
    const q = await RedisQueue.create(name, { redis, maxsize: 500 });
    const consumers = [0, 1, 2].map((c) =>
      runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const seen = []; const last = [-1, -1, -1]; let orderOk = true; let bad = 0;
         for (;;) {
           let vs;
           try { vs = ARGS.c === 0 ? [await q.get()] : await q.getMany(ARGS.c * 50); } catch (e) { if (e.code === 'ERR_QUEUE_SHUTDOWN') break; throw e; }
           for (const v of vs) {
             if (v.sum !== v.i * 31 + v.p || v.pad.length !== v.i % 13) bad++;
             if (v.i <= last[v.p]) orderOk = false;
             last[v.p] = v.i;
             seen.push(v.p * 1e6 + v.i);
           }
         }
         console.log(JSON.stringify({ seen, orderOk, bad }));
         await q.close();`,
        { name, redis, c },
        60_000,
      ),
    );
    const producers = [0, 1, 2].map((p) =>
      runRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         const msg = (i) => ({ p: ARGS.p, i, sum: i * 31 + ARGS.p, pad: 'x'.repeat(i % 13) });
         for (let i = 0; i < ARGS.per; i += 100) {
           const batch = Array.from({ length: 100 }, (_, j) => msg(i + j));
           if ((i / 100) % 4 === 0) for (const v of batch) await q.put(v);
           else await q.putMany(batch);
         }
         console.log('1');
         await q.close();`,
        { name, redis, p, per: PER },
        60_000,
      ),
    );
    for (const p of await Promise.all(producers)) expect(p.code, p.stderr).toBe(0);
    await q.shutdown();
    const results = (await Promise.all(consumers)).map(
      (r) => okJson(r) as { seen: number[]; orderOk: boolean; bad: number },
    );
    const all = results.flatMap((r) => r.seen).sort((a, b) => a - b);
    const expected = [0, 1, 2].flatMap((p) => Array.from({ length: PER }, (_, i) => p * 1e6 + i));
    expect(all.length).toBe(3 * PER);
    expect(all).toEqual(expected);
    for (const r of results) expect(r).toMatchObject({ orderOk: true, bad: 0 });
    expect(await q.stats()).toMatchObject({ puts: 3 * PER, gets: 3 * PER, messages: 0, pending: 0 });
    await q.close();
  });

  it('shutdown from one process wakes, at once, gets blocked in others, a put waiting for room and a join', async () => {
    const name = uniqueName('r-wake');
    const full = uniqueName('r-wake-full');
    const q = await RedisQueue.create(name, { redis });
    const f = await RedisQueue.create(full, { redis, maxsize: 1 });
    await f.put('x');
    const blocked = [0, 1, 2].map(() =>
      spawnRedisNode(
        `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
         await q.qsize();
         const p = q.get().then(() => 'got', (e) => e.code);
         await sleep(400); // the get is blocked on the server by now
         console.log(JSON.stringify('ready'));
         const code = await p;
         console.log(JSON.stringify({ code, at: Date.now() }));
         await q.close();`,
        { name, redis },
      ),
    );
    const putter = spawnRedisNode(
      `const q = await RedisQueue.open(ARGS.full, { redis: ARGS.redis });
       const p = q.put('y').then(() => 'put', (e) => e.code);
       await sleep(400);
       console.log(JSON.stringify('ready'));
       const code = await p;
       console.log(JSON.stringify({ code, at: Date.now() }));
       await q.close();`,
      { full, redis },
    );
    const readers = [...blocked, putter].map((c) => lineReader(c));
    for (const next of readers) expect(await next()).toBe('ready');
    await new Promise((r) => setTimeout(r, 100));
    const shutdownAt = Date.now();
    const shutter = await runRedisNode(
      `const q = await RedisQueue.open(ARGS.name, { redis: ARGS.redis });
       const f = await RedisQueue.open(ARGS.full, { redis: ARGS.redis });
       await Promise.all([q.shutdown(), f.shutdown()]);
       console.log(JSON.stringify(Date.now()));
       await q.close(); await f.close();`,
      { name, full, redis },
    );
    const shutAt = okJson(shutter) as number;
    const woken = (await Promise.all(readers.map((next) => next()))) as { code: string; at: number }[];
    for (const w of woken) {
      expect(w.code).toBe('ERR_QUEUE_SHUTDOWN');
      // Woken by the shutdown message (pub/sub + CLIENT UNBLOCK), not by the 1 s slice of a blocked read.
      expect(w.at - shutAt).toBeLessThan(600);
    }
    expect(shutAt).toBeGreaterThanOrEqual(shutdownAt);
    for (const c of [...blocked, putter]) expect((await collect(c)).code).toBe(0);
    await q.close();
    await f.close();
  });

  it('list, inspect and peek read queues without changing them; unlink removes every key; all keys share the hash tag', async () => {
    const name = uniqueName('r-inspect');
    const q = await RedisQueue.create(name, { redis, maxsize: 10, codec: 'json' });
    await q.putMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(await q.get()).toEqual({ a: 1 });
    const listed = await RedisQueue.list({ redis });
    expect(listed.map((s) => s.name)).toContain(name);
    expect(await RedisQueue.inspect(name, { redis })).toMatchObject({ name, messages: 2, maxsize: 10, codec: 'json' });
    const peeked = await RedisQueue.peek(name, { redis, max: 5 });
    expect(peeked).toMatchObject({ name, codec: 'json', total: 2 });
    expect(peeked.messages.map((m) => m.value)).toEqual([{ a: 2 }, { a: 3 }]);
    expect(await q.qsize()).toBe(2);
    const keys = server.cli('--scan', '--pattern', `*${name}*`).trim().split('\n').sort();
    expect(keys).toEqual([`{shmq:${name}}:meta`, `{shmq:${name}}:s`]);
    expect(await RedisQueue.unlink(name, { redis })).toBe(true);
    expect(await RedisQueue.unlink(name, { redis })).toBe(false);
    expect(server.cli('--scan', '--pattern', `*${name}*`).trim()).toBe('');
    await expect(q.put(1)).rejects.toMatchObject({ code: 'ERR_QUEUE_NOT_FOUND' });
    await expect(RedisQueue.inspect(name, { redis })).rejects.toMatchObject({ code: 'ERR_QUEUE_NOT_FOUND' });
    await q.close();
  });

  it('an unreachable server: create rejects with the client error at once instead of hanging', async () => {
    const t = performance.now();
    await expect(RedisQueue.create(uniqueName('r-none'), { redis: `${server.dir}/no-such.sock` })).rejects.toThrow(
      /retries|ENOENT|ECONNREFUSED|closed/i,
    );
    expect(performance.now() - t).toBeLessThan(3000);
    // The client's error says only that it gave up; its cause says why.
    await expect(
      RedisQueue.create(uniqueName('r-none'), { redis: `${server.dir}/no-such.sock` }),
    ).rejects.toMatchObject({
      cause: { code: 'ENOENT', message: expect.stringContaining('no-such.sock') },
    });
    await expect(RedisQueue.create('x', {} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    // Every call that connects needs the option: none of them falls back to a server on localhost.
    for (const call of [
      () => RedisQueue.open('x', {} as never),
      () => RedisQueue.unlink('x', {} as never),
      () => RedisQueue.inspect('x', {} as never),
      () => RedisQueue.peek('x', {} as never),
      () => RedisQueue.list({} as never),
    ])
      await expect(call()).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('options.redis'),
      });
  });
});
