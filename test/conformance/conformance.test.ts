// The conformance suite: the API contract of the shared async interface (AsyncQueue /
// AsyncJoinableQueue), run unchanged against both backends, the shared-memory Queue and RedisQueue.
// Every case runs its parts in separate `node` processes that open the queue by name; the bodies
// `await` every call (see src/async-queue.ts), so the same source serves both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, lineReader, uniqueName } from '../helpers.js';
import { type Backend, redisBackend, runOn, shmBackend, spawnOn } from './backends.js';

for (const backend of [shmBackend, redisBackend] as Backend[]) {
  // Skipped only for Redis on a machine without redis-server and without SHM_QUEUE_REQUIRE_REDIS=1
  // (test/redis-global-setup.ts prints how to enable it); CI sets the variable, so there a missing
  // server makes these cases fail instead (backends.ts: available = installed || required).
  const suite = backend.available ? describe : describe.skip;
  suite(`conformance: ${backend.id}`, () => {
    beforeAll(() => backend.start());
    afterAll(() => backend.stop());
    const run = (code: string, args: unknown = null): Promise<unknown> => runOn(backend, code, args);

    it('FIFO across processes, values intact, visible as soon as put resolves', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const made = await run(
        `const q = await create(ARGS);
         for (let i = 0; i < 60; i++) await q.put({ i, s: 'x'.repeat(i) });
         await q.putMany(Array.from({ length: 60 }, (_, j) => ({ i: 60 + j, s: 'x'.repeat(60 + j) })));
         console.log(JSON.stringify({ size: await q.qsize(), empty: await q.empty(), full: await q.full() }));
         await q.close();`,
        name,
      );
      expect(made).toEqual({ size: 120, empty: false, full: false });
      const got = await run(
        `const q = await open(ARGS);
         const got = [];
         while (got.length < 120) got.push(...(got.length % 2 ? await q.getMany(7) : [await q.get({ timeout: 5000 })]));
         const intact = got.every((v, k) => v.i === k && v.s === 'x'.repeat(k));
         console.log(JSON.stringify({ n: got.length, intact, size: await q.qsize(), empty: await q.empty(),
           nowait: await codeOf(() => q.getNowait()), stats: await q.stats() }));
         await q.close();`,
        name,
      );
      expect(got).toMatchObject({ n: 120, intact: true, size: 0, empty: true, nowait: 'ERR_QUEUE_EMPTY' });
      expect((got as { stats: object }).stats).toMatchObject({ name, messages: 0, puts: 120, gets: 120 });
    });

    it('maxsize: putNowait and put timeouts fail with ERR_QUEUE_FULL; a waiting put resumes when another process gets', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const producer = spawnOn(
        backend,
        `const q = await create(ARGS, { maxsize: 2 });
         await q.put('a'); await q.put('b');
         const nowait = await codeOf(() => q.putNowait('x'));
         let t = performance.now();
         const timedOut = await codeOf(() => q.put('x', { timeout: 100 }));
         const waited = performance.now() - t;
         console.log(JSON.stringify({ full: await q.full(), size: await q.qsize(), nowait, timedOut, waited }));
         t = performance.now();
         await q.put('c', { timeout: 20000 });
         console.log(JSON.stringify({ resumedAfter: performance.now() - t, size: await q.qsize() }));
         await q.close();`,
        name,
      );
      const next = lineReader(producer);
      const first = (await next()) as { waited: number };
      expect(first).toMatchObject({ full: true, size: 2, nowait: 'ERR_QUEUE_FULL', timedOut: 'ERR_QUEUE_FULL' });
      expect(first.waited).toBeGreaterThanOrEqual(98);
      expect(first.waited).toBeLessThan(1500);
      const consumer = await run(
        `const q = await open(ARGS); console.log(JSON.stringify(await q.get())); await q.close();`,
        name,
      );
      expect(consumer).toBe('a');
      expect(await next()).toMatchObject({ size: 2 });
      expect((await collect(producer)).code).toBe(0);
      expect(
        await run(
          `const q = await open(ARGS); console.log(JSON.stringify(await q.getMany(5))); await q.close();`,
          name,
        ),
      ).toEqual(['b', 'c']);
    });

    it('get waits for a put made by another process; get timeouts and getNowait fail with ERR_QUEUE_EMPTY', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const consumer = spawnOn(
        backend,
        `const q = await create(ARGS);
         const nowait = await codeOf(() => q.getNowait());
         const zero = await codeOf(() => q.get({ timeout: 0 }));
         const t = performance.now();
         const timedOut = await codeOf(() => q.get({ timeout: 150 }));
         const waited = performance.now() - t;
         console.log(JSON.stringify({ nowait, zero, timedOut, waited }));
         const v = await q.get();
         console.log(JSON.stringify(v));
         await q.close();`,
        name,
      );
      const next = lineReader(consumer);
      const first = (await next()) as { waited: number };
      expect(first).toMatchObject({ nowait: 'ERR_QUEUE_EMPTY', zero: 'ERR_QUEUE_EMPTY', timedOut: 'ERR_QUEUE_EMPTY' });
      expect(first.waited).toBeGreaterThanOrEqual(148);
      expect(first.waited).toBeLessThan(1500);
      await run(
        `const q = await open(ARGS); await q.put({ hello: 'world' }); console.log('1'); await q.close();`,
        name,
      );
      expect(await next()).toEqual({ hello: 'world' });
      expect((await collect(consumer)).code).toBe(0);
    });

    it('abort: aborted gets and puts take and put nothing; the message stays for another process', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const aborted = await run(
        `const q = await create(ARGS, { maxsize: 1 });
         const ac = new AbortController();
         setTimeout(() => ac.abort(), 50);
         const t = performance.now();
         const get = await codeOf(() => q.get({ signal: ac.signal }));
         const waited = performance.now() - t;
         const pre = await codeOf(() => q.get({ signal: AbortSignal.abort() }));
         await q.put('kept');
         const ac2 = new AbortController();
         setTimeout(() => ac2.abort(), 50);
         const put = await codeOf(() => q.put('dropped', { signal: ac2.signal }));
         console.log(JSON.stringify({ get, pre, put, waited, size: await q.qsize() }));
         await q.close();`,
        name,
      );
      expect(aborted).toMatchObject({ get: 'AbortError', pre: 'AbortError', put: 'AbortError', size: 1 });
      expect((aborted as { waited: number }).waited).toBeLessThan(800); // below the 1 s slice of a blocked Redis read: CLIENT UNBLOCK
      expect(
        await run(
          `const q = await open(ARGS);
           console.log(JSON.stringify({ v: await q.get(), rest: await codeOf(() => q.getNowait()) }));
           await q.close();`,
          name,
        ),
      ).toEqual({ v: 'kept', rest: 'ERR_QUEUE_EMPTY' });
    });

    it('putMany and getMany: batches in order, a timed-out putMany reports putCount, getMany waits for one only', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const put = await run(
        `const q = await create(ARGS, { maxsize: 5 });
         let err;
         try { await q.putMany([0, 1, 2, 3, 4, 5, 6, 7], { timeout: 100 }); } catch (e) { err = { code: e.code, putCount: e.putCount }; }
         console.log(JSON.stringify({ err, size: await q.qsize() }));
         await q.close();`,
        name,
      );
      expect(put).toEqual({ err: { code: 'ERR_QUEUE_FULL', putCount: 5 }, size: 5 });
      const got = await run(
        `const q = await open(ARGS);
         const a = await q.getMany(3);
         const b = await q.getMany(10);
         const c = await codeOf(() => q.getMany(1, { timeout: 50 }));
         setTimeout(() => q.put(9), 100);
         const d = await q.getMany(10, { timeout: 5000 });
         console.log(JSON.stringify({ a, b, c, d }));
         await q.close();`,
        name,
      );
      expect(got).toEqual({ a: [0, 1, 2], b: [3, 4], c: 'ERR_QUEUE_EMPTY', d: [9] });
    });

    it('codecs: stored with the queue, structured values survive, refused values put nothing', async () => {
      const base = {
        m: uniqueName(`c-${backend.id}`),
        j: uniqueName(`c-${backend.id}`),
        c: uniqueName(`c-${backend.id}`),
        r: uniqueName(`c-${backend.id}`),
      };
      const upper = `{ name: 'upper', encode: (s) => Buffer.from(String(s).toUpperCase()), decode: (b) => Buffer.from(b).toString() }`;
      const made = await run(
        `const m = await create(ARGS.m);
         await m.put({ d: new Date(5), map: new Map([[1, 'a']]), big: 10n ** 20n, u8: new Uint8Array([1, 2]), set: new Set([3]), u: undefined });
         const refused = await codeOf(() => m.put({ f() {} }));
         const j = await create(ARGS.j, { codec: 'json' });
         await j.put({ a: 1, d: new Date(0) });
         const c = await create(ARGS.c, { codec: ${upper} });
         await c.put('abc');
         const r = await create(ARGS.r, { codec: 'raw' });
         await r.put(Buffer.from([1, 2, 3]));
         console.log(JSON.stringify({ refused, m: await m.qsize(), codecs: [m.codec, j.codec, c.codec, r.codec] }));
         for (const q of [m, j, c, r]) await q.close();`,
        base,
      );
      expect(made).toEqual({ refused: 'ERR_INVALID_ARG_VALUE', m: 1, codecs: ['msgpack', 'json', 'upper', 'raw'] });
      const read = await run(
        `const m = await open(ARGS.m);
         const v = await m.get();
         const j = await open(ARGS.j);
         const mismatch = await codeOf(() => open(ARGS.j, { codec: 'v8' }));
         const customUnnamed = await codeOf(() => open(ARGS.c));
         const c = await open(ARGS.c, { codec: ${upper} });
         const r = await open(ARGS.r);
         const raw = await r.get();
         console.log(JSON.stringify({
           date: v.d instanceof Date && v.d.getTime() === 5, map: v.map instanceof Map && v.map.get(1) === 'a',
           big: v.big === 10n ** 20n, u8: v.u8 instanceof Uint8Array && v.u8[1] === 2, set: v.set.has(3),
           undef: 'u' in v && v.u === undefined, json: await j.get(), jsonCodec: j.codec, mismatch, customUnnamed,
           custom: await c.get(), raw: Buffer.isBuffer(raw) ? [...raw] : null }));
         for (const q of [m, j, c, r]) await q.close();`,
        base,
      );
      expect(read).toEqual({
        date: true,
        map: true,
        big: true,
        u8: true,
        set: true,
        undef: true,
        json: { a: 1, d: '1970-01-01T00:00:00.000Z' },
        jsonCodec: 'json',
        mismatch: 'ERR_CODEC_MISMATCH',
        customUnnamed: 'ERR_CODEC_MISMATCH',
        custom: 'ABC',
        raw: [1, 2, 3],
      });
    });

    it('a message the codec cannot decode: MessageDecodeError with its bytes; the rest of its batch is held, then put back by close()', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const picky = `{ name: 'picky', encode: (s) => Buffer.from(String(s)), decode: (b) => { const s = Buffer.from(b).toString(); if (s === 'bad') throw new Error('refused'); return s; } }`;
      await run(
        `const q = await create(ARGS, { codec: ${picky} }); await q.putMany(['ok1', 'bad', 'ok2', 'ok3']); console.log('1'); await q.close();`,
        name,
      );
      const first = await run(
        `const q = await open(ARGS, { codec: ${picky} });
         const a = await q.getMany(10);
         let e; try { await q.get(); } catch (err) { e = { code: err.code, name: err.name, bytes: Buffer.from(err.bytes).toString(), codec: err.codec }; }
         const held = await q.qsize();
         await q.close();
         console.log(JSON.stringify({ a, e, held }));`,
        name,
      );
      expect(first).toEqual({
        a: ['ok1'],
        e: { code: 'ERR_MESSAGE_DECODE', name: 'MessageDecodeError', bytes: 'bad', codec: 'picky' },
        held: 2,
      });
      expect(
        await run(
          `const q = await open(ARGS, { codec: ${picky} }); console.log(JSON.stringify(await q.getMany(10))); await q.close();`,
          name,
        ),
      ).toEqual(['ok2', 'ok3']);
    });

    it('shutdown from one process: consumers in others drain and their for-await loops end; puts fail; immediate discards', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const other = uniqueName(`c-${backend.id}`);
      await run(`const q = await create(ARGS); console.log('1'); await q.close();`, name);
      const consumers = [0, 1].map(() =>
        spawnOn(
          backend,
          `const q = await open(ARGS);
           await q.qsize();
           console.log(JSON.stringify('ready'));
           const got = [];
           for await (const v of q) { got.push(v); await sleep(5); }
           console.log(JSON.stringify({ got, after: await codeOf(() => q.get()) }));
           await q.close();`,
          name,
        ),
      );
      const lines = consumers.map((c) => lineReader(c));
      for (const next of lines) expect(await next()).toBe('ready');
      const producer = await run(
        `const q = await open(ARGS);
         for (let i = 0; i < 10; i++) await q.put(i);
         await sleep(100);
         await q.shutdown();
         console.log(JSON.stringify({ put: await codeOf(() => q.put(99)), stats: (await q.stats()).shutdown }));
         await q.close();`,
        name,
      );
      expect(producer).toEqual({ put: 'ERR_QUEUE_SHUTDOWN', stats: 'graceful' });
      const results = (await Promise.all(lines.map((next) => next()))) as { got: number[]; after: string }[];
      for (const c of consumers) expect((await collect(c)).code).toBe(0);
      expect(results.flatMap((r) => r.got).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (const r of results) expect(r.after).toBe('ERR_QUEUE_SHUTDOWN');
      const immediate = await run(
        `const q = await create(ARGS);
         await q.putMany([1, 2, 3]);
         const other = await open(ARGS);
         await other.shutdown({ immediate: true });
         console.log(JSON.stringify({ size: await q.qsize(), get: await codeOf(() => q.get()), state: (await q.stats()).shutdown }));
         await q.close(); await other.close();`,
        other,
      );
      expect(immediate).toEqual({ size: 0, get: 'ERR_QUEUE_SHUTDOWN', state: 'immediate' });
    });

    it('JoinableQueue: join() waits for taskDone() from other processes; too many taskDone fails; immediate shutdown counts as done', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const other = uniqueName(`c-${backend.id}`);
      const producer = spawnOn(
        backend,
        `const q = await createJoinable(ARGS);
         await q.putMany([1, 2, 3, 4, 5]);
         const early = await q.join({ timeout: 50 });
         console.log(JSON.stringify({ unfinished: await q.unfinishedTasks(), early, zero: await q.join({ timeout: 0 }) }));
         const t = performance.now();
         const joined = await q.join({ timeout: 20000 });
         console.log(JSON.stringify({ joined, unfinished: await q.unfinishedTasks() }));
         await q.close();`,
        name,
      );
      const next = lineReader(producer);
      expect(await next()).toEqual({ unfinished: 5, early: false, zero: false });
      const worker = await run(
        `const q = await openJoinable(ARGS);
         const plain = await codeOf(() => open(ARGS));
         let sum = 0;
         for (let i = 0; i < 5; i++) { sum += await q.get(); await q.taskDone(); }
         console.log(JSON.stringify({ sum, plain, extra: await codeOf(() => q.taskDone()) }));
         await q.close();`,
        name,
      );
      expect(worker).toEqual({ sum: 15, plain: 'ERR_QUEUE_INCOMPATIBLE', extra: 'ERR_TASK_DONE_TOO_MANY' });
      expect(await next()).toEqual({ joined: true, unfinished: 0 });
      expect((await collect(producer)).code).toBe(0);
      const immediate = await run(
        `const q = await createJoinable(ARGS);
         await q.putMany([1, 2, 3]);
         await q.shutdown({ immediate: true });
         console.log(JSON.stringify({ unfinished: await q.unfinishedTasks(), joined: await q.join({ timeout: 1000 }) }));
         await q.close();`,
        other,
      );
      expect(immediate).toEqual({ unfinished: 0, joined: true });
    });

    it('errors and codes: exists, not found, incompatible, too large, closed, bad arguments', async () => {
      const name = uniqueName(`c-${backend.id}`);
      const names = { name, small: uniqueName(`c-${backend.id}`), missing: uniqueName(`c-${backend.id}`) };
      await run(`const q = await create(ARGS.name, { maxsize: 3 }); console.log('1'); await q.close();`, names);
      const codes = await run(
        `const exists = await codeOf(() => create(ARGS.name));
         const missing = await codeOf(() => open(ARGS.missing));
         const incompatible = await codeOf(() => create(ARGS.name, { exclusive: false, maxsize: 4 }));
         const q = await create(ARGS.name, { exclusive: false, maxsize: 3 });
         const small = await create(ARGS.small, TOO_SMALL);
         let tooLarge; try { await small.put('x'.repeat(2000)); } catch (e) { tooLarge = [e.code, e.name, e.size > e.limit]; }
         const badTimeout = await codeOf(() => q.get({ timeout: -1 }));
         const badType = await codeOf(() => q.put(1, { timeout: 'soon' }));
         const badMax = await codeOf(() => q.getMany(0));
         const badName = await codeOf(() => create('bad name!'));
         const badOption = await codeOf(() => q.get({ timout: 5 }));
         const pending = codeOf(() => q.get());
         await sleep(50);
         await q.close();
         const pendingClosed = await pending;
         const closed = await codeOf(() => q.put(1));
         console.log(JSON.stringify({ exists, missing, incompatible, tooLarge, badTimeout, badType, badMax, badName, badOption,
           pendingClosed, closed, isClosed: q.closed, smallSize: await small.qsize() }));
         await small.close();`,
        names,
      );
      expect(codes).toEqual({
        exists: 'ERR_QUEUE_EXISTS',
        missing: 'ERR_QUEUE_NOT_FOUND',
        incompatible: 'ERR_QUEUE_INCOMPATIBLE',
        tooLarge: ['ERR_MESSAGE_TOO_LARGE', 'MessageTooLargeError', true],
        badTimeout: 'ERR_OUT_OF_RANGE',
        badType: 'ERR_INVALID_ARG_TYPE',
        badMax: 'ERR_OUT_OF_RANGE',
        badName: 'ERR_INVALID_ARG_VALUE',
        badOption: 'ERR_INVALID_ARG_VALUE',
        pendingClosed: 'ERR_QUEUE_CLOSED',
        closed: 'ERR_QUEUE_CLOSED',
        isClosed: true,
        smallSize: 0,
      });
    });
  });
}
