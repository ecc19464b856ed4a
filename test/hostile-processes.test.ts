// Judging a queue unused, items 3 and 4 of issue 11: with more than 64 processes attached (the
// attach table has 64 slots), and from a process that cannot read /proc (out of file descriptors,
// or /proc mounted hidepid=2). A queue with any live process attached is never judged unused:
// `shm-queue rm` without --force refuses, `gc` keeps it, inspectQueue() says it is in use.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, inspectQueue } from '../src/index.js';
import { collect, lineReader, okJson, segmentExists, uniqueName } from './helpers.js';
import {
  hostileUser,
  inMountNamespace,
  mountNamespaceRefusal,
  spawnHostile,
  type TestUser,
} from './hostile-helpers.js';

const CLI = fileURLToPath(new URL('../bin/shm-queue.js', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Runs the shm-queue command; its exit code and output. */
async function cli(...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r = await collect(child, 20_000);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** A process that opens `name` (trusting `owner`), says so, and closes it when told to. */
function attached(
  name: string,
  options: { owner?: number; user?: TestUser; wrapper?: string[]; listed?: boolean } = {},
): ChildProcess {
  const child = spawnHostile(
    `const q = Queue.open(ARGS.name, ARGS.owner === undefined ? {} : { owner: ARGS.owner });
     // Listed in the table once stats() got the lock (open tries for 50 ms only; 64 processes
     // starting at once may keep it busy longer), unless the table is full.
     for (let i = 0; i < 200 && ARGS.listed; i++) {
       const s = q.stats();
       if (s.attached.some((a) => a.pid === process.pid) || s.attached.length >= 64) break;
       await new Promise((r) => setTimeout(r, 10));
     }
     console.log(JSON.stringify({ pid: process.pid }));
     process.stdin.on('data', (d) => {
       const cmd = d.toString().trim();
       if (cmd === 'stats') console.log(JSON.stringify(q.stats()));
       if (cmd === 'exit') { q.close(); process.exit(0); }
     });`,
    { name, owner: options.owner, listed: options.listed ?? false },
    {
      stdin: true,
      ...(options.user ? { user: options.user } : {}),
      ...(options.wrapper ? { wrapper: options.wrapper } : {}),
    },
  );
  children.push(child);
  return child;
}

describe('more processes than the attach table has slots (item 3)', () => {
  it('70 processes, the first 64 leave: the queue is still in use, rm refuses, gc keeps it', async () => {
    const name = uniqueName('many');
    Queue.create(name, { codec: 'json' }).close();
    const spawnAll = async (n: number): Promise<ChildProcess[]> => {
      const batch = Array.from({ length: n }, () => attached(name, { listed: true }));
      await Promise.all(batch.map((c) => lineReader(c)()));
      return batch;
    };
    const first = await spawnAll(64);
    const late = await spawnAll(6);
    // The table is full of the first 64: the late six are not listed, yet they use the queue.
    expect(inspectQueue(name).attached.length).toBe(64);
    for (const c of first) c.stdin?.write('exit\n');
    await Promise.all(first.map((c) => collect(c)));
    const seen = inspectQueue(name);
    expect(seen.attached.length).toBe(0);
    expect(seen.inUse).toBe(true);
    expect(seen.idleSince).toBeNull();
    const rm = await cli('rm', name);
    expect(rm.code).not.toBe(0);
    expect(rm.out).toMatch(/in use|open/);
    const gc = await cli('gc', name, '--older-than', '0ms', '--json');
    expect(gc.code).toBe(0);
    expect(JSON.parse(gc.out)).toMatchObject([{ name, action: 'in-use' }]);
    expect(segmentExists(name)).toBe(true);
    // And the late six still share it with anyone who opens it now.
    const q = Queue.open<string>(name, { codec: 'json' });
    q.putSync('still here');
    expect(q.getSync({ timeout: 1000 })).toBe('still here');
    q.close();
    for (const c of late) c.stdin?.write('exit\n');
    await Promise.all(late.map((c) => collect(c)));
    // Once the last one has gone, the same gc does remove it.
    expect(inspectQueue(name)).toMatchObject({ inUse: false });
    await cli('gc', name, '--older-than', '0ms');
    expect(segmentExists(name)).toBe(false);
  }, 120_000);
});

describe('a process that cannot read /proc (item 4)', () => {
  it('out of file descriptors: stats() prunes no live process, and rm still refuses', async () => {
    const name = uniqueName('emfile');
    Queue.create(name).close();
    const holder = attached(name);
    const { pid } = (await lineReader(holder)()) as { pid: number };
    const starved = spawnHostile(
      `import { openSync, closeSync } from 'node:fs';
       const q = Queue.open(ARGS);
       const fds = [];
       try { for (;;) fds.push(openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
       const attached = q.stats().attached.map((a) => a.pid);
       for (const fd of fds) closeSync(fd);
       console.log(JSON.stringify({ attached, fds: fds.length }));
       q.close();`,
      name,
      { wrapper: ['prlimit', '--nofile=256', '--'] },
    );
    const r = okJson(await collect(starved)) as { attached: number[]; fds: number };
    expect(r.fds).toBeGreaterThan(10);
    expect(r.attached).toContain(pid);
    expect(inspectQueue(name).attached.map((a) => a.pid)).toContain(pid);
    expect((await cli('rm', name)).code).not.toBe(0);
    expect(segmentExists(name)).toBe(true);
    holder.stdin?.write('exit\n');
    await collect(holder);
  });

  const user = hostileUser();
  const noMount = mountNamespaceRefusal();
  it.skipIf(typeof user === 'string' || noMount !== '')(
    '/proc mounted hidepid=2: another user sees our process as alive (kill(pid, 0) = EPERM), prunes nothing',
    async () => {
      const name = uniqueName('hidepid');
      using q = Queue.create(name, { mode: 0o666 });
      const me = q.stats().attached.map((a) => a.pid);
      expect(me).toContain(process.pid);
      const other = attached(name, {
        owner: 0,
        wrapper: inMountNamespace('mount -t proc -o hidepid=2 proc /proc', user as TestUser),
      });
      const next = lineReader(other);
      await next();
      other.stdin?.write('stats\n');
      const seen = (await next()) as { attached: { pid: number }[] };
      expect(seen.attached.map((a) => a.pid)).toContain(process.pid);
      expect(q.stats().attached.map((a) => a.pid)).toContain(process.pid);
      other.stdin?.write('exit\n');
      await collect(other);
    },
  );
});
