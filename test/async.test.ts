import { describe, expect, it } from 'vitest';
import { JoinableQueue, Queue } from '../src/index.js';
import { collect, lineReader, okJson, runNode, spawnNode, uniqueName } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('async API never blocks the event loop', () => {
  it('16 pending get()s: fs and timers keep working; a producer process then fills them in FIFO order', async () => {
    const name = uniqueName();
    using _q = Queue.create(name, { maxsize: 4 });
    const consumer = spawnNode(
      `import { readFile } from 'node:fs/promises';
       import { monitorEventLoopDelay } from 'node:perf_hooks';
       import { pbkdf2 } from 'node:crypto';
       const q = Queue.open(ARGS);
       const order = [];
       const gets = Array.from({ length: 16 }, (_, i) => q.get().then((v) => { order.push(i); return v; }));
       const lag = monitorEventLoopDelay({ resolution: 5 }); lag.enable();
       // More pending waits than the 4 libuv threadpool threads: fs and crypto must still complete.
       let t = performance.now();
       await Promise.all(Array.from({ length: 16 }, () => readFile(new URL('file:///proc/self/status'))));
       const fsMs = performance.now() - t;
       t = performance.now();
       await Promise.all(Array.from({ length: 8 }, () => new Promise((res, rej) => pbkdf2('x', 'y', 1, 32, 'sha256', (e) => (e ? rej(e) : res())))));
       const cryptoMs = performance.now() - t;
       await new Promise((r) => setTimeout(r, 200));
       lag.disable();
       console.log(JSON.stringify({ ready: true, fsMs, cryptoMs, lagP99: lag.percentile(99) / 1e6, pending: q.qsize() }));
       const values = await Promise.all(gets);
       console.log(JSON.stringify({ values, order }));
       q.close();`,
      name,
    );
    const next = lineReader(consumer);
    const ready = (await next()) as { ready: boolean; fsMs: number; cryptoMs: number; lagP99: number };
    expect(ready.ready).toBe(true);
    expect(ready.fsMs).toBeLessThan(1000);
    expect(ready.cryptoMs).toBeLessThan(1000);
    expect(ready.lagP99).toBeLessThan(100);
    const producer = runNode(`const q = Queue.open(ARGS); for (let i = 0; i < 16; i++) q.putSync(i); q.close();`, name);
    const result = (await next()) as { values: number[]; order: number[] };
    const seq = Array.from({ length: 16 }, (_, i) => i);
    expect(result.values).toEqual(seq);
    expect(result.order).toEqual(seq);
    expect((await producer).code).toBe(0);
    expect((await collect(consumer)).code).toBe(0);
  });

  it('get() resolves when another process puts; put() waits for room made by another process', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 1 });
    const pending = q.get();
    await runNode(`const q = Queue.open(ARGS); q.putSync({ hello: 'world' }); q.close();`, name);
    expect(await pending).toEqual({ hello: 'world' });
    await q.put('a');
    const blocked = q.put('b');
    const drainer = runNode(
      `const q = Queue.open(ARGS); console.log(JSON.stringify([q.getSync({ timeout: 5000 }), q.getSync({ timeout: 5000 })])); q.close();`,
      name,
    );
    await blocked;
    expect(okJson(await drainer)).toEqual(['a', 'b']);
  });
});

describe('timeouts and abort', () => {
  it('get({ timeout: 100 }) rejects with ERR_QUEUE_EMPTY after about 100 ms', async () => {
    using q = Queue.create(uniqueName());
    const t = performance.now();
    await expect(q.get({ timeout: 100 })).rejects.toMatchObject({ code: 'ERR_QUEUE_EMPTY' });
    const elapsed = performance.now() - t;
    expect(elapsed).toBeGreaterThanOrEqual(98);
    expect(elapsed).toBeLessThan(400);
    await expect(q.get({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_QUEUE_EMPTY' });
  });

  it('put({ timeout }) on a full queue rejects with ERR_QUEUE_FULL and puts nothing', async () => {
    using q = Queue.create(uniqueName(), { maxsize: 1 });
    await q.put(1);
    await expect(q.put(2, { timeout: 80 })).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    expect(q.qsize()).toBe(1);
    expect(q.getSync()).toBe(1);
  });

  it('an already-aborted signal rejects at once with its reason; nothing is taken', async () => {
    using q = Queue.create(uniqueName());
    q.putSync('keep');
    const ac = new AbortController();
    ac.abort();
    await expect(q.get({ signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const custom = new AbortController();
    custom.abort(new Error('my reason'));
    await expect(q.put('x', { signal: custom.signal })).rejects.toThrow('my reason');
    expect(q.qsize()).toBe(1);
    expect(q.getSync()).toBe('keep');
  });

  it('abort during a wait rejects with AbortError; the aborted get does not swallow the next message', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    const ac = new AbortController();
    const aborted = q.get({ signal: ac.signal });
    const survivor = q.get();
    setTimeout(() => ac.abort(), 50);
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await runNode(`const q = Queue.open(ARGS); q.putSync('first'); q.putSync('second'); q.close();`, name);
    expect(await survivor).toBe('first');
    expect(await q.get({ timeout: 1000 })).toBe('second');
    expect(q.stats()).toMatchObject({ puts: 2, gets: 2, messages: 0 });
  });

  it('a timed-out get never consumes a message that arrives later', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    await expect(q.get({ timeout: 30 })).rejects.toMatchObject({ code: 'ERR_QUEUE_EMPTY' });
    q.putSync('later');
    await sleep(50);
    expect(q.qsize()).toBe(1);
    expect(await q.get()).toBe('later');
  });

  it('async batch methods: putMany waits for room, getMany waits for at least one', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 10 });
    const put = q.putMany(Array.from({ length: 25 }, (_, i) => i));
    const drainer = runNode(
      `const q = Queue.open(ARGS); const got = [];
       while (got.length < 25) got.push(...q.getManySync(7, { timeout: 5000 }));
       console.log(JSON.stringify(got)); q.close();`,
      name,
    );
    await put;
    expect(okJson(await drainer)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const waiting = q.getMany(5);
    await runNode(`const q = Queue.open(ARGS); q.putManySync(['x', 'y']); q.close();`, name);
    const got = await waiting;
    expect(got[0]).toBe('x');
    expect([...got, ...(q.empty() ? [] : q.getManySync(5))]).toEqual(['x', 'y']);
    await expect(q.putMany([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], { timeout: 50 })).rejects.toMatchObject({
      code: 'ERR_QUEUE_FULL',
      putCount: 10,
    });
  });
});

describe('process lifetime', () => {
  it('a script whose only work is `await q.get()` stays alive until another process puts', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    const child = spawnNode(
      `const q = Queue.open(ARGS); console.log(JSON.stringify({ waiting: true })); console.log(JSON.stringify(await q.get()));`,
      name,
    );
    const next = lineReader(child);
    expect(await next()).toEqual({ waiting: true });
    await sleep(600);
    expect(child.exitCode).toBe(null);
    q.putSync({ done: 1 });
    expect(await next()).toEqual({ done: 1 });
    expect((await collect(child)).code).toBe(0);
  });

  it('a script that opened a queue (and even waited on it once) exits by itself', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    q.putSync(1);
    const t = performance.now();
    const r = await runNode(
      `const q = Queue.open(ARGS);
       await q.get();
       setTimeout(() => q.putSync(2), 20);
       await q.get(); // this one really waited on the native waiter thread
       console.log(JSON.stringify({ ok: true }));`,
      name,
      10_000,
    );
    expect(okJson(r)).toEqual({ ok: true });
    expect(r.signal).toBe(null);
    expect(performance.now() - t).toBeLessThan(5000);
  });

  it('close() rejects pending operations with ERR_QUEUE_CLOSED and stops the waiter', async () => {
    using q = Queue.create(uniqueName(), { maxsize: 1 });
    q.putSync(0);
    const get = Queue.open(q.name);
    expect(await get.get()).toBe(0);
    const again = get.get();
    const put = q.put(1).then(() => q.put(2));
    get.close();
    await expect(again).rejects.toMatchObject({ code: 'ERR_QUEUE_CLOSED' });
    expect(q.getSync()).toBe(1); // makes room for the pending put(2)
    await put;
    expect(q.getSync()).toBe(2);
    q.close();
    await expect(q.get()).rejects.toMatchObject({ code: 'ERR_QUEUE_CLOSED' });
  });

  it('pending operations of one process are served in the order they were made', async () => {
    using q = Queue.create(uniqueName());
    const results: string[] = [];
    const ops = [
      q.get().then((v) => results.push(`a:${v}`)),
      q.getMany(2).then((v) => results.push(`b:${v}`)),
      q.get().then((v) => results.push(`c:${v}`)),
    ];
    q.putManySync([1, 2, 3, 4]);
    await Promise.all(ops);
    expect(results).toEqual(['a:1', 'b:2,3', 'c:4']);
  });

  it('works inside worker_threads; terminating a worker mid-wait neither crashes nor hangs', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    const r = await runNode(
      `import { Worker } from 'node:worker_threads';
       const src = \`
         import { parentPort, workerData } from 'node:worker_threads';
         const { Queue } = await import(workerData.dist);
         const q = Queue.open(workerData.name);
         parentPort.postMessage('waiting');
         const v = await q.get();
         parentPort.postMessage(v);\`;
       const start = () => new Worker(src, { eval: true, workerData: { dist: ARGS.dist, name: ARGS.name } });
       // 1: a worker that gets a value normally.
       const w1 = start();
       await new Promise((r) => w1.once('message', r));
       const q = Queue.open(ARGS.name);
       q.putSync('to-worker');
       const got = await new Promise((r) => w1.once('message', r));
       await new Promise((r) => w1.once('exit', r));
       // 2: workers terminated while their get() waits on the native waiter thread.
       const codes = [];
       for (let i = 0; i < 5; i++) {
         const w = start();
         await new Promise((r) => w.once('message', r));
         codes.push(await w.terminate());
       }
       q.putSync('still-works');
       console.log(JSON.stringify({ got, codes, after: q.getSync({ timeout: 1000 }) }));
       q.close();`,
      { name, dist: (await import('./helpers.js')).DIST },
      20_000,
    );
    expect(okJson(r)).toEqual({ got: 'to-worker', codes: [1, 1, 1, 1, 1], after: 'still-works' });
    expect(q.stats().attached.length).toBe(1);
  });
});

describe('shutdown', () => {
  it('shutdown from one process wakes for-await loops in others after they drained', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 8 });
    const consumers = [0, 1].map(() =>
      runNode(
        `const q = Queue.open(ARGS); const got = [];
         for await (const v of q) got.push(v);
         console.log(JSON.stringify(got)); q.close();`,
        name,
      ),
    );
    for (let i = 0; i < 200; i++) await q.put(i);
    await sleep(100);
    q.shutdown();
    expect(q.isShutdown).toBe(true);
    const all = (await Promise.all(consumers)).flatMap((r) => okJson(r) as number[]);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(() => q.putSync(1)).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_SHUTDOWN' }));
    await expect(q.get()).rejects.toMatchObject({ code: 'ERR_QUEUE_SHUTDOWN' });
  });

  it('after shutdown puts throw everywhere, gets drain then throw; a blocked putSync elsewhere wakes', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 2 });
    q.putSync('a');
    q.putSync('b');
    const blocked = spawnNode(
      `const q = Queue.open(ARGS); console.log(JSON.stringify('blocking'));
       try { q.putSync('c'); console.log(JSON.stringify('put')); } catch (e) { console.log(JSON.stringify(e.code)); }`,
      name,
    );
    const next = lineReader(blocked);
    expect(await next()).toBe('blocking');
    await sleep(100);
    const other = runNode(`const q = Queue.open(ARGS); q.shutdown(); q.close();`, name);
    expect(await next()).toBe('ERR_QUEUE_SHUTDOWN');
    expect((await other).code).toBe(0);
    expect(q.getSync()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(() => q.getNowait()).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_SHUTDOWN' }));
    await expect(q.put('d')).rejects.toMatchObject({ code: 'ERR_QUEUE_SHUTDOWN' });
  });

  it('shutdown({ immediate: true }) discards what is left and wakes waiting gets', async () => {
    const name = uniqueName();
    using q = JoinableQueue.create(name);
    q.putManySync([1, 2, 3]);
    const r = Queue.create(uniqueName());
    const waiting = r.get();
    r.shutdown({ immediate: true });
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_QUEUE_SHUTDOWN' });
    r.close();
    expect(q.unfinishedTasks()).toBe(3);
    await runNode(`const q = JoinableQueue.open(ARGS); q.shutdown({ immediate: true }); q.close();`, name);
    expect(q.qsize()).toBe(0);
    expect(q.stats().shutdown).toBe('immediate');
    expect(q.unfinishedTasks()).toBe(0);
    expect(await q.join({ timeout: 100 })).toBe(true);
  });
});

describe('JoinableQueue', () => {
  it('join() returns only after worker processes called taskDone() for every item', async () => {
    const name = uniqueName();
    using q = JoinableQueue.create(name);
    const items = 30;
    const workers = [0, 1].map(() =>
      runNode(
        `const q = JoinableQueue.open(ARGS); let done = 0;
         for await (const v of q) { await new Promise((r) => setTimeout(r, 5)); q.taskDone(); done++; }
         console.log(JSON.stringify(done)); q.close();`,
        name,
      ),
    );
    for (let i = 0; i < items; i++) await q.put(i);
    const lagProbe = setInterval(() => {}, 5);
    expect(q.unfinishedTasks()).toBeGreaterThan(0);
    expect(await q.join()).toBe(true);
    clearInterval(lagProbe);
    expect(q.unfinishedTasks()).toBe(0);
    expect(q.joinSync({ timeout: 0 })).toBe(true);
    q.shutdown();
    const done = (await Promise.all(workers)).map((r) => okJson(r) as number);
    expect(done[0]! + done[1]!).toBe(items);
  });

  it('joinSync({ timeout }) returns false while tasks are unfinished; taskDone too often throws', async () => {
    using q = JoinableQueue.create(uniqueName());
    q.putSync('job');
    const t = performance.now();
    expect(q.joinSync({ timeout: 80 })).toBe(false);
    expect(performance.now() - t).toBeGreaterThanOrEqual(78);
    expect(await q.join({ timeout: 30 })).toBe(false);
    expect(q.getSync()).toBe('job');
    q.taskDone();
    expect(() => q.taskDone()).toThrow(
      expect.objectContaining({ code: 'ERR_TASK_DONE_TOO_MANY', name: 'TaskDoneError' }),
    );
    expect(q.joinSync()).toBe(true);
  });
});
