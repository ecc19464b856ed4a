import { describe, expect, it } from 'vitest';
import { PoolStartupError, Queue, TaskTimeoutError, WorkerCrashedError } from '../src/index.js';
import { spawnNode, uniqueName, collect, lineReader } from './helpers.js';
import { alive, fixture, makePool, notePids, poolSegments, until } from './pool-helpers.js';

describe('ProcessPool: failures never hang the pool', () => {
  it('a worker SIGKILLed mid-task rejects exactly that task with ERR_WORKER_CRASHED; the rest finish', async () => {
    const pool = makePool();
    using started = Queue.create<number>(uniqueName('started'));
    const victim = pool.apply('startedThenSleep', [started, 60_000]);
    const pid = await started.get({ timeout: 10_000 });
    const others = Array.from({ length: 40 }, (_, i) => pool.apply('sleep', [5, i]));
    process.kill(pid, 'SIGKILL');
    const error = await victim.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error).toMatchObject({
      code: 'ERR_WORKER_CRASHED',
      signal: 'SIGKILL',
      exitCode: null,
      pid,
      task: { name: 'startedThenSleep', attempts: 1 },
    });
    expect(await Promise.all(others)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(alive(pid)).toBe(false);
    expect(await pool.apply('square', [3])).toBe(9);
    await until(() => pool.stats().workers === 2, 10_000, 'the replacement worker');
    expect(pool.stats()).toMatchObject({ crashed: 1, failed: 1, workers: 2 });
    expect(pool.stats().pids).not.toContain(pid);
  });

  it('workers killed at random while 1,500 tasks run: each kill fails at most the one task that worker held', async () => {
    const pool = makePool();
    const tasks = Array.from({ length: 1500 }, (_, i) =>
      pool.apply<number>('sleep', [1, i]).then(
        (v) => ({ ok: true as const, v }),
        (e: { code: string; pid: number }) => ({ ok: false as const, e }),
      ),
    );
    const killed = new Set<number>();
    let finished = false;
    void Promise.all(tasks).then(() => (finished = true));
    while (!finished && killed.size < 6) {
      await new Promise((r) => setTimeout(r, 150));
      const pid = pool.stats().pids.find((p) => !killed.has(p));
      if (pid === undefined || finished) continue;
      killed.add(pid);
      process.kill(pid, 'SIGKILL');
    }
    const results = await Promise.all(tasks);
    const failures = results.filter((r) => !r.ok).map((r) => (r as { e: { code: string; pid: number } }).e);
    for (const e of failures) expect(e).toMatchObject({ code: 'ERR_WORKER_CRASHED', signal: 'SIGKILL' });
    const perPid = new Map<number, number>();
    for (const e of failures) perPid.set(e.pid, (perPid.get(e.pid) ?? 0) + 1);
    for (const [pid, n] of perPid) {
      expect(killed.has(pid)).toBe(true);
      expect(n).toBe(1); // exactly the task it held; the ones queued behind it ran elsewhere
    }
    for (const [i, r] of results.entries()) if (r.ok) expect(r.v).toBe(i);
    expect(killed.size).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeGreaterThanOrEqual(1); // some kills hit a busy worker
    expect(pool.stats().crashed).toBe(killed.size);
    expect(results.filter((r) => r.ok).length).toBe(1500 - failures.length);
  });

  it('with retries, a task whose worker died runs again on a new worker', async () => {
    const pool = makePool({ processes: 1, retries: 2 });
    using tokens = Queue.create<number>(uniqueName('tokens'));
    tokens.putSync(1);
    tokens.putSync(2); // two crashes, then it survives
    expect(await pool.apply('crashWhileTokens', [tokens])).toBe('survived');
    expect(pool.stats()).toMatchObject({ crashed: 2, retried: 2, done: 1, failed: 0 });
    tokens.putSync(3);
    tokens.putSync(4);
    tokens.putSync(5);
    const error = await pool.apply('crashWhileTokens', [tokens]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_WORKER_CRASHED', task: { attempts: 3 } });
  });

  it('process.exit() inside a task is a crash with its exit code', async () => {
    const pool = makePool({ processes: 1 });
    await expect(pool.apply('exit', [3])).rejects.toMatchObject({
      code: 'ERR_WORKER_CRASHED',
      exitCode: 3,
      signal: null,
    });
    expect(await pool.apply('echo', ['after'])).toBe('after');
  });

  it('taskTimeout stops a running task: its worker is killed and replaced', async () => {
    const pool = makePool({ processes: 1, taskTimeout: 300 });
    await pool.apply('echo', [0]);
    const [pid] = notePids(pool);
    const started = Date.now();
    const error = await pool.apply('spin', [20_000]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TASK_TIMEOUT', timeout: 300, task: { name: 'spin' } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await pool.apply('echo', ['next'])).toBe('next');
    expect(alive(pid as number)).toBe(false);
    expect(pool.stats().pids).not.toContain(pid);
    expect(pool.stats().crashed).toBe(0); // stopped on purpose, not a crash
  });

  it('an AbortSignal cancels: before the call, while queued, and while running (worker replaced)', async () => {
    const pool = makePool({ processes: 1 });
    await expect(pool.apply('echo', [1], { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    using started = Queue.create<number>(uniqueName('abort'));
    const controller = new AbortController();
    const running = pool.apply('startedThenSleep', [started, 60_000], { signal: controller.signal });
    const queued = pool.apply('echo', ['queued behind'], { signal: controller.signal });
    const pid = await started.get({ timeout: 10_000 });
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => !alive(pid), 10_000, 'the aborted worker to exit');
    expect(await pool.apply('echo', ['fine'])).toBe('fine');
    // A call timeout rejects a task still waiting behind another one.
    const blocker = pool.apply('sleep', [400]);
    const late = pool.apply('echo', ['never'], { timeout: 50 });
    await expect(late).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
    await blocker;
  });

  it('maxQueued: submitting waits for room (the queue never grows past it), honouring timeout and signal', async () => {
    const pool = makePool({ processes: 1, maxQueued: 3 });
    await pool.apply('sleep', [50]); // the pool learns these tasks are long: one at a time per worker
    let maxQueued = 0;
    const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, pool.stats().queued)), 2);
    // 12 tasks of 100 ms on one worker: a call made now has at least 3 tasks ahead of it.
    const mapped = pool.map(
      'sleep',
      Array.from({ length: 12 }, () => 100),
      { chunksize: 1 },
    );
    await new Promise((r) => setTimeout(r, 50));
    // The queue is full: a call waits for room; with a timeout it gives up, with a signal it aborts.
    await expect(pool.apply('echo', ['late'], { timeout: 30 })).rejects.toMatchObject({ code: 'ERR_TASK_TIMEOUT' });
    await expect(pool.apply('echo', ['late'], { signal: AbortSignal.timeout(30) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const waited = pool.apply('echo', ['waited']);
    expect(await mapped).toHaveLength(12);
    expect(await waited).toBe('waited');
    clearInterval(sampler);
    expect(maxQueued).toBeGreaterThanOrEqual(3); // it did fill up...
    expect(maxQueued).toBeLessThanOrEqual(3 + 1); // ...and held 3, plus at most the one call waiting for room
  });

  it('terminate() with tasks pending and running rejects them all with ERR_POOL_TERMINATED, kills the workers', async () => {
    const pool = makePool();
    await pool.apply('echo', [0]);
    const pids = notePids(pool);
    const tasks = Array.from({ length: 20 }, () => pool.apply('sleep', [30_000]));
    const settled = Promise.allSettled(tasks);
    const started = Date.now();
    await pool.terminate();
    const results = await settled;
    expect(
      results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_POOL_TERMINATED'),
    ).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(poolSegments()).toEqual([]);
    await expect(pool.apply('echo', [1])).rejects.toMatchObject({ code: 'ERR_POOL_TERMINATED' });
  });

  it('a module that cannot load fails the pool fast with ERR_POOL_STARTUP saying why', async () => {
    const pool = makePool({}, fixture('bad-import.mjs'));
    const started = Date.now();
    const error = await pool.apply('anything').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolStartupError);
    expect(error).toMatchObject({ code: 'ERR_POOL_STARTUP', cause: { code: 'ERR_TASK_MODULE' } });
    expect((error as Error).message).toMatch(/this module refuses to load/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(pool.stats().state).toBe('failed');
    await expect(pool.apply('anything')).rejects.toBe(error);
    await pool.join(); // a failed pool has stopped: join waits for the last worker to be gone
    expect(pool.stats().workers).toBe(0);
  });

  it('a throwing or missing initializer fails the pool fast too', async () => {
    const throwing = makePool({ initializer: 'init' }, fixture('bad-init.mjs'));
    const missing = makePool({ initializer: 'nope' });
    const [a, b] = await Promise.all([
      throwing.apply('ok').catch((e) => e),
      missing.apply('echo', [1]).catch((e) => e),
    ]);
    expect(a).toMatchObject({
      code: 'ERR_POOL_STARTUP',
      cause: { name: 'RangeError', message: 'the initializer cannot start' },
    });
    expect((a as Error).cause).toBeInstanceOf(RangeError);
    expect(b).toMatchObject({ code: 'ERR_POOL_STARTUP', cause: { code: 'ERR_UNKNOWN_TASK' } });
  });

  it('when the pool process itself is SIGKILLed, its workers exit and no segment is left', async () => {
    const tasks = fixture('tasks.mjs').href;
    const child = spawnNode(
      `const pool = new shm.ProcessPool(new URL(ARGS), { processes: 2 });
       await pool.apply('echo', [1]);
       console.log(JSON.stringify(pool.stats().pids));
       setInterval(() => {}, 1000);`,
      tasks,
    );
    const next = lineReader(child);
    const pids = (await next()) as number[];
    expect(pids).toHaveLength(2);
    child.kill('SIGKILL');
    await collect(child);
    await until(() => pids.every((pid) => !alive(pid)), 10_000, 'the orphaned workers to exit');
    expect(poolSegments(child.pid)).toEqual([]);
  });
});
