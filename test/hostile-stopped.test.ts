// A stopped lock holder, items 9, 10 and 11 of issue 11: a peer SIGSTOPped (a debugger, a frozen
// cgroup) while it holds the queue lock. Every call that is not a wait returns within 100 ms, the
// non-waiting put/get say "busy" instead of lying "full"/"empty", and a stall past the bound is
// ERR_QUEUE_LOCK_STALLED naming the holder, never ERR_QUEUE_CORRUPT; after SIGCONT the same
// handles go on with every message. The holder takes the lock through the test-hook build
// (testHoldLock: lock, sleep, unlock), so it provably holds it when it is stopped.
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { JoinableQueue, Queue, inspectQueue } from '../src/index.js';
import { collect, lineReader, uniqueName } from './helpers.js';
import { spawnHostile, timed } from './hostile-helpers.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
});

/** Starts a process that takes the lock of queue `name`, holds it `holdMs`, releases it and says so. */
async function stoppedHolder(
  name: string,
  holdMs: number,
): Promise<{ child: ChildProcess; next: () => Promise<unknown> }> {
  const child = spawnHostile(
    `const h = new addon.QueueHandle(1, ARGS.name, 64, 0, 0, 'json', 0o600);
     console.log(JSON.stringify({ pid: process.pid }));
     const st = h.testHoldLock(ARGS.holdMs);
     console.log(JSON.stringify({ released: st }));
     h.close();`,
    { name, holdMs },
    { hooks: true },
  );
  children.push(child);
  const next = lineReader(child);
  await next();
  await new Promise((r) => setTimeout(r, 150)); // it is inside testHoldLock now
  child.kill('SIGSTOP');
  return { child, next };
}

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('a SIGSTOPped lock holder', () => {
  it('calls that do not wait return within 100 ms; putNowait/getNowait say ERR_QUEUE_BUSY, not full/empty', async () => {
    const name = uniqueName('stopped');
    using q = JoinableQueue.create<number>(name, { codec: 'json', maxsize: 10 });
    for (const v of [1, 2, 3]) q.putSync(v);
    const { child, next } = await stoppedHolder(name, 3000);
    const took: Record<string, number> = {};
    const measure = <T>(label: string, f: () => T): T => {
      const { ms, value } = timed(f);
      took[label] = ms;
      return value;
    };
    const other = measure('open', () => JoinableQueue.open<number>(name, { codec: 'json' }));
    expect(measure('qsize', () => q.qsize())).toBe(3);
    expect(measure('empty', () => q.empty())).toBe(false);
    expect(measure('full', () => q.full())).toBe(false);
    expect(measure('stats', () => q.stats())).toMatchObject({ messages: 3 });
    expect(measure('inspectQueue', () => inspectQueue(name))).toMatchObject({ messages: 3 });
    measure('taskDone', () => q.taskDone());
    expect(measure('putNowait', () => codeOf(() => q.putNowait(4)))).toBe('ERR_QUEUE_BUSY');
    expect(measure('getNowait', () => codeOf(() => q.getNowait()))).toBe('ERR_QUEUE_BUSY');
    measure('close', () => other.close());
    measure('shutdown', () => q.shutdown());
    console.log(
      `with a stopped lock holder (ms): ${JSON.stringify(took, (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`,
    );
    for (const [label, ms] of Object.entries(took)) expect(ms, label).toBeLessThan(100);
    // Continued, the holder lets go: nothing was lost, and the shutdown holds (gets drain first).
    child.kill('SIGCONT');
    expect(await next()).toEqual({ released: 0 });
    expect([q.getSync({ timeout: 1000 }), q.getSync({ timeout: 1000 }), q.getSync({ timeout: 1000 })]).toEqual([
      1, 2, 3,
    ]);
    expect(codeOf(() => q.getSync({ timeout: 1000 }))).toBe('ERR_QUEUE_SHUTDOWN');
    expect(q.stats()).toMatchObject({ messages: 0, unfinishedTasks: 2 });
    await collect(child);
  });

  it('a stall past the bound is ERR_QUEUE_LOCK_STALLED naming the holder; after SIGCONT the same handles work', async () => {
    const name = uniqueName('stall');
    using q = Queue.create<string>(name, { codec: 'json' });
    q.putSync('kept');
    const { child, next } = await stoppedHolder(name, 4000);
    // A consumer whose stall bound is 1.5 s instead of 15 s (SHM_QUEUE_LOCK_STALL_MS), sync and async.
    const consumer = spawnHostile(
      `const q = Queue.open(ARGS, { codec: 'json' });
       const attempt = async (f) => { const t0 = Date.now(); try { return { value: await f(), ms: Date.now() - t0 }; }
         catch (e) { return { code: e.code, holderPid: e.holderPid, message: e.message, ms: Date.now() - t0 }; } };
       const sync = await attempt(() => q.getSync({ timeout: 8000 }));
       const async_ = await attempt(() => q.get({ timeout: 8000 }));
       console.log(JSON.stringify({ sync, async: async_ }));
       process.stdin.once('data', async () => {
         console.log(JSON.stringify({ after: await attempt(() => q.get({ timeout: 10_000 })) }));
         process.exit(0);
       });`,
      name,
      { env: { SHM_QUEUE_LOCK_STALL_MS: '1500' }, stdin: true },
    );
    children.push(consumer);
    const fromConsumer = lineReader(consumer);
    const stalled = (await fromConsumer()) as Record<
      string,
      { code: string; holderPid: number; message: string; ms: number }
    >;
    for (const r of [stalled['sync'], stalled['async']]) {
      expect(r).toMatchObject({ code: 'ERR_QUEUE_LOCK_STALLED', holderPid: child.pid });
      expect(r?.message).toContain(`process ${child.pid}`);
      expect(r?.message).toMatch(/waiting is safe/i);
      expect(r?.message).not.toMatch(/remove|unlink|create it again/i);
      expect(r?.ms).toBeLessThan(7000);
    }
    // Continued, it finishes what it was doing and lets go (until then a wait is still a wait).
    child.kill('SIGCONT');
    expect(await next()).toEqual({ released: 0 });
    consumer.stdin?.write('go\n');
    expect(await fromConsumer()).toMatchObject({ after: { value: 'kept' } });
    expect(q.stats()).toMatchObject({ messages: 0, recoveries: 0 });
    await collect(consumer);
    await collect(child);
  });
});
