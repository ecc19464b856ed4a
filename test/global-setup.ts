import { readdirSync, rmSync } from 'node:fs';

/** Prefix of every queue name the suite creates, so teardown can find leftovers. */
export const TEST_PREFIX = 'vt-';

function removeLeftovers(): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync('/dev/shm');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith(`shm-queue.${TEST_PREFIX}`)) {
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
