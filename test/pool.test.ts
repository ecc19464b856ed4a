import { describe, expect, it } from 'vitest';
import {
  AsyncResult,
  JoinableQueue,
  PoolClosedError,
  ProcessPool,
  ProcessPoolError,
  Queue,
  ShmQueueError,
  UnknownTaskError,
} from '../src/index.js';
import { uniqueName } from './helpers.js';
import { alive, fixture, makePool, notePids, poolSegments, TASKS } from './pool-helpers.js';

describe('ProcessPool: the seed program and the calls', () => {
  it("runs the seed's pool program: a queue in the arguments, apply, map, imapUnordered, close, join", async () => {
    const pool = makePool();
    using queue = Queue.create(uniqueName('seed'), { maxsize: 5, exclusive: false });
    const result = pool.applyAsync('writeQueue', [queue]);
    expect(result).toBeInstanceOf(AsyncResult);
    expect(await result.wait()).toBe(true);
    expect(result.ready() && result.successful()).toBe(true);
    expect(queue.qsize()).toBe(5); // the worker's puts are in shared memory: no lag
    expect(await pool.apply('readQueue', [queue])).toEqual([0, 1, 2, 3, 4]);
    expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
    let count = 0;
    let sum = 0;
    const range = (n: number) => ({
      *[Symbol.iterator]() {
        for (let i = 0; i < n; i++) yield i;
      },
    });
    for await (const y of pool.imapUnordered<number>('square', range(100_000), { chunksize: 256 })) {
      count++;
      sum += y;
    }
    expect(count).toBe(100_000);
    expect(sum).toBe(333328333350000);
    expect(queue.closed).toBe(false); // the caller's handle is untouched
    const pids = notePids(pool);
    expect(pids).toHaveLength(2);
    expect(poolSegments()).toEqual([]); // workers unlink their queues' names once open
    pool.close();
    await pool.join();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(pool.stats()).toMatchObject({ workers: 0, state: 'closed', crashed: 0 });
  });

  it('map of 10,000 items keeps their order (default and explicit chunksize); starmap spreads arguments', async () => {
    const pool = makePool();
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    expect(await pool.map('square', items)).toEqual(items.map((x) => x * x));
    expect(await pool.map('square', items, { chunksize: 7 })).toEqual(items.map((x) => x * x));
    expect(await pool.map('square', [])).toEqual([]);
    expect(
      await pool.starmap('add', [
        [1, 2],
        [3, 4],
        ['a', 'b'],
      ]),
    ).toEqual([3, 7, 'ab']);
  });

  it('imapUnordered yields every result exactly once; imap keeps order, reads lazily and stops on break', async () => {
    const pool = makePool();
    const seen = new Map<number, number>();
    for await (const v of pool.imapUnordered<number>(
      'echo',
      Array.from({ length: 5000 }, (_, i) => i),
      { chunksize: 3 },
    ))
      seen.set(v, (seen.get(v) ?? 0) + 1);
    expect(seen.size).toBe(5000);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    async function* source() {
      for (let i = 0; i < 300; i++) yield i;
    }
    const ordered: number[] = [];
    for await (const v of pool.imap<number>('square', source())) ordered.push(v);
    expect(ordered).toEqual(Array.from({ length: 300 }, (_, i) => i * i));

    let pulled = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const firstTen: number[] = [];
    for await (const v of pool.imap<number>('echo', endless())) {
      firstTen.push(v);
      if (firstTen.length === 10) break;
    }
    expect(firstTen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(pulled).toBeLessThan(5000); // a bounded window, not the whole (endless) iterable
  });

  it('close() right after map() or imap() lets them finish, as in Python (imap read or not)', async () => {
    const pool = makePool();
    const mapped = pool.map(
      'square',
      Array.from({ length: 2000 }, (_, i) => i),
      { chunksize: 10 },
    );
    const ordered = pool.imap<number>(
      'square',
      Array.from({ length: 3000 }, (_, i) => i),
    );
    const neverRead = pool.imapUnordered(
      'square',
      Array.from({ length: 3000 }, (_, i) => i),
    );
    pool.close();
    await expect(pool.apply('square', [2])).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect((await mapped).length).toBe(2000);
    let n = 0;
    for await (const v of ordered) expect(v).toBe(n * n++);
    expect(n).toBe(3000);
    await pool.join(); // the unread imapUnordered was sent in full and ran: join does not wait on readers
    expect(pool.stats().done).toBeGreaterThanOrEqual(200 + 3000 + 3000);
    let m = 0;
    for await (const _ of neverRead) m++;
    expect(m).toBe(3000); // its results were kept
  });

  it('AsyncResult: ready, successful, wait(timeout), get(timeout) and await', async () => {
    const pool = makePool({ processes: 1 });
    const slow = pool.applyAsync<number>('sleep', [300, 42]);
    expect(slow.ready()).toBe(false);
    expect(slow.successful()).toBe(false);
    expect(await slow.wait(20)).toBe(false);
    await expect(slow.get(20)).rejects.toMatchObject({ code: 'ERR_RESULT_TIMEOUT' });
    expect(await slow.get()).toBe(42); // the timeout did not stop the task
    expect(await slow).toBe(42);
    expect(slow.successful()).toBe(true);
    const failed = pool.applyAsync('throwValidation', ['x']);
    expect(await failed.wait()).toBe(true);
    expect(failed.successful()).toBe(false);
    await expect(failed.get()).rejects.toMatchObject({ code: 'E_VALIDATION' });
  });

  it('the initializer runs once in each worker, with initArgs; maxTasksPerChild replaces workers', async () => {
    const pool = makePool({ initializer: 'init', initArgs: [{ greeting: 'hello' }], maxTasksPerChild: 5 });
    const states = [];
    for (let i = 0; i < 30; i++)
      states.push(await pool.apply<{ initCount: number; initValue: unknown; pid: number }>('initState'));
    for (const s of states) {
      expect(s.initCount).toBe(1);
      expect(s.initValue).toEqual({ greeting: 'hello' });
    }
    const perPid = new Map<number, number>();
    for (const s of states) perPid.set(s.pid, (perPid.get(s.pid) ?? 0) + 1);
    expect(perPid.size).toBeGreaterThanOrEqual(6); // 30 tasks, at most 5 per process
    for (const n of perPid.values()) expect(n).toBeLessThanOrEqual(5);
    for (const pid of perPid.keys()) if (!notePids(pool).includes(pid)) expect(alive(pid)).toBe(false);
    expect(pool.stats().recycled).toBeGreaterThanOrEqual(4);
    expect(pool.stats().crashed).toBe(0);
  });

  it('a throwing task rejects with its class, message, code, own properties and the worker stack', async () => {
    const pool = makePool({ processes: 1 });
    const error = await pool.apply('throwValidation', ['age']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError); // nearest built-in ancestor of ValidationError
    expect((error as Error).constructor.name).toBe('ValidationError');
    expect(error).toMatchObject({
      name: 'ValidationError',
      message: 'field age is invalid',
      code: 'E_VALIDATION',
      field: 'age',
    });
    expect((error as Error).stack).toMatch(
      /ValidationError: field age is invalid\n\s+at throwValidation \(file:.*tasks\.mjs/,
    );
    const plain = await pool.apply('rejectPlain').catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(Error);
    expect(plain).toMatchObject({ message: 'plain failure', code: 'E_PLAIN' });
    expect((plain as Error).stack).toContain('rejectPlain');
    await expect(pool.apply('throwString')).rejects.toBe('just a string');
    const unsendable = await pool.apply('returnFunction').catch((e: unknown) => e);
    expect(unsendable).toBeInstanceOf(ProcessPoolError);
    expect(unsendable).toBeInstanceOf(ShmQueueError); // one error family for the whole package
    expect(unsendable).toMatchObject({ code: 'ERR_TASK_RESULT' });
    // The package's own errors come back as themselves.
    const name = uniqueName('gone');
    const missing = await pool.apply('readQueue', [{ not: 'a queue' }]).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TypeError);
    expect(await pool.apply('echo', [name])).toBe(name); // the worker is fine after all of that
    expect(pool.stats()).toMatchObject({ crashed: 0, workers: 1 });
  });

  it("queues travel by name at any depth (Map, cycles) and in results; a returned argument queue is the caller's own", async () => {
    const pool = makePool({ processes: 1 });
    using q = Queue.create<string>(uniqueName('nested'), { maxsize: 4 });
    q.putSync('first');
    const arg: Record<string, unknown> = { list: [{ q }], map: new Map([['k', q]]) };
    arg['self'] = arg;
    expect(await pool.apply('nested', [arg])).toEqual({ first: 'first', same: true, cyc: true });

    const made = uniqueName('made');
    const result = await pool.apply<{ queue: Queue<number>; count: number }>('makeQueue', [made, [7, 8, 9]]);
    expect(result.queue).toBeInstanceOf(Queue);
    expect(result.queue.name).toBe(made);
    expect(result.count).toBe(3);
    expect(result.queue.getManySync(10)).toEqual([7, 8, 9]); // arrives opened
    result.queue.close();

    using jq = JoinableQueue.create(uniqueName('joinable'));
    const kept = await pool.apply<{ q: Queue; name: string }>('keepQueue', [jq]);
    expect(kept.q).toBe(jq); // the caller's own handle, not a second one
    expect(kept.q).toBeInstanceOf(JoinableQueue);
  });

  it("a task's queue handle is closed when the task ends, unless the task returned it (then it stays open)", async () => {
    const pool = makePool({ processes: 1 });
    using q = Queue.create<number>(uniqueName('attach'));
    const [pid] = notePids(pool).length ? notePids(pool) : [await pool.apply<number>('pid')];
    const attached = () => q.stats().attached.find((a) => a.pid === pid)?.handles ?? 0;
    await pool.apply('writeQueue', [q]);
    expect(attached()).toBe(0); // closed after the task
    await pool.apply('keepQueue', [q]);
    expect(attached()).toBe(1); // returned: kept open in the worker
    const early = new ProcessPool(TASKS, { processes: 1 });
    try {
      // Before any worker is ready the exports are unknown: the call waits, then is refused unsent.
      await expect(early.apply('noSuchTask')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TASK' });
      expect(early.stats()).toMatchObject({ done: 0, running: 0 });
    } finally {
      await early.terminate();
    }
  });

  it('refuses at the call, sending nothing: unknown export, unserializable or too large arguments, custom codecs', async () => {
    const pool = makePool({ processes: 1, queueCapacity: 64 * 1024 });
    await pool.apply('echo', [1]); // a worker is ready: the module's exports are known
    const before = pool.stats().done + pool.stats().failed;
    const unknown = pool.apply('noSuchTask');
    await expect(unknown).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(unknown).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TASK', taskName: 'noSuchTask' });
    await expect(unknown).rejects.toThrow(/exports: .*square/);
    await expect(pool.apply('echo', [() => 1])).rejects.toMatchObject({ code: 'ERR_TASK_ARGUMENTS' });
    await expect(pool.apply('echo', [Buffer.alloc(100 * 1024)])).rejects.toThrow(/queueCapacity/);
    const custom = {
      name: 'custom-json',
      encode: (v: unknown) => Buffer.from(JSON.stringify(v)),
      decode: (b: Uint8Array) => JSON.parse(Buffer.from(b).toString()),
    };
    using cq = Queue.create(uniqueName('custom'), { codec: custom });
    await expect(pool.apply('echo', [cq])).rejects.toMatchObject({
      code: 'ERR_TASK_ARGUMENTS',
      message: expect.stringMatching(/codecs/),
    });
    await expect(pool.map('noSuchTask', [1])).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TASK' });
    await expect(pool.imap('noSuchTask', [1]).next()).rejects.toMatchObject({ code: 'ERR_UNKNOWN_TASK' });
    await expect(pool.apply('echo', 'not an array' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(pool.apply('echo', [], { timeOut: 5 } as never)).rejects.toThrow(/did you mean "timeout"/);
    expect(pool.stats().done + pool.stats().failed).toBe(before); // none of them reached a worker
    await expect(pool.join()).rejects.toMatchObject({ code: 'ERR_POOL_RUNNING' });
  });

  it('a custom codec given by module URL and export: its queue works in the worker', async () => {
    const { jsonLines } = (await import(fixture('codec.mjs').href)) as { jsonLines: never };
    const pool = makePool({
      processes: 1,
      codecs: { 'json-lines': { module: fixture('codec.mjs'), export: 'jsonLines' } },
    });
    using q = Queue.create(uniqueName('cc'), { codec: jsonLines, maxsize: 20 });
    await pool.apply('writeQueue', [q]);
    expect(q.getManySync(20)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('bad constructor input: missing module, bad options, unsendable initArgs', () => {
    expect(() => new ProcessPool(fixture('does-not-exist.mjs'))).toThrow(
      expect.objectContaining({ code: 'ERR_TASK_MODULE' }),
    );
    expect(() => new ProcessPool(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new ProcessPool(TASKS, { processes: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => new ProcessPool(TASKS, { proceses: 2 } as never)).toThrow(/Known options/);
    expect(() => new ProcessPool(TASKS, { initArgs: [1] })).toThrow(/needs options.initializer/);
    expect(() => new ProcessPool(TASKS, { initializer: 'init', initArgs: [Symbol('x')] })).toThrow(
      expect.objectContaining({ code: 'ERR_TASK_ARGUMENTS' }),
    );
    expect(poolSegments()).toEqual([]);
  });

  it('after close() calls reject with ERR_POOL_CLOSED while accepted tasks finish; await using closes and joins', async () => {
    const pool = makePool({ processes: 1 });
    const running = pool.apply('sleep', [200, 'done']);
    pool.close();
    await expect(pool.apply('echo', [1])).rejects.toBeInstanceOf(PoolClosedError);
    await expect(pool.map('echo', [1])).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(await running).toBe('done');
    await pool.join();
    expect(pool.stats().workers).toBe(0);

    let pids: number[] = [];
    {
      await using scoped = new ProcessPool(TASKS, { processes: 2 });
      expect(await scoped.apply('square', [9])).toBe(81);
      pids = scoped.stats().pids;
    }
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
