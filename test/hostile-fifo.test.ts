// A FIFO named like a queue, item 2 of issue 11: any local user can `mkfifo /dev/shm/shm-queue.x`.
// Nothing may open it blocking: every command and API that meets it reports it as unreadable (not
// a regular file) at once, instead of waiting forever for a writer.
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, inspectQueue, listQueues } from '../src/index.js';
import { collect, segmentExists, uniqueName } from './helpers.js';
import { hostileUser, type TestUser, timed } from './hostile-helpers.js';

const CLI = fileURLToPath(new URL('../bin/shm-queue.js', import.meta.url));
const name = uniqueName('fifo');
const path = `/dev/shm/shm-queue.${name}`;
const user = hostileUser();
// Made by another user when there is one (the realistic case), else by us.
if (typeof user === 'string') execFileSync('mkfifo', ['-m', '0666', path]);
else execFileSync('runuser', ['-u', (user as TestUser).name, '--', 'mkfifo', '-m', '0666', path]);
afterAll(() => rmSync(path, { force: true }));

async function cli(
  ...args: string[]
): Promise<{ code: number | null; signal: string | null; out: string; ms: number }> {
  const t0 = performance.now();
  const r = await collect(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), 15_000);
  return { code: r.code, signal: r.signal, out: r.stdout + r.stderr, ms: performance.now() - t0 };
}

describe('a FIFO at a queue name', () => {
  it('the API reports it at once: open, create-or-open, inspectQueue, listQueues', () => {
    for (const f of [
      () => Queue.open(name),
      () => Queue.create(name, { exclusive: false }),
      () => inspectQueue(name),
    ]) {
      const { ms } = timed(() => expect(f).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE' })));
      expect(ms).toBeLessThan(1000);
    }
    const { ms, value } = timed(() => listQueues({ filter: (n) => n === name }));
    expect(ms).toBeLessThan(1000);
    expect(value).toMatchObject([{ name, ok: false }]);
  });

  it.each([['ls'], ['stat'], ['peek'], ['gc'], ['rm']])(
    'shm-queue %s returns at once and says what it is',
    async (cmd) => {
      const args = cmd === 'ls' || cmd === 'gc' ? [cmd] : [cmd, name];
      const r = await cli(...args);
      expect(r.signal).toBeNull(); // not killed by the 15 s timeout
      expect(r.ms).toBeLessThan(10_000);
      if (cmd !== 'gc') expect(r.out).toMatch(/not a regular file|fifo|not a shm-queue/i);
      if (cmd === 'rm' || cmd === 'stat' || cmd === 'peek') expect(r.code).not.toBe(0);
      expect(segmentExists(name)).toBe(true); // rm without --force leaves what it cannot read
    },
  );
});
