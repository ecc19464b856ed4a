// Workers that never finish starting (Node 20 blocks forever in its platform start-up when it cannot
// create its threads; a preload that never returns; a module whose import never settles). They never
// report ready and never read their queue or their stdin. Simulated here by a preload that blocks the
// worker's thread before the worker's own code runs (fixtures/pool/hang-preload.mjs), in every worker
// or only in the first one spawned.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PoolStartupError,
  ProcessPool,
  type ProcessPool as Pool,
  Queue,
  WorkerStartupTimeoutError,
} from '../src/index.js';
import { collect, lineReader, spawnNode } from './helpers.js';
import { alive, fixture, gone, makePool, notePids, TASKS, until } from './pool-helpers.js';

const HANG = ['--import', fixture('hang-preload.mjs').href];
const dir = mkdtempSync(join(tmpdir(), 'shmq-pool-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let onceSeq = 0;
/** Under `env`, only the first worker spawned hangs; `pid()` is its pid, once it hangs. */
function hangOnce(): { file: string; env: NodeJS.ProcessEnv; pid: () => Promise<number> } {
  const file = join(dir, `once-${++onceSeq}`);
  const written = (): boolean => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n');
  return {
    file,
    env: { ...process.env, SHMQ_TEST_HANG_ONCE: file },
    pid: async () => {
      await until(written, 10_000, 'the first worker to hang');
      return Number(readFileSync(file, 'utf8'));
    },
  };
}

/** Every worker pid the pool has had (it replaces workers that fail), sampled every few ms. */
function watchPids(pool: Pool): { seen: Set<number>; stop: () => void } {
  const seen = new Set<number>();
  const note = (): void => {
    for (const pid of notePids(pool)) seen.add(pid);
  };
  note();
  const timer = setInterval(note, 5);
  return { seen, stop: () => clearInterval(timer) };
}

const setprivMissing = ((): string => {
  try {
    execFileSync('sh', ['-c', 'command -v setpriv'], { stdio: 'pipe' });
    return '';
  } catch {
    return 'setpriv (util-linux) is not installed: workers get no parent-death signal';
  }
})();
if (setprivMissing) console.warn(`pool parent-death test skipped: ${setprivMissing}`);

describe('ProcessPool: workers that never finish starting', () => {
  it('every worker stuck before its code runs: calls reject with ERR_POOL_STARTUP after startupTimeout, no worker left', async () => {
    const t0 = performance.now();
    const pool = makePool({ processes: 2, startupTimeout: 300, execArgv: HANG });
    const pids = watchPids(pool);
    const [a, b] = await Promise.all([
      pool.apply('echo', [1]).catch((e: unknown) => e),
      pool.map('square', [1, 2, 3]).catch((e: unknown) => e),
    ]);
    const ms = performance.now() - t0;
    pids.stop();
    expect(a).toBeInstanceOf(PoolStartupError);
    expect(b).toBe(a);
    expect(a).toMatchObject({
      code: 'ERR_POOL_STARTUP',
      failures: 3, // each kill counts in full (a signal from outside would count 0.3)
      cause: { code: 'ERR_WORKER_STARTUP_TIMEOUT', timeout: 300 },
    });
    expect((a as Error).cause).toBeInstanceOf(WorkerStartupTimeoutError);
    expect((a as Error).message).toMatch(/did not start within 300 ms/);
    // The first two workers' bounds, then a replacement's: two bounds at least, far from forever.
    expect(ms).toBeGreaterThanOrEqual(600);
    expect(ms).toBeLessThan(10_000);
    expect(pool.stats()).toMatchObject({ state: 'failed', crashed: 0 });
    await pool.join();
    expect(pool.stats().workers).toBe(0);
    expect(pids.seen.size).toBeGreaterThanOrEqual(3);
    for (const pid of pids.seen) expect(gone(pid), `worker pid ${pid} still there`).toBe(true);
  });

  it('a task module whose import never settles is a start-up failure too; close() then join() end', async () => {
    const pool = makePool({ processes: 1, startupTimeout: 300 }, fixture('never-loads.mjs'));
    const pids = watchPids(pool);
    const call = pool.apply('ok').catch((e: unknown) => e);
    pool.close(); // the call was accepted: join() waits for it to settle, which it does, as a failure
    await pool.join();
    pids.stop();
    expect(await call).toMatchObject({ code: 'ERR_POOL_STARTUP', cause: { code: 'ERR_WORKER_STARTUP_TIMEOUT' } });
    expect(pids.seen.size).toBe(3);
    for (const pid of pids.seen) expect(gone(pid), `worker pid ${pid} still there`).toBe(true);
  });

  it('one worker stuck in start-up while the other starts: map completes, close() and join() do not wait for it', async () => {
    const once = hangOnce();
    const pool = makePool({ processes: 2, env: once.env, execArgv: HANG, startupTimeout: 60_000 });
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(await pool.map('square', items)).toEqual(items.map((x) => x * x));
    const stuck = await once.pid();
    expect(alive(stuck)).toBe(true);
    expect(pool.stats()).toMatchObject({ workers: 2, starting: 1 });
    const t0 = performance.now();
    pool.close();
    await pool.join();
    expect(performance.now() - t0).toBeLessThan(5_000); // not the 60 s start-up bound: it was killed
    expect(gone(stuck)).toBe(true);
    expect(pool.stats()).toMatchObject({ workers: 0, crashed: 0, state: 'closed' });
  });

  it('a worker not ready within startupTimeout is killed and replaced: the pool keeps `processes` workers', async () => {
    const once = hangOnce();
    const pool = makePool({ processes: 2, env: once.env, execArgv: HANG, startupTimeout: 500 });
    const stuck = await once.pid();
    await until(() => gone(stuck), 10_000, 'the stuck worker to be killed');
    await until(() => pool.stats().workers === 2 && pool.stats().starting === 0, 10_000, 'its replacement');
    expect(pool.stats().pids).not.toContain(stuck);
    expect(await pool.map('square', [1, 2, 3, 4])).toEqual([1, 4, 9, 16]);
    expect(pool.stats()).toMatchObject({ state: 'running', crashed: 0 });
  });

  it('terminate() kills workers stuck in start-up at once', async () => {
    const pool = makePool({ processes: 2, execArgv: HANG }); // the default bound (30 s) is far away
    const pids = notePids(pool);
    expect(pids).toHaveLength(2);
    const pending = pool.apply('echo', [1]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.stats().starting).toBe(2);
    const t0 = performance.now();
    await pool.terminate();
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(await pending).toMatchObject({ code: 'ERR_POOL_TERMINATED' });
    for (const pid of pids) expect(gone(pid)).toBe(true);
  });

  it.skipIf(setprivMissing !== '')(
    "the pool's process SIGKILLed: a worker stuck in start-up dies with it (parent-death signal)",
    async () => {
      const once = hangOnce();
      const child = spawnNode(
        `const pool = new shm.ProcessPool(new URL(ARGS.tasks), {
           processes: 2, execArgv: ARGS.execArgv, env: { ...process.env, SHMQ_TEST_HANG_ONCE: ARGS.file } });
         console.log(JSON.stringify(await pool.apply('echo', [process.pid])));
         setInterval(() => {}, 1000);`,
        { tasks: TASKS.href, execArgv: HANG, file: once.file },
      );
      const next = lineReader(child);
      expect(await next()).toBe(child.pid); // the other worker started and answered
      const stuck = await once.pid();
      expect(alive(stuck)).toBe(true);
      child.kill('SIGKILL'); // no exit handler runs; the stuck worker never reads its stdin
      try {
        await until(() => gone(stuck), 10_000, 'the stuck worker to die with the pool process');
      } finally {
        if (!gone(stuck)) process.kill(stuck, 'SIGKILL');
      }
      // (Its output pipes, inherited from the pool's process, close only once it is gone.)
      expect((await collect(child)).signal).toBe('SIGKILL');
      // A SIGKILLed pool cannot unlink its two queues (`shm-queue gc` would); this test made them.
      const prefix = `shm-queue.shmq-pool-${child.pid}-`;
      for (const file of readdirSync('/dev/shm'))
        if (file.startsWith(prefix)) Queue.unlink(file.slice('shm-queue.'.length));
    },
  );

  it('startupTimeout: bad values are refused with a typed error; Infinity means no limit', async () => {
    for (const value of [0, -1, Number.NaN, 2 ** 31])
      expect(() => new ProcessPool(TASKS, { startupTimeout: value })).toThrow(
        expect.objectContaining({
          code: 'ERR_OUT_OF_RANGE',
          message: expect.stringMatching(/options\.startupTimeout/),
        }),
      );
    expect(() => new ProcessPool(TASKS, { startupTimeout: '5000' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    const pool = makePool({ processes: 1, startupTimeout: Infinity });
    expect(await pool.apply('echo', ['no limit'])).toBe('no limit');
  });
});
