import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Queue, JoinableQueue, type Codec } from '../src/index.js';
import { segmentExists, uniqueName } from './helpers.js';

describe('create / open / unlink', () => {
  it('creates, opens by name, and reports its options', () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 7, capacity: 4096 });
    using r = Queue.open(name);
    expect([q.name, q.maxsize, q.capacity, q.codec]).toEqual([name, 7, 4096, 'msgpack']);
    expect([r.maxsize, r.capacity, r.codec]).toEqual([7, 4096, 'msgpack']);
    expect(q.maxMessageSize).toBe(4096 - 8);
    expect(segmentExists(name)).toBe(true);
  });

  it('refuses to create an existing name with ERR_QUEUE_EXISTS', () => {
    const name = uniqueName();
    using _q = Queue.create(name);
    expect(() => Queue.create(name)).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_EXISTS', name: 'QueueExistsError' }),
    );
  });

  it('open of a missing queue throws ERR_QUEUE_NOT_FOUND', () => {
    expect(() => Queue.open(uniqueName('missing'))).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_NOT_FOUND' }));
  });

  it('create-or-open opens an existing queue, and refuses mismatched explicit options', () => {
    const name = uniqueName();
    using q = Queue.create(name, { maxsize: 3, capacity: 1024 });
    using r = Queue.create(name, { exclusive: false });
    q.putSync('a');
    expect(r.getSync()).toBe('a');
    expect(r.maxsize).toBe(3);
    expect(() => Queue.create(name, { exclusive: false, maxsize: 4 })).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE' }),
    );
    expect(() => Queue.create(name, { exclusive: false, capacity: 2048 })).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE' }),
    );
    expect(() => Queue.create(name, { exclusive: false, codec: 'json' })).toThrow(
      expect.objectContaining({ code: 'ERR_CODEC_MISMATCH' }),
    );
  });

  it('a mismatched codec throws ERR_CODEC_MISMATCH; omitting it adopts a built-in codec', () => {
    const name = uniqueName();
    using q = Queue.create(name, { codec: 'json' });
    expect(() => Queue.open(name, { codec: 'v8' })).toThrow(expect.objectContaining({ code: 'ERR_CODEC_MISMATCH' }));
    using r = Queue.open(name);
    expect(r.codec).toBe('json');
    q.putSync({ a: 1 });
    expect(r.getSync()).toEqual({ a: 1 });
  });

  it('a custom codec must be named again when opening', () => {
    const name = uniqueName();
    const upper: Codec<string> = {
      name: 'upper',
      encode: (s) => Buffer.from(s.toUpperCase()),
      decode: (b) => Buffer.from(b).toString(),
    };
    using q = Queue.create(name, { codec: upper });
    expect(() => Queue.open(name)).toThrow(
      expect.objectContaining({
        code: 'ERR_CODEC_MISMATCH',
        message: expect.stringMatching(/custom codec named 'upper'/),
      }),
    );
    using r = Queue.open(name, { codec: upper });
    q.putSync('hello');
    expect(r.getSync()).toBe('HELLO');
  });

  it('Queue and JoinableQueue do not open each other', () => {
    const a = uniqueName();
    const b = uniqueName();
    using _q = Queue.create(a);
    using _j = JoinableQueue.create(b);
    expect(() => JoinableQueue.open(a)).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE' }));
    expect(() => Queue.open(b)).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE' }));
  });

  it('unlink while open keeps open handles working; the name is gone', () => {
    const name = uniqueName();
    const q = Queue.create(name);
    const r = Queue.open(name);
    expect(Queue.unlink(name)).toBe(true);
    expect(segmentExists(name)).toBe(false);
    expect(Queue.unlink(name)).toBe(false);
    expect(() => Queue.open(name)).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_NOT_FOUND' }));
    q.putSync(42);
    expect(r.getSync()).toBe(42);
    // The name can be reused by a new, independent queue.
    using fresh = Queue.create(name);
    expect(fresh.empty()).toBe(true);
    expect(r.qsize()).toBe(0);
    q.putSync(1);
    expect(fresh.qsize()).toBe(0);
    q.close();
    r.close();
  });

  it('creates the segment with mode 0o600 by default and honours mode', async () => {
    const { statSync } = await import('node:fs');
    const a = uniqueName();
    const b = uniqueName();
    using _a = Queue.create(a);
    using _b = Queue.create(b, { mode: 0o640 });
    expect(statSync(`/dev/shm/shm-queue.${a}`).mode & 0o777).toBe(0o600);
    expect(statSync(`/dev/shm/shm-queue.${b}`).mode & 0o777).toBe(0o640);
  });
});

describe('argument validation happens before any system call', () => {
  const bad: [unknown, string][] = [
    ['', 'ERR_INVALID_ARG_VALUE'],
    ['a/b', 'ERR_INVALID_ARG_VALUE'],
    ['..', 'ERR_INVALID_ARG_VALUE'],
    ['x'.repeat(201), 'ERR_INVALID_ARG_VALUE'],
    ['sp ace', 'ERR_INVALID_ARG_VALUE'],
    ['ünï', 'ERR_INVALID_ARG_VALUE'],
    [42, 'ERR_INVALID_ARG_TYPE'],
    [undefined, 'ERR_INVALID_ARG_TYPE'],
  ];
  it.each(bad)('name %j -> %s', (name, code) => {
    expect(() => Queue.create(name as string)).toThrow(expect.objectContaining({ code }));
    expect(() => Queue.open(name as string)).toThrow(expect.objectContaining({ code }));
    expect(() => Queue.unlink(name as string)).toThrow(expect.objectContaining({ code }));
    // Other test files run in parallel, so look only where this name would have gone.
    if (typeof name === 'string' && name !== '' && !name.includes('/'))
      expect(existsSync(`/dev/shm/shm-queue.${name}`)).toBe(false);
  });

  const badOptions: [Record<string, unknown>, string, RegExp][] = [
    [{ maxsize: -1 }, 'ERR_OUT_OF_RANGE', /maxsize/],
    [{ maxsize: 1.5 }, 'ERR_OUT_OF_RANGE', /maxsize/],
    [{ maxsize: '5' }, 'ERR_INVALID_ARG_TYPE', /maxsize/],
    [{ capacity: 10 }, 'ERR_OUT_OF_RANGE', /capacity/],
    [{ capacity: 2 ** 41 }, 'ERR_OUT_OF_RANGE', /capacity/],
    [{ mode: 0o1777 }, 'ERR_OUT_OF_RANGE', /mode/],
    [{ exclusive: 'no' }, 'ERR_INVALID_ARG_TYPE', /exclusive/],
    [{ codec: 'yaml' }, 'ERR_INVALID_ARG_VALUE', /codec/],
    [{ maxSize: 5 }, 'ERR_INVALID_ARG_VALUE', /did you mean "maxsize"/],
  ];
  it.each(badOptions)('options %j -> %s', (options, code, message) => {
    const name = uniqueName();
    expect(() => Queue.create(name, options)).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
    expect(segmentExists(name)).toBe(false);
  });

  it('bad timeouts and batch sizes are refused', () => {
    using q = Queue.create(uniqueName());
    expect(() => q.getSync({ timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.getSync({ timeout: NaN })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.getSync({ timeout: '1' as unknown as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => q.getManySync(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => q.putManySync(5 as unknown as number[])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(q.qsize()).toBe(0);
  });
});

describe('non-blocking and bounded behaviour', () => {
  it('putNowait on a full queue throws ERR_QUEUE_FULL; getNowait on an empty one ERR_QUEUE_EMPTY', () => {
    using q = Queue.create(uniqueName(), { maxsize: 2 });
    expect(() => q.getNowait()).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY', name: 'QueueEmptyError' }));
    q.putNowait(1);
    q.putNowait(2);
    expect(q.full()).toBe(true);
    expect(() => q.putNowait(3)).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL', name: 'QueueFullError' }));
    expect([q.getNowait(), q.getNowait()]).toEqual([1, 2]);
    expect(q.empty()).toBe(true);
  });

  it('a message bigger than the ring throws ERR_MESSAGE_TOO_LARGE at once, even with no timeout', () => {
    using q = Queue.create(uniqueName(), { capacity: 1024, codec: 'raw' });
    const t = performance.now();
    expect(() => q.putSync(Buffer.alloc(1017))).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', size: 1017, limit: 1016 }),
    );
    expect(performance.now() - t).toBeLessThan(100);
    q.putSync(Buffer.alloc(1016, 1)); // the largest message fits, even after wrap-around
    expect((q.getSync() as Buffer).length).toBe(1016);
    q.putSync(Buffer.alloc(100));
    q.getSync();
    q.putSync(Buffer.alloc(1016, 2));
    expect((q.getSync() as Buffer).every((b) => b === 2)).toBe(true);
  });

  it('a byte-bounded queue fills up by bytes and throws ERR_QUEUE_FULL', () => {
    using q = Queue.create(uniqueName(), { capacity: 256, codec: 'raw' });
    let n = 0;
    for (;;) {
      try {
        q.putNowait(Buffer.alloc(24, n));
        n++;
      } catch (e) {
        expect((e as { code: string }).code).toBe('ERR_QUEUE_FULL');
        break;
      }
    }
    expect(n).toBe(256 / 32);
    for (let i = 0; i < n; i++) expect((q.getNowait() as Buffer)[0]).toBe(i);
  });

  it('use after close throws ERR_QUEUE_CLOSED; close is idempotent', () => {
    const q = Queue.create(uniqueName());
    q.close();
    q.close();
    expect(q.closed).toBe(true);
    for (const f of [() => q.putSync(1), () => q.getNowait(), () => q.qsize(), () => q.stats()]) {
      expect(f).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_CLOSED' }));
    }
  });

  it('batch methods move many values with one call and keep order', () => {
    using q = Queue.create(uniqueName(), { maxsize: 1000 });
    q.putManySync(Array.from({ length: 500 }, (_, i) => ({ i })));
    expect(q.qsize()).toBe(500);
    const a = q.getManySync(200);
    const b = q.getManySync(1000);
    expect(a.length).toBe(200);
    expect(b.length).toBe(300);
    expect([...a, ...b].map((v) => (v as { i: number }).i)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(() => q.getManySync(5, { timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY' }));
  });

  it('putManySync that times out reports how many went in, and they stay queued', () => {
    using q = Queue.create(uniqueName(), { maxsize: 3 });
    let error: unknown;
    try {
      q.putManySync([1, 2, 3, 4, 5], { timeout: 50 });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_QUEUE_FULL', putCount: 3 });
    expect(q.getManySync(10)).toEqual([1, 2, 3]);
  });

  it('a value the codec refuses puts nothing, in single and batch puts', () => {
    using q = Queue.create(uniqueName());
    expect(() => q.putSync({ f: () => 1 } as unknown)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => q.putManySync([1, 2, Symbol('x')])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(q.qsize()).toBe(0);
    expect(q.stats().puts).toBe(0);
  });

  it('raw messages handed out stay valid after later gets', () => {
    using q = Queue.create(uniqueName(), { codec: 'raw', capacity: 1 << 16 });
    const held: Buffer[] = [];
    for (let round = 0; round < 2000; round++) {
      q.putSync(Buffer.alloc(200, round & 0xff));
      held.push(q.getSync() as Buffer);
    }
    for (const [i, b] of held.entries()) expect(b.every((x) => x === (i & 0xff))).toBe(true);
  });

  it('large messages (larger than the read slab) round-trip', () => {
    using q = Queue.create(uniqueName(), { codec: 'raw', capacity: 8 << 20 });
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    q.putSync(big);
    q.putSync(Buffer.from('small'));
    expect(Buffer.compare(q.getSync() as Buffer, big)).toBe(0);
    expect((q.getSync() as Buffer).toString()).toBe('small');
  });

  it('stats() counts puts, gets, messages and bytes', () => {
    using q = Queue.create(uniqueName(), { codec: 'string' });
    q.putSync('abc');
    q.putSync('defgh');
    q.getSync();
    const s = q.stats();
    expect(s).toMatchObject({
      puts: 2,
      gets: 1,
      messages: 1,
      bytesUsed: 16,
      recoveries: 0,
      shutdown: 'none',
      codec: 'string',
    });
    expect(s.attached).toEqual([{ pid: process.pid, handles: 1 }]);
  });
});
