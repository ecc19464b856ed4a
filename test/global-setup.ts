import { readdirSync, rmSync } from 'node:fs';

/** Prefix of every queue name the suite creates, so teardown can find leftovers. */
export const TEST_PREFIX = 'vt-';

/**
 * uniqueName() embeds the pid of the test process: `vt-<label>-<pid>-<n>`. A segment whose test
 * process is still running belongs to another suite running at the same time (another checkout on
 * the same machine) and must not be removed under it.
 */
function ownerAlive(entry: string): boolean {
  const m = /-(\d+)-\d+$/.exec(entry);
  if (!m) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeLeftovers(): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync('/dev/shm');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith(`shm-queue.${TEST_PREFIX}`) && !ownerAlive(entry)) {
      rmSync(`/dev/shm/${entry}`, { force: true });
      removed.push(entry);
    }
  }
  return removed;
}

export function setup(): void {
  removeLeftovers();
}

/** Runs after every file, pass or fail: the suite must leave nothing under /dev/shm. */
export function teardown(): void {
  const removed = removeLeftovers();
  if (removed.length > 0) {
    // Each test removes its own queues; a leftover means a test forgot to, which is a bug to fix.
    console.warn(`global teardown removed ${removed.length} leftover segment(s): ${removed.join(', ')}`);
  }
}
