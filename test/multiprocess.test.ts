import { describe, expect, it } from 'vitest';
import { Queue } from '../src/index.js';
import { collect, lineReader, okJson, runNode, spawnNode, uniqueName } from './helpers.js';

describe('across unrelated processes', () => {
  it('a put is visible to every process the moment putSync returns (no feeder-thread lag)', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 5 });
    // The child puts one value per command and answers only after putSync returned; the parent
    // checks qsize()/full() at once, with no sleep in between.
    const child = spawnNode(
      `const q = Queue.open(ARGS);
       process.stdin.setEncoding('utf8');
       let buf = '';
       process.stdin.on('data', (d) => {
         buf += d;
         while (buf.includes('\\n')) {
           const cmd = buf.slice(0, buf.indexOf('\\n')); buf = buf.slice(buf.indexOf('\\n') + 1);
           if (cmd === 'end') { q.close(); process.exit(0); }
           q.putSync({ n: Number(cmd) });
           console.log(JSON.stringify({ put: Number(cmd), full: q.full() }));
         }
       });`,
      name,
      { stdin: true },
    );
    const next = lineReader(child);
    for (let i = 1; i <= 5; i++) {
      child.stdin?.write(`${i}\n`);
      expect(await next()).toEqual({ put: i, full: i === 5 });
      expect(q.qsize()).toBe(i);
      expect(q.empty()).toBe(false);
      expect(q.full()).toBe(i === 5);
    }
    expect(() => q.putNowait({ n: 6 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(q.getManySync(10).map((v) => (v as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    expect(q.empty()).toBe(true);
    child.stdin?.write('end\n');
    expect((await collect(child)).code).toBe(0);
  });

  it('writer and reader processes: FIFO order with maxsize honoured (the tutorial program)', async () => {
    const name = uniqueName();
    using _q = Queue.create(name, { maxsize: 5 });
    const writer = runNode(
      `const q = Queue.open(ARGS);
       let maxSeen = 0;
       for (let i = 0; i < 2000; i++) { q.putSync({ i, text: 'msg ' + i }); maxSeen = Math.max(maxSeen, q.qsize()); }
       console.log(JSON.stringify({ maxSeen }));`,
      name,
    );
    const reader = runNode(
      `const q = Queue.open(ARGS);
       const got = []; let maxSeen = 0;
       for (let i = 0; i < 2000; i++) { maxSeen = Math.max(maxSeen, q.qsize()); const v = q.getSync({ timeout: 20000 }); got.push(v.i); if (v.text !== 'msg ' + v.i) throw new Error('bad value'); }
       console.log(JSON.stringify({ inOrder: got.every((v, i) => v === i), maxSeen, count: got.length }));`,
      name,
    );
    const w = okJson(await writer) as { maxSeen: number };
    const r = okJson(await reader) as { inOrder: boolean; maxSeen: number; count: number };
    expect(r).toMatchObject({ inOrder: true, count: 2000 });
    expect(w.maxSeen).toBeLessThanOrEqual(5);
    expect(r.maxSeen).toBeLessThanOrEqual(5);
  });

  it('3 producers and 3 consumers: every message exactly once, per-producer order kept, values intact', async () => {
    const name = uniqueName();
    const PER = 10_000;
    using q = Queue.create(name, { maxsize: 64, capacity: 64 * 1024 });
    const producers = [0, 1, 2].map((p) =>
      runNode(
        `const q = Queue.open(ARGS.name);
         for (let i = 0; i < ARGS.per; i += 50) {
           const batch = [];
           for (let j = i; j < i + 50; j++) batch.push({ p: ARGS.p, i: j, payload: 'x'.repeat(j % 97), sum: j * 31 + ARGS.p });
           if ((i / 50) % 2) q.putManySync(batch); else for (const v of batch) q.putSync(v);
         }`,
        { name, per: PER, p },
        60_000,
      ),
    );
    const consumers = [0, 1, 2].map((c) =>
      runNode(
        `const q = Queue.open(ARGS.name);
         const seen = [];
         let bad = 0;
         const last = [-1, -1, -1];
         let orderOk = true;
         for (;;) {
           let vs;
           try { vs = ARGS.c === 0 ? [q.getSync({ timeout: 1500 })] : q.getManySync(ARGS.c * 20, { timeout: 1500 }); } catch (e) { if (e.code === 'ERR_QUEUE_EMPTY') break; throw e; }
           for (const v of vs) {
             if (v.payload.length !== v.i % 97 || v.sum !== v.i * 31 + v.p) bad++;
             if (v.i <= last[v.p]) orderOk = false;
             last[v.p] = v.i;
             seen.push(v.p * 1e6 + v.i);
           }
         }
         console.log(JSON.stringify({ seen, bad, orderOk }));`,
        { name, c },
        60_000,
      ),
    );
    for (const p of await Promise.all(producers)) expect(p.code, p.stderr).toBe(0);
    const results = (await Promise.all(consumers)).map(
      (r) => okJson(r) as { seen: number[]; bad: number; orderOk: boolean },
    );
    const all = results.flatMap((r) => r.seen).sort((a, b) => a - b);
    const expected = [0, 1, 2].flatMap((p) => Array.from({ length: PER }, (_, i) => p * 1e6 + i));
    expect(all.length).toBe(3 * PER);
    expect(all).toEqual(expected);
    for (const r of results) {
      expect(r.bad).toBe(0);
      expect(r.orderOk).toBe(true);
    }
    expect(q.stats()).toMatchObject({ puts: 3 * PER, gets: 3 * PER, messages: 0, bytesUsed: 0 });
  });

  it('8 processes racing create-or-open end with exactly one creator and one queue', async () => {
    const name = uniqueName();
    const startAt = Date.now() + 400;
    const racers = Array.from({ length: 8 }, (_, k) =>
      runNode(
        `while (Date.now() < ARGS.startAt) {}
         const q = Queue.create(ARGS.name, { exclusive: false, maxsize: 1000 });
         for (let i = 0; i < 50; i++) q.putSync({ k: ARGS.k, i });
         console.log(JSON.stringify({ creator: q.stats().creatorPid === process.pid }));
         q.close();`,
        { name, startAt, k },
      ),
    );
    const results = (await Promise.all(racers)).map((r) => okJson(r) as { creator: boolean });
    expect(results.filter((r) => r.creator).length).toBe(1);
    using q = Queue.open(name);
    expect(q.qsize()).toBe(400);
    const values = q.getManySync(1000) as { k: number; i: number }[];
    for (let k = 0; k < 8; k++)
      expect(values.filter((v) => v.k === k).map((v) => v.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('timeouts', () => {
  it('getSync({ timeout: 150 }) on an empty queue throws ERR_QUEUE_EMPTY after about 150 ms', () => {
    using q = Queue.create(uniqueName());
    for (const timeout of [150, 60]) {
      const t = performance.now();
      expect(() => q.getSync({ timeout })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY' }));
      const elapsed = performance.now() - t;
      expect(elapsed).toBeGreaterThanOrEqual(timeout - 2);
      expect(elapsed).toBeLessThan(timeout + 250);
    }
  });

  it('putSync({ timeout }) on a full queue throws ERR_QUEUE_FULL after about the timeout', () => {
    using q = Queue.create(uniqueName(), { maxsize: 1 });
    q.putSync(1);
    const t = performance.now();
    expect(() => q.putSync(2, { timeout: 120 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    const elapsed = performance.now() - t;
    expect(elapsed).toBeGreaterThanOrEqual(118);
    expect(elapsed).toBeLessThan(120 + 250);
  });

  it('timeout: 0 never waits', () => {
    using q = Queue.create(uniqueName(), { maxsize: 1 });
    const t = performance.now();
    for (let i = 0; i < 100; i++)
      expect(() => q.getSync({ timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY' }));
    q.putSync(1);
    for (let i = 0; i < 100; i++)
      expect(() => q.putSync(1, { timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(performance.now() - t).toBeLessThan(100);
  });

  it('no timeout waits until another process puts, however long that takes', async () => {
    const name = uniqueName();
    using q = Queue.create(name);
    const child = spawnNode(
      `const q = Queue.open(ARGS);
       console.log(JSON.stringify({ ready: true }));
       const t = performance.now();
       const v = q.getSync();
       console.log(JSON.stringify({ v, waited: performance.now() - t }));`,
      name,
    );
    const next = lineReader(child);
    expect(await next()).toEqual({ ready: true });
    await new Promise((r) => setTimeout(r, 600));
    q.putSync('late');
    const r = (await next()) as { v: string; waited: number };
    expect(r.v).toBe('late');
    expect(r.waited).toBeGreaterThan(550);
    expect((await collect(child)).code).toBe(0);
  });

  it('a blocked putSync resumes as soon as another process makes room', async () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 1 });
    q.putSync('first');
    const child = spawnNode(
      `const q = Queue.open(ARGS);
       console.log(JSON.stringify({ ready: true }));
       const t = performance.now();
       q.putSync('second');
       console.log(JSON.stringify({ waited: performance.now() - t }));`,
      name,
    );
    const next = lineReader(child);
    expect(await next()).toEqual({ ready: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(q.qsize()).toBe(1);
    expect(q.getSync()).toBe('first');
    const r = (await next()) as { waited: number };
    expect(r.waited).toBeGreaterThan(250);
    expect(q.getSync({ timeout: 1000 })).toBe('second');
    expect((await collect(child)).code).toBe(0);
  });
});

describe('codecs across processes', () => {
  const cases: { codec: string; values: string }[] = [
    {
      codec: 'msgpack',
      values: `[undefined, null, NaN, -0, 2n ** 70n, -5n, 'héllo ☃', new Date(5), /a+b/gi, new Map([[{ k: 1 }, new Set([1, 'x'])]]),
                new Float64Array([1.5, -2]), new Uint8Array([1, 2, 3]), [1, [2, [3]]], { nested: { deep: [true, false] } }, new Error('boom')]`,
    },
    {
      codec: 'v8',
      values: `[undefined, -0, 2n ** 70n, new Date(5), /x/m, new Map([[1, 2]]), new Set([3]), new Int32Array([7, -7]), { a: [1, { b: 2 }] }]`,
    },
    { codec: 'json', values: `[null, 1.5, 'text', [1, 'two', { three: 3 }], { a: { b: [true] } }]` },
    { codec: 'string', values: `['', 'plain', 'ünïcödé ☃ 𝄞', 'x'.repeat(5000)]` },
    { codec: 'raw', values: `[Buffer.from([]), Buffer.from([0, 1, 255]), Buffer.alloc(3000, 9)]` },
  ];
  it.each(cases)('$codec values survive a round trip through another process', async ({ codec, values }) => {
    const there = uniqueName();
    const back = uniqueName();
    using out = Queue.create(there, { codec: codec as 'msgpack' });
    using inbox = Queue.create(back, { codec: codec as 'msgpack' });
    const values_ = new Function('Buffer', `return ${values}`)(Buffer) as unknown[];
    const echo = runNode(
      `const a = Queue.open(ARGS.there); const b = Queue.open(ARGS.back);
       for (let i = 0; i < ARGS.n; i++) b.putSync(a.getSync({ timeout: 10000 }));`,
      { there, back, n: values_.length },
    );
    for (const v of values_) out.putSync(v);
    const got = values_.map(() => inbox.getSync({ timeout: 10000 }));
    expect((await echo).code).toBe(0);
    for (let i = 0; i < values_.length; i++) {
      const want = values_[i];
      if (want instanceof Error) {
        expect(got[i]).toBeInstanceOf(Error);
        expect((got[i] as Error).message).toBe(want.message);
      } else {
        expect(got[i]).toStrictEqual(want);
      }
    }
  });
});
