// Hostile environments, items 7 and 8 of issue 11: a full /dev/shm (a small docker --shm-size) and
// a process that may not create threads (RLIMIT_NPROC, a pids cgroup). Real processes: a private
// mount namespace with a 1 MiB tmpfs on /dev/shm, and a child under prlimit --nproc as another user.
import { describe, expect, it } from 'vitest';
import { collect, okJson, uniqueName } from './helpers.js';
import { hostileUser, inMountNamespace, mountNamespaceRefusal, spawnHostile } from './hostile-helpers.js';

const noMount = mountNamespaceRefusal();
if (noMount) console.warn(`hostile /dev/shm-full tests skipped: ${noMount}`);

describe('a full /dev/shm (item 7)', () => {
  it.skipIf(noMount !== '')(
    'create reserves the memory: ENOSPC at once with size, free space and the fix, nothing left behind, no SIGBUS later',
    async () => {
      const child = spawnHostile(
        `import { openSync, writeSync, readdirSync } from 'node:fs';
         const out = {};
         try { Queue.create('big', { capacity: 4 << 20 }); out.big = 'created'; }
         catch (e) { out.big = { code: e.code, syscall: e.syscall, message: e.message }; }
         out.left = readdirSync('/dev/shm');
         const q = Queue.create('small', { capacity: 512 << 10, codec: 'raw' });
         // Another program fills what is left of /dev/shm.
         const fd = openSync('/dev/shm/filler', 'w');
         try { for (;;) writeSync(fd, Buffer.alloc(16 << 10, 1)); } catch (e) { out.fill = e.code; }
         // Every page of the queue was reserved at create: fill its ring to the end, three times over,
         // and attach a second handle (header and attach-table writes).
         const msg = Buffer.alloc(1000, 7);
         out.puts = 0;
         for (let round = 0; round < 3; round++) {
           for (;;) { try { q.putNowait(msg); out.puts++; } catch (e) { if (e.code !== 'ERR_QUEUE_FULL') throw e; break; } }
           while (q.qsize() > 0) q.getNowait();
         }
         const q2 = Queue.open('small', { codec: 'raw' });
         q2.putSync(msg);
         out.got = q.getSync({ timeout: 1000 }).length;
         out.attached = q.stats().attached.length;
         console.log(JSON.stringify(out));`,
        null,
        { wrapper: inMountNamespace('mount -t tmpfs -o size=1m tmpfs /dev/shm') },
      );
      const r = await collect(child, 30_000);
      expect(r.signal).toBeNull(); // a SIGBUS would end it here
      const out = okJson(r) as Record<string, unknown>;
      expect(out['big']).toMatchObject({ code: 'ENOSPC', syscall: 'posix_fallocate' });
      const message = (out['big'] as { message: string }).message;
      expect(message).toMatch(/needs 4195904 bytes/); // 4 MiB + the 1600-byte header (layout 2)
      expect(message).toMatch(/\d+ bytes are free/);
      expect(message).toMatch(/--shm-size/);
      expect(message).toMatch(/ipc: host/);
      expect(out['left']).toEqual([]);
      expect(out['fill']).toBe('ENOSPC');
      expect(out['puts']).toBeGreaterThan(3 * 400);
      expect(out).toMatchObject({ got: 1000, attached: 1 });
    },
  );
});

describe('no threads left (item 8)', () => {
  const user = hostileUser();
  it.skipIf(typeof user === 'string')(
    'a waiter thread that cannot be created rejects the operation with EAGAIN instead of SIGABRT',
    async () => {
      const name = uniqueName('nproc');
      // RLIMIT_NPROC counts every thread of the user and does not apply to root: run as another user.
      const child = spawnHostile(
        `const results = { started: true, pending: 0, rejected: null };
         const q0 = Queue.create(ARGS, { mode: 0o600 });
         const handles = [q0];
         for (let i = 0; i < 400 && !results.rejected; i++) {
           const q = Queue.open(ARGS);
           handles.push(q);
           // A get that waits starts this handle's waiter thread.
           const p = q.get({ timeout: 60_000 }).then(() => 'got', (e) => e);
           const r = await Promise.race([p, new Promise((res) => setTimeout(() => res('pending'), 2))]);
           if (r instanceof Error) results.rejected = { code: r.code, syscall: r.syscall, message: r.message, at: i };
           else results.pending++;
         }
         // The handle whose thread failed still works, and so does the process.
         const last = handles[handles.length - 1];
         q0.putSync('x');
         results.after = last.getSync({ timeout: 1000 }) ?? null;
         console.log(JSON.stringify(results));
         Queue.unlink(ARGS);
         process.exit(0);`,
        name,
        { user: user as Exclude<typeof user, string>, wrapper: ['prlimit', '--nproc=48', '--'] },
      );
      const r = await collect(child, 60_000);
      expect(r.signal).toBeNull();
      const out = okJson(r) as { pending: number; rejected: { code: string; syscall: string } | null; after: string };
      expect(out.rejected).toMatchObject({
        code: expect.stringMatching(/^(EAGAIN|ENOMEM)$/),
        syscall: 'pthread_create',
      });
      expect(out.pending).toBeGreaterThan(0);
      expect(out.after).toBe('x');
    },
  );

  it('1,000 handles with a pending get cost a 256 KiB stack each, not 8 MiB', async () => {
    const name = uniqueName('threads');
    const child = spawnHostile(
      `import { readFileSync } from 'node:fs';
       const status = () => Object.fromEntries(readFileSync('/proc/self/status', 'utf8').split('\\n')
         .filter((l) => /^(VmSize|VmRSS|Threads):/.test(l)).map((l) => { const [k, v] = l.split(':'); return [k, parseInt(v)]; }));
       const q0 = Queue.create(ARGS, { capacity: 4096 });
       const start = status();
       const handles = [];
       for (let i = 0; i < 1000; i++) handles.push(Queue.open(ARGS));
       const before = status();
       for (const q of handles) q.get({ timeout: 60_000 }).catch(() => null);
       await new Promise((r) => setTimeout(r, 500));
       const after = status();
       for (const q of handles) q.close();
       q0.close();
       console.log(JSON.stringify({ start, before, after }));
       process.exit(0);`,
      name,
    );
    const out = okJson(await collect(child, 60_000)) as {
      start: Record<string, number>;
      before: Record<string, number>;
      after: Record<string, number>;
    };
    const openKiB = ((out.before['VmSize'] ?? 0) - (out.start['VmSize'] ?? 0)) / 1000;
    const openRssKiB = ((out.before['VmRSS'] ?? 0) - (out.start['VmRSS'] ?? 0)) / 1000;
    const perHandleKiB = ((out.after['VmSize'] ?? 0) - (out.before['VmSize'] ?? 0)) / 1000;
    const rssPerHandleKiB = ((out.after['VmRSS'] ?? 0) - (out.before['VmRSS'] ?? 0)) / 1000;
    console.log(
      `1,000 open handles: VmSize +${openKiB.toFixed(0)} KiB, VmRSS +${openRssKiB.toFixed(0)} KiB each; ` +
        `a pending get on each: threads ${out.before['Threads']} -> ${out.after['Threads']}, ` +
        `VmSize +${perHandleKiB.toFixed(0)} KiB and VmRSS +${rssPerHandleKiB.toFixed(0)} KiB per waiter thread`,
    );
    expect((out.after['Threads'] ?? 0) - (out.before['Threads'] ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(perHandleKiB).toBeLessThan(512); // a default 8 MiB stack would be 8,192
  });
});
