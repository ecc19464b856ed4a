// Permissions (README "Crash safety and hostile segments", guarantee 5): segments are 0o600 unless
// `mode` says otherwise, another user is refused with EACCES, and names cannot leave /dev/shm.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/index.js';
import { DIST, collect, okJson, uniqueName } from './helpers.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Runs `code` as uid/gid 65534 (nobody); the queue operations' outcomes come back as JSON. */
async function asNobody(code: string, args: unknown): Promise<unknown> {
  const source = `import * as shm from ${JSON.stringify(DIST)};\nconst { Queue } = shm;\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: NOBODY,
    gid: NOBODY,
  });
  return okJson(await collect(child, 20_000));
}

const CATCH = `const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return { code: e.code, syscall: e.syscall, message: e.message }; } };`;

describe('permissions', () => {
  it('creates segments 0o600 by default and exactly `mode` otherwise, whatever the umask', () => {
    const a = uniqueName('mode');
    const b = uniqueName('mode');
    const old = process.umask(0o077);
    try {
      Queue.create(a).close();
      Queue.create(b, { mode: 0o644 }).close();
    } finally {
      process.umask(old);
    }
    expect(statSync(`/dev/shm/shm-queue.${a}`).mode & 0o777).toBe(0o600);
    expect(statSync(`/dev/shm/shm-queue.${b}`).mode & 0o777).toBe(0o644);
    using q = Queue.open(a);
    expect(q.stats()).toMatchObject({ fileMode: 0o600, fileUid: process.getuid?.() });
  });

  // Running as another user needs the right to switch uid; this suite runs as root in CI.
  it.skipIf(!isRoot)(
    'another uid is refused with EACCES on a 0o600 queue and admitted by mode 0o666 + owner',
    async () => {
      const closed = uniqueName('acl');
      const open = uniqueName('acl');
      using q1 = Queue.create(closed);
      using q2 = Queue.create(open, { mode: 0o666 });
      q1.putSync('secret');
      const r = (await asNobody(
        `${CATCH}
       const out = {
         open: attempt(() => Queue.open(ARGS.closed)),
         createOrOpen: attempt(() => Queue.create(ARGS.closed, { exclusive: false })),
         // Another user's queue is refused unless its owner is trusted (SECURITY.md, squatting).
         untrusted: attempt(() => Queue.open(ARGS.open)),
         other: attempt(() => { const q = Queue.open(ARGS.open, { owner: 0 }); q.putSync('from nobody'); q.close(); }),
       };
       console.log(JSON.stringify(out));`,
        { closed, open },
      )) as Record<string, { code: string; message: string } | 'ok'>;
      expect(r.open).toMatchObject({ code: 'EACCES' });
      expect((r.open as { message: string }).message).toMatch(/permission denied/);
      expect(r.createOrOpen).toMatchObject({ code: 'EACCES' });
      expect(r.untrusted).toMatchObject({ code: 'ERR_QUEUE_UNTRUSTED_OWNER' });
      expect(r.other).toBe('ok');
      expect(q1.getNowait()).toBe('secret');
      expect(q2.getNowait()).toBe('from nobody');
    },
  );

  it('names cannot escape /dev/shm', () => {
    for (const name of ['..', '.', '../etc/passwd', 'a/b', '/abs', 'x\0y', '', 'a'.repeat(201)]) {
      expect(() => Queue.create(name)).toThrow(
        expect.objectContaining({
          code: expect.stringMatching(/^ERR_(INVALID_ARG_VALUE|INVALID_ARG_TYPE|OUT_OF_RANGE)$/),
        }),
      );
      expect(() => Queue.open(name)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_/) }));
      expect(() => Queue.unlink(name)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_/) }));
    }
  });
});
