// The addon's contract (what native/binding/init.cc exports): the test hook only in the test build,
// the one source of the limits, flags and name rules, probe() that never blocks, and a stable
// `reason` on segment errors.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { Queue } from '../src/index.js';
import { uniqueName } from './helpers.js';

const require = createRequire(import.meta.url);
const repo = fileURLToPath(new URL('..', import.meta.url));
const SHM = '/dev/shm/shm-queue.';

interface ProbeResult {
  kind: string;
  message: string;
  uid?: number;
  mode?: number;
  fileType?: string;
  layoutVersion?: number;
  joinable?: boolean;
  codec?: string;
  ageMs?: number;
  detail?: string;
  code?: string;
}
interface Addon {
  QueueHandle: { prototype: object; new (...args: unknown[]): { close(): void; testLockAndTear?: unknown } };
  status: Record<string, number>;
  limits: Record<string, number>;
  queueFlags: Record<string, number>;
  layoutVersion: number;
  isValidName(name: unknown): boolean;
  isValidCodecName(name: unknown): boolean;
  probe(name: string): ProbeResult;
}

/** The binary the package loads when nothing overrides it: build/Release, else the prebuild. */
const shippedPath = (require('node-gyp-build') as { path(dir: string): string }).path(repo);
const shipped = require(shippedPath) as Addon;
const hooked = require(inject('hookAddon')) as Addon;

describe('the test hook', () => {
  it('is not in the shipped binary', () => {
    expect('testLockAndTear' in shipped.QueueHandle.prototype).toBe(false);
    // strings(1) would find the method name if any code for it were compiled in.
    const text = execFileSync('strings', [shippedPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(text).not.toContain('testLockAndTear');
    expect(text).not.toContain('testHoldLock');
  });

  it('is in the test build, and still refuses to run without SHM_QUEUE_TEST_HOOKS=1', () => {
    expect('testLockAndTear' in hooked.QueueHandle.prototype).toBe(true);
    const name = uniqueName('hook');
    using q = Queue.create(name);
    void q;
    const h = new hooked.QueueHandle(1, name, 64, 0, 0, 'raw', 0o600) as { close(): void; testLockAndTear(): number };
    try {
      const saved = process.env['SHM_QUEUE_TEST_HOOKS'];
      delete process.env['SHM_QUEUE_TEST_HOOKS'];
      try {
        expect(() => h.testLockAndTear()).toThrow(/SHM_QUEUE_TEST_HOOKS=1/);
      } finally {
        if (saved !== undefined) process.env['SHM_QUEUE_TEST_HOOKS'] = saved;
      }
    } finally {
      h.close();
    }
  });
});

describe('single sources of truth', () => {
  it('exports the limits, the queue flags and the statuses that reach JS', () => {
    expect(shipped.limits).toEqual({
      minCapacity: 64,
      maxCapacity: 2 ** 40,
      maxMaxsize: 2 ** 32 - 1,
      maxNameLength: 200,
      maxCodecNameLength: 31,
    });
    expect(shipped.queueFlags).toEqual({ joinable: 1 });
    expect(Object.keys(shipped.status).sort()).toEqual(
      [
        'busy',
        'corrupt',
        'empty',
        'full',
        'lockStalled',
        'needSpace',
        'ok',
        'shutdown',
        'taskDoneTooMany',
        'timedOut',
        'tooLarge',
      ].sort(),
    );
    expect(shipped).not.toHaveProperty('recordHeaderSize');
  });

  it('isValidName / isValidCodecName implement the name rules', () => {
    for (const good of ['a', 'jobs', 'A-b_c.9', 'x'.repeat(200), '...']) expect(shipped.isValidName(good)).toBe(true);
    for (const bad of ['', '.', '..', 'a/b', 'a b', 'é', 'x'.repeat(201), 'a\0b', 42, undefined])
      expect(shipped.isValidName(bad)).toBe(false);
    for (const good of ['msgpack', 'v8', 'my:codec-1.2', 'c'.repeat(31)])
      expect(shipped.isValidCodecName(good)).toBe(true);
    for (const bad of ['', 'c'.repeat(32), 'a b', 'a/b', 'a\0', null])
      expect(shipped.isValidCodecName(bad)).toBe(false);
  });
});

describe('probe()', () => {
  it('classifies a queue, a missing name and a foreign file without attaching', () => {
    const name = uniqueName('probe');
    using q = Queue.create(name, { codec: 'json' });
    void q;
    const before = q.stats();
    expect(shipped.probe(name)).toMatchObject({
      kind: 'queue',
      layoutVersion: shipped.layoutVersion,
      joinable: false,
      codec: 'json',
      uid: process.getuid?.(),
      mode: 0o600,
    });
    expect(q.stats().lastAttachAt).toBe(before.lastAttachAt);
    expect(shipped.probe(uniqueName('absent'))).toMatchObject({ kind: 'missing' });
    const foreign = uniqueName('foreign');
    writeFileSync(SHM + foreign, Buffer.alloc(4096, 0x41));
    try {
      expect(shipped.probe(foreign)).toMatchObject({ kind: 'not-a-queue' });
    } finally {
      rmSync(SHM + foreign);
    }
  });

  it('reports a FIFO, a directory and a symlink as not-regular at once, never opening them blocking', () => {
    const fifo = uniqueName('fifo');
    execFileSync('mkfifo', [SHM + fifo]);
    const dir = uniqueName('dir');
    mkdirSync(SHM + dir);
    const link = uniqueName('link');
    symlinkSync('/etc/passwd', SHM + link);
    try {
      const t0 = performance.now();
      expect(shipped.probe(fifo)).toMatchObject({ kind: 'not-regular', fileType: 'fifo' });
      expect(shipped.probe(dir)).toMatchObject({ kind: 'not-regular', fileType: 'directory' });
      expect(shipped.probe(link)).toMatchObject({ kind: 'not-regular', fileType: 'symlink' });
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(shipped.probe(fifo).message).toMatch(/fifo, not a regular file/);
      // The native open refuses it too, with a reason, instead of blocking.
      let error: NodeJS.ErrnoException & { reason?: string } = new Error('not thrown');
      try {
        new shipped.QueueHandle(3, fifo, 1 << 20, 0, 0, 'raw', 0).close();
      } catch (e) {
        error = e as typeof error;
      }
      expect(error).toMatchObject({ code: 'ERR_QUEUE_INCOMPATIBLE', reason: 'not-regular' });
    } finally {
      rmSync(SHM + fifo);
      rmSync(SHM + dir, { recursive: true });
      rmSync(SHM + link);
    }
  });

  it('reports unfinished and corrupt headers, and segment errors carry a reason', () => {
    const empty = uniqueName('empty');
    closeSync(openSync(SHM + empty, 'w', 0o600));
    // Too small for a header: zeros are a creation that never got to its ftruncate (unfinished);
    // the start of a finished header (magic + READY) is a truncated queue (corrupt).
    const zeros = uniqueName('zeros');
    writeFileSync(SHM + zeros, Buffer.alloc(100));
    const finished = uniqueName('finished');
    new shipped.QueueHandle(0, finished, 1 << 12, 0, 0, 'raw', 0o600).close();
    const short = uniqueName('short');
    writeFileSync(SHM + short, readFileSync(SHM + finished).subarray(0, 128));
    rmSync(SHM + finished);
    try {
      expect(shipped.probe(empty)).toMatchObject({ kind: 'unfinished' });
      expect(shipped.probe(empty).ageMs).toBeGreaterThanOrEqual(0);
      expect(shipped.probe(zeros)).toMatchObject({ kind: 'unfinished' });
      expect(shipped.probe(short)).toMatchObject({ kind: 'corrupt' });
      let error: { code?: string; reason?: string } = {};
      try {
        new shipped.QueueHandle(1, short, 1 << 20, 0, 0, 'raw', 0).close();
      } catch (e) {
        error = e as typeof error;
      }
      expect(error).toMatchObject({ code: 'ERR_QUEUE_CORRUPT', reason: 'truncated' });
    } finally {
      rmSync(SHM + empty);
      rmSync(SHM + zeros);
      rmSync(SHM + short);
    }
  });
});
