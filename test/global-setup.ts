import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/** Queue names of every test start with `vt-<pid of the vitest process>-`. Several vitest runs
 *  (several checkouts, CI) may share /dev/shm, so each run only ever removes its own segments,
 *  plus leftovers of runs whose vitest process is gone. */
const RUN_PREFIX = `vt-${process.pid}-`;

declare module 'vitest' {
  export interface ProvidedContext {
    testPrefix: string;
    /** Path of an addon built with -DSHM_QUEUE_TEST_HOOKS (testLockAndTear), for SHM_QUEUE_ADDON. */
    hookAddon: string;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeSegments(select: (queueName: string) => boolean): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync('/dev/shm');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.startsWith('shm-queue.vt-')) continue;
    const queueName = entry.slice('shm-queue.'.length);
    if (!select(queueName)) continue;
    rmSync(`/dev/shm/${entry}`, { force: true });
    removed.push(queueName);
  }
  return removed;
}

/** The test-hook build: `npm run test:sanitize` brings its own (ASan + hooks) in SHM_QUEUE_ADDON;
 *  otherwise scripts/variant-build.sh builds .test-hooks/ once and reuses it while native/ and
 *  binding.gyp are unchanged. The shipped build (build/Release) never has the hooks. */
function hookAddon(): string {
  const given = process.env['SHM_QUEUE_ADDON'];
  if (given) return given;
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const out = execFileSync('bash', ['scripts/variant-build.sh', '.test-hooks', '-DSHM_QUEUE_TEST_HOOKS', ''], {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop() as string;
}

export function setup(project: TestProject): void {
  project.provide('testPrefix', RUN_PREFIX);
  project.provide('hookAddon', hookAddon());
  // Leftovers of earlier runs that died (their runner pid is the second field of the name).
  removeSegments((name) => {
    const runner = Number(name.split('-')[1]);
    return Number.isInteger(runner) && runner !== process.pid && !alive(runner);
  });
}

/** Runs after every file, pass or fail: the suite must leave nothing of its own under /dev/shm. */
export function teardown(): void {
  const removed = removeSegments((name) => name.startsWith(RUN_PREFIX));
  if (removed.length > 0) {
    // Each test removes its own queues; a leftover means a test forgot to, which is a bug to fix.
    console.warn(`global teardown removed ${removed.length} leftover segment(s): ${removed.join(', ')}`);
  }
}
