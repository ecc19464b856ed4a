// The pool under a thread limit (RLIMIT_NPROC) as another user: some `node` workers then fail
// pthread_create during Node's own platform start-up, and Node 20 either aborts or blocks forever
// there (before any of the worker's code runs, so it never reports ready and never reads its stdin).
// Before startupTimeout, about one run in seven of this program hung in close()/join() for good.
// Each run must end, with the results or with ERR_POOL_STARTUP, and leave no worker behind.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collect } from './helpers.js';
import { hostileUser, spawnHostile } from './hostile-helpers.js';
import { TASKS } from './pool-helpers.js';

const RUNS = 6;
const NPROC = 45;
const WORKER_FILE = fileURLToPath(new URL('../dist/pool/worker.js', import.meta.url));

/** The hostile user's processes running this checkout's pool worker (a zombie has no arguments). */
function workersOf(prefix: string): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-u', 'shmq-hostile', '-o', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when the user has no process
  }
  return out.split('\n').filter((line) => line.includes(WORKER_FILE) && line.includes(prefix));
}

interface RunOutcome {
  results?: number;
  code?: string;
  cause?: string | null;
  message?: string;
  starting: number;
  ms: number;
}

describe('ProcessPool under RLIMIT_NPROC (workers that cannot create their threads)', () => {
  const user = hostileUser();
  it.skipIf(typeof user === 'string')(
    `${RUNS} runs of map + close + join with --nproc=${NPROC} as another user each end, and leave no worker`,
    async () => {
      const outcomes: RunOutcome[] = [];
      for (let run = 0; run < RUNS; run++) {
        // The process lowers its own limit once it has started (a node that cannot start its own
        // threads would hang before running this code: Node's bug, not the pool's); its workers
        // inherit the limit.
        const child = spawnHostile(
          `import { execFileSync } from 'node:child_process';
           execFileSync('prlimit', ['--pid', String(process.pid), '--nproc=' + ARGS.nproc + ':' + ARGS.nproc]);
           const t0 = performance.now();
           const out = { starting: 0 };
           try {
             const pool = new shm.ProcessPool(new URL(ARGS.tasks), { processes: 4, startupTimeout: 2000 });
             try {
               out.results = (await pool.map('square', Array.from({ length: 50 }, (_, i) => i))).length;
             } catch (e) {
               Object.assign(out, { code: e.code, cause: e.cause?.code ?? null, message: e.message });
             }
             // Workers still not ready 1.5 s after the start are stuck (a healthy one takes ~0.1-1 s);
             // close() must not wait for them.
             await new Promise((r) => setTimeout(r, 1500 - (performance.now() - t0)));
             out.starting = pool.stats().starting;
             pool.close();
             await pool.join();
           } catch (e) {
             Object.assign(out, { code: e.code ?? 'thrown', message: e.message });
           }
           out.ms = Math.round(performance.now() - t0);
           console.log(JSON.stringify(out));`,
          { tasks: TASKS.href, nproc: NPROC },
          { user: user as Exclude<typeof user, string> },
        );
        const r = await collect(child, 15_000);
        expect(r.signal, `run ${run} was killed after 15 s: ${r.stderr}`).toBeNull();
        const line = r.stdout.trim().split('\n').pop() ?? '';
        const out = JSON.parse(line) as RunOutcome;
        outcomes.push(out);
        if (out.code !== undefined) expect(out, r.stderr).toMatchObject({ code: 'ERR_POOL_STARTUP' });
        else expect(out.results).toBe(50);
        expect(out.ms).toBeLessThan(12_000);
        expect(workersOf(`shmq-pool-${child.pid}-`)).toEqual([]);
      }
      const ok = outcomes.filter((o) => o.results === 50).length;
      const stuck = outcomes.filter((o) => o.starting > 0).length;
      console.log(
        `pool under --nproc=${NPROC}: ${RUNS} runs, ${ok} with results, ${RUNS - ok} ERR_POOL_STARTUP, ` +
          `${stuck} with a worker stuck in start-up (not ready after 1.5 s); longest ${Math.max(...outcomes.map((o) => o.ms))} ms`,
      );
      expect(workersOf('shmq-pool-')).toEqual([]);
    },
  );
});
