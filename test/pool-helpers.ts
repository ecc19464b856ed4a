import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, expect } from 'vitest';
import { ProcessPool, type ProcessPoolOptions } from '../src/index.js';

/** The pool tests' task module (plain ES module, run by the workers against dist/). */
export const TASKS = new URL('./fixtures/pool/tasks.mjs', import.meta.url);
export const fixture = (file: string): URL => new URL(`./fixtures/pool/${file}`, import.meta.url);

const pools = new Set<ProcessPool>();
const pidsSeen = new Set<number>();

/** A pool terminated after the test, pass or fail; its workers' pids are checked gone. */
export function makePool(options: ProcessPoolOptions = {}, module: URL = TASKS): ProcessPool {
  const pool = new ProcessPool(module, { processes: 2, ...options });
  pools.add(pool);
  return pool;
}

/** Records the pool's current worker pids, to check after the test that they are gone. */
export function notePids(pool: ProcessPool): number[] {
  const pids = pool.stats().pids;
  for (const pid of pids) pidsSeen.add(pid);
  return pids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process is gone: no such pid, or a zombie (dead, waiting to be reaped: an orphan's new
 * parent, PID 1 here, may take its time).
 */
export function gone(pid: number): boolean {
  if (!alive(pid)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Names of pool-private segments of this process under /dev/shm. */
export function poolSegments(pid = process.pid): string[] {
  return readdirSync('/dev/shm').filter((e) => e.startsWith(`shm-queue.shmq-pool-${pid}-`));
}

export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(async () => {
  for (const pool of pools) {
    notePids(pool);
    await pool.terminate();
  }
  pools.clear();
  // Nothing of any pool stays behind: no worker process, no segment.
  for (const pid of pidsSeen) expect(alive(pid), `worker pid ${pid} still alive`).toBe(false);
  pidsSeen.clear();
  expect(poolSegments()).toEqual([]);
});
