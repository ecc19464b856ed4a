// Regression tests for defects found in review: each failed before its fix.
import { describe, expect, it } from 'vitest';
import { JoinableQueue, Queue, type Codec } from '../src/index.js';
import { okJson, runNode, uniqueName } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('robustness', () => {
  it("a received 'raw' Buffer cannot be transferred away, so later gets lose nothing", () => {
    using q = Queue.create(uniqueName(), { codec: 'raw' });
    q.putManySync([Buffer.from('first'), Buffer.from('second'), Buffer.from('third')]);
    const a = q.getSync() as Buffer;
    // Untransferable, as Node's own Buffer pool: Node 20 copies it instead of detaching it
    // (newer Node versions throw). Before the fix this detached the slab under later gets.
    try {
      structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
    } catch {
      // Node >= 21: DataCloneError, also fine
    }
    const { port1 } = new MessageChannel();
    try {
      port1.postMessage(a, [a.buffer as ArrayBuffer]);
    } catch {
      // as above
    }
    port1.close();
    expect(a.buffer.byteLength).toBeGreaterThan(0);
    expect((q.getSync() as Buffer).toString()).toBe('second');
    expect(a.toString()).toBe('first');
    expect((q.getSync() as Buffer).toString()).toBe('third');
  });

  it('a worker blocked in getSync() can be terminated, and process.exit() does not hang', async () => {
    const name = uniqueName();
    using _q = Queue.create(name);
    const t = performance.now();
    const r = await runNode(
      `import { Worker } from 'node:worker_threads';
       const src = \`
         import { parentPort, workerData } from 'node:worker_threads';
         const { Queue } = await import(workerData.dist);
         const q = Queue.open(workerData.name);
         parentPort.postMessage('blocking');
         q.getSync();\`;
       const w = new Worker(src, { eval: true, workerData: { dist: ARGS.dist, name: ARGS.name } });
       await new Promise((r) => w.once('message', r));
       await new Promise((r) => setTimeout(r, 100));
       const t = performance.now();
       const code = await w.terminate();
       console.log(JSON.stringify({ code, terminateMs: performance.now() - t }));
       const w2 = new Worker(src, { eval: true, workerData: { dist: ARGS.dist, name: ARGS.name } });
       await new Promise((r) => w2.once('message', r));
       process.exit(0);`,
      { name, dist: (await import('./helpers.js')).DIST },
      15_000,
    );
    const out = okJson(r) as { code: number; terminateMs: number };
    expect(out.code).toBe(1);
    expect(out.terminateMs).toBeLessThan(2000);
    expect(performance.now() - t).toBeLessThan(10_000);
  });

  it('a queue that waited asynchronously and was dropped without close() is garbage-collected (thread and mapping freed)', async () => {
    const name = uniqueName();
    using _q = Queue.create(name);
    const r = await runNode(
      `import { readdirSync, readFileSync } from 'node:fs';
       import v8 from 'node:v8';
       import vm from 'node:vm';
       v8.setFlagsFromString('--expose-gc');
       const gc = vm.runInNewContext('gc');
       const threads = () => readdirSync('/proc/self/task').length;
       const maps = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('shm-queue.' + ARGS)).length;
       const before = threads();
       for (let i = 0; i < 10; i++) {
         let q = Queue.open(ARGS);
         await q.get({ timeout: 5 }).catch(() => {});
         q = null;
       }
       const during = threads();
       for (let i = 0; i < 20 && (threads() > before || maps() > 0); i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
       console.log(JSON.stringify({ before, during, after: threads(), maps: maps() }));`,
      name,
    );
    const out = okJson(r) as { before: number; during: number; after: number; maps: number };
    expect(out.during).toBeGreaterThan(out.before);
    expect(out.after).toBe(out.before);
    expect(out.maps).toBe(0);
  });

  it('getMany whose decode fails part-way loses nothing: values before, the error, then the rest', async () => {
    const picky: Codec<string | number> = {
      name: 'picky',
      encode: (v) => Buffer.from(JSON.stringify(v)),
      decode: (b) => {
        const v = JSON.parse(Buffer.from(b).toString()) as string | number;
        if (v === 'bad') throw new Error('cannot decode bad');
        return v;
      },
    };
    using q = Queue.create<string | number>(uniqueName(), { codec: picky });
    q.putManySync([1, 2, 'bad', 4, 5, 6]);
    expect(await q.getMany(10)).toEqual([1, 2]);
    expect(() => q.getSync()).toThrow('cannot decode bad');
    expect(q.getManySync(2)).toEqual([4, 5]);
    expect(await q.get()).toBe(6);
    q.putManySync(['bad', 7]);
    expect(() => q.getManySync(5)).toThrow('cannot decode bad');
    expect(q.getNowait()).toBe(7);
  });

  it('async timeouts longer than 2^31-1 ms do not fire at once', async () => {
    using q = Queue.create(uniqueName());
    let settled = false;
    const g = q.get({ timeout: 2 ** 31 + 1000 }).then(
      (v) => {
        settled = true;
        return v;
      },
      (e) => {
        settled = true;
        return Promise.reject(e);
      },
    );
    await sleep(100);
    expect(settled).toBe(false);
    q.putSync('late');
    expect(await g).toBe('late');
  });

  it('the native handle refuses typed arrays of the wrong kind instead of writing past them', () => {
    using q = Queue.create(uniqueName());
    const handle = (
      q as unknown as { handle: Record<'shiftMany' | 'pushMany' | 'push', (...args: unknown[]) => unknown> }
    ).handle;
    q.putManySync(Array.from({ length: 16 }, (_, i) => i));
    expect(() => handle.shiftMany(0, 16, new Uint8Array(16), 0)).toThrow(TypeError);
    expect(() => handle.pushMany(Buffer.alloc(64), new Uint8Array(4), 4, 0)).toThrow(TypeError);
    expect(() => handle.push(new Uint16Array(4), 0)).toThrow(TypeError);
    expect(q.qsize()).toBe(16);
  });

  it('putMany aborted after some values went in says how many (AbortError with putCount)', async () => {
    using q = Queue.create(uniqueName(), { maxsize: 2 });
    const ac = new AbortController();
    const p = q.putMany([1, 2, 3, 4], { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', putCount: 2 });
    expect(q.getManySync(10)).toEqual([1, 2]);
  });

  it('create-or-open accepts capacities of 2 GiB and more', () => {
    const name = uniqueName();
    using _a = Queue.create(name, { capacity: 2 ** 31, exclusive: false });
    using b = Queue.create(name, { capacity: 2 ** 31, exclusive: false });
    expect(b.capacity).toBe(2 ** 31);
  });

  it('join({ timeout: 0 }) reports true when all tasks are done, even with another join pending', async () => {
    using q = JoinableQueue.create(uniqueName());
    q.putSync(1);
    const pending = q.join();
    q.getSync();
    q.taskDone();
    expect(await q.join({ timeout: 0 })).toBe(true);
    expect(await pending).toBe(true);
  });

  it('a pending put that needs less room than the one before it goes in as soon as that room exists', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { capacity: 1024, codec: 'raw' });
    q.putManySync([Buffer.alloc(300), Buffer.alloc(300), Buffer.alloc(300)]); // 924 of 1024 bytes
    const big = q.put(Buffer.alloc(700), { timeout: 50 }).catch((e: { code: string }) => e.code);
    const small = q.put(Buffer.alloc(150));
    using other = Queue.open(name, { codec: 'raw' });
    const t = performance.now();
    setTimeout(() => other.getSync(), 80); // frees 308 bytes: room for 150 (wrapped), not for 700
    expect(await big).toBe('ERR_QUEUE_FULL');
    await small;
    // Before the fix the waiter kept waiting for 700 bytes until its 500 ms slice ended.
    expect(performance.now() - t).toBeLessThan(300);
    expect(q.qsize()).toBe(3);
  });
});
