// Core v2 (issue 12): copies outside the lock, in-flight records of dead processes, the true byte
// ring, layout version 2. Real processes: a test-hook build (SHM_QUEUE_TEST_HOOKS) parks a put or a
// get inside its unlocked copy for good, so that a test can prove what happens then and kill it there.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { Queue, JoinableQueue } from '../src/index.js';
import { addon } from '../src/native/index.js';
import { DIST, collect, intact, lineReader, sealed, uniqueName, waitFor } from './helpers.js';

const BINDING = pathToFileURL(fileURLToPath(new URL('../dist/native/index.js', import.meta.url))).href;
const MIB = 1 << 20;
const CLI = fileURLToPath(new URL('../bin/shm-queue.js', import.meta.url));
/** Every record costs its payload rounded up to 8 bytes plus an 8-byte header (README, docs/api.md). */
const recordSize = (len: number): number => 8 + Math.ceil(len / 8) * 8;

/** A child with the test hooks and the raw addon in scope as `addon`. */
function spawnHooked(code: string, args: unknown): ChildProcess {
  const source =
    `import * as shm from ${JSON.stringify(DIST)};\nimport { addon } from ${JSON.stringify(BINDING)};\n` +
    `const { Queue } = shm;\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  return spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHM_QUEUE_ADDON: inject('hookAddon'), SHM_QUEUE_TEST_HOOKS: '1' },
  });
}

/** A child that opens the queue raw and parks inside the copy of a put of `size` bytes (`put`) or of
 *  the next get (`get`), after half of it, for good. It says `{ ready: true }` just before. */
function parkedInCopy(name: string, what: 'put' | 'get', size = MIB): ChildProcess {
  return spawnHooked(
    `const h = new addon.QueueHandle(1, ARGS.name, 64, 0, 0, 'raw', 0o600);
     const bytes = ARGS.what === 'put' ? Buffer.alloc(ARGS.size, 0xcd) : undefined;
     console.log(JSON.stringify({ ready: true }));
     console.log(JSON.stringify({ status: h.testHoldInCopy(bytes, ARGS.size >> 1) }));`,
    { name, what, size },
  );
}

describe('copies happen outside the lock', () => {
  it('a 1 MiB get copies out while a 1 MiB put is inside its copy (and a put copies in while a get is)', async () => {
    const name = uniqueName('overlap');
    using q = Queue.create(name, { codec: 'raw', capacity: 4 * MIB });
    const first = sealed(MIB);
    q.putSync(first);
    // A producer parked in the middle of copying a 1 MiB payload in: its record is BUSY, the lock free.
    const producer = parkedInCopy(name, 'put');
    expect(await lineReader(producer)()).toEqual({ ready: true });
    await waitFor(() => q.stats().bytesUsed === 2 * recordSize(MIB));
    // While it is inside its copy, this process copies a whole 1 MiB message out, and another in.
    const t = performance.now();
    const got = q.getSync({ timeout: 2000 }) as Buffer;
    expect(got.equals(first) && intact(got)).toBe(true);
    expect(performance.now() - t).toBeLessThan(1000);
    q.putSync(sealed(MIB), { timeout: 2000 });
    // FIFO is strict: the parked put reserved first, so a get waits for it. One that must not wait
    // waits 20 ms at most, then says "busy" (its message is counted by qsize: not "empty").
    const raw = new addon.QueueHandle(1, name, 64, 0, 0, 'raw', 0o600);
    raw.setReadBuffer(new ArrayBuffer(2 * MIB));
    const t1 = performance.now();
    expect(raw.shift(0, 0)).toBe(addon.status.busy);
    expect(performance.now() - t1).toBeLessThan(100);
    expect(q.qsize()).toBe(2);
    raw.close();
    // It never publishes: killed, its record is discarded, and the next message comes out.
    producer.kill('SIGKILL');
    await collect(producer);
    const next = q.getSync({ timeout: 2000 }) as Buffer;
    expect(next.length === MIB && intact(next)).toBe(true);
    expect(q.stats()).toMatchObject({ messages: 0, bytesUsed: 0, recoveries: 1, puts: 2, gets: 2 });

    // The other way round: a consumer parked inside its copy-out of a 1 MiB message.
    const kept = sealed(MIB);
    q.putSync(kept);
    const consumer = parkedInCopy(name, 'get');
    expect(await lineReader(consumer)()).toEqual({ ready: true });
    await waitFor(() => q.qsize() === 0);
    const t2 = performance.now();
    q.putSync(sealed(MIB), { timeout: 2000 });
    q.putSync(sealed(MIB), { timeout: 2000 });
    expect(performance.now() - t2).toBeLessThan(1000);
    expect(q.qsize()).toBe(2);
    // Killed inside its copy, the consumer never returned the message: it comes back, first (FIFO),
    // once a get or put has seen the claim hold the front for 2 ms and checked its owner.
    consumer.kill('SIGKILL');
    await collect(consumer);
    await new Promise((r) => setTimeout(r, 20));
    const back = q.getSync({ timeout: 2000 }) as Buffer;
    expect(back.equals(kept)).toBe(true);
    for (let i = 0; i < 2; i++) expect(intact(q.getSync({ timeout: 2000 }) as Buffer)).toBe(true);
    expect(() => q.getNowait()).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY' }));
    expect(q.stats()).toMatchObject({ messages: 0, bytesUsed: 0, recoveries: 2 });
  });

  it('several consumers copy out in parallel, and a dead one among them loses nothing', async () => {
    const name = uniqueName('parallel');
    using q = Queue.create(name, { codec: 'raw', capacity: 8 * MIB });
    const msgs = [sealed(MIB), sealed(MIB), sealed(MIB), sealed(MIB - 8)];
    for (const m of msgs) q.putSync(m);
    const parked = [parkedInCopy(name, 'get'), parkedInCopy(name, 'get')];
    for (const p of parked) expect(await lineReader(p)()).toEqual({ ready: true });
    await waitFor(() => q.qsize() === 2);
    // Two gets are inside their copies; a third copies out the next message meanwhile.
    const third = q.getSync({ timeout: 2000 }) as Buffer;
    expect(intact(third)).toBe(true);
    expect(msgs.slice(0, 3).some((m) => m.equals(third))).toBe(true);
    for (const p of parked) p.kill('SIGKILL');
    await Promise.all(parked.map((p) => collect(p)));
    await new Promise((r) => setTimeout(r, 20));
    // Both parked gets died before returning: their messages come back, oldest first, then the rest.
    const rest: Buffer[] = [];
    for (let i = 0; i < 3; i++) rest.push(q.getSync({ timeout: 2000 }) as Buffer);
    const order = [third, ...rest].map((b) => msgs.findIndex((m) => m.equals(b)));
    expect([...order].sort()).toEqual([0, 1, 2, 3]);
    expect(order.slice(1)).toEqual([...order.slice(1)].sort());
    expect(q.stats()).toMatchObject({ messages: 0, bytesUsed: 0, recoveries: 2 });
  });

  it('a dead producer parked in its copy is discarded: qsize is exact and join() still returns', async () => {
    const name = uniqueName('busyjoin');
    using q = JoinableQueue.create(name, { codec: 'raw', capacity: 4 * MIB });
    const producer = parkedInCopy(name, 'put', 200_000);
    expect(await lineReader(producer)()).toEqual({ ready: true });
    await waitFor(() => q.qsize() === 1); // maxsize counts reserved records, so qsize does too
    q.putSync(Buffer.from('after'));
    expect(q.qsize()).toBe(2);
    producer.kill('SIGKILL');
    await collect(producer);
    expect((q.getSync({ timeout: 2000 }) as Buffer).toString()).toBe('after');
    q.taskDone();
    expect(q.joinSync({ timeout: 1000 })).toBe(true);
    expect(q.stats()).toMatchObject({ messages: 0, bytesUsed: 0, recoveries: 1, unfinishedTasks: 0 });
  });
});

describe('getSync({ into }): large messages without a fresh slab per get', () => {
  it('copies into the caller buffer, returns a view of it, and leaves a message that does not fit queued', () => {
    const name = uniqueName('into');
    using q = Queue.create(name, { codec: 'raw', capacity: 4 * MIB });
    const into = Buffer.alloc(MIB);
    const a = sealed(MIB);
    const b = sealed(1000);
    q.putSync(a);
    q.putSync(b);
    const got = q.getSync({ into }) as Buffer;
    expect(got.buffer).toBe(into.buffer); // no new memory: a view of `into`
    expect(got.byteOffset).toBe(into.byteOffset);
    expect(got.equals(a)).toBe(true);
    expect((q.getSync({ into, timeout: 0 }) as Buffer).equals(b)).toBe(true);
    q.putSync(sealed(MIB));
    expect(() => q.getSync({ into: new Uint8Array(100), timeout: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/1048576/) }),
    );
    expect(q.qsize()).toBe(1); // nothing was taken
    expect(intact(q.getSync({ into }) as Buffer)).toBe(true);
    expect(() => q.getSync({ into, timeout: 0 })).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_EMPTY' }));
    expect(() => q.getSync({ into: 'x' as unknown as Uint8Array })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('works with the other codecs too (decoded from the caller buffer)', () => {
    using q = Queue.create(uniqueName('into-json'), { codec: 'json' });
    q.putSync({ a: [1, 2, 3] });
    expect(q.getSync({ into: new Uint8Array(64) })).toEqual({ a: [1, 2, 3] });
  });
});

describe('a true byte ring', () => {
  it('a message goes in whenever its record fits in the free bytes, at every head/tail position', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 64 }).map((n) => n * 8),
        fc.array(
          fc.oneof(
            fc.nat(300).map((n) => ({ put: n })),
            fc.constant({ get: true }),
          ),
          { maxLength: 120 },
        ),
        (capacity, ops) => {
          using q = Queue.create(uniqueName('ring'), { codec: 'raw', capacity });
          const model: Buffer[] = [];
          let used = 0;
          let seq = 0;
          for (const op of ops) {
            if ('put' in op) {
              const len = Math.min(op.put, capacity - 8);
              const b = Buffer.alloc(len, seq++ & 0xff);
              const fits = recordSize(len) <= capacity - used;
              let ok = true;
              try {
                q.putNowait(b);
              } catch (e) {
                if ((e as { code: string }).code !== 'ERR_QUEUE_FULL') throw e;
                ok = false;
              }
              expect(ok).toBe(fits);
              if (ok) {
                model.push(b);
                used += recordSize(len);
              }
            } else if (model.length > 0) {
              const want = model.shift() as Buffer;
              expect((q.getNowait() as Buffer).equals(want)).toBe(true);
              used -= recordSize(want.length);
            }
            expect(q.stats().bytesUsed).toBe(used);
            expect(q.qsize()).toBe(model.length);
          }
          while (model.length > 0) expect((q.getNowait() as Buffer).equals(model.shift() as Buffer)).toBe(true);
          Queue.unlink(q.name);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("Boost's message_queue test: 10 variable-size messages in a queue sized for them, at every offset", () => {
    const sizes = [1, 100, 7, 64, 1000, 3, 250, 512, 9, 33];
    const capacity = sizes.reduce((sum, n) => sum + recordSize(n), 0);
    const name = uniqueName('boost');
    using q = Queue.create(name, { codec: 'raw', capacity });
    for (let offset = 0; offset < capacity; offset += 8) {
      const msgs = sizes.map((n, i) => Buffer.alloc(n, offset + i));
      for (const m of msgs) q.putNowait(m);
      expect(q.full()).toBe(false); // maxsize 0: only bytes bound it, and exactly 0 are left
      expect(() => q.putNowait(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
      for (const m of msgs) expect((q.getNowait() as Buffer).equals(m)).toBe(true);
      // Move head and tail on by 8 bytes (one empty message) for the next round.
      q.putNowait(Buffer.alloc(0));
      q.getNowait();
    }
    expect(q.stats().bytesUsed).toBe(0);
  });
});

describe('layout version 2', () => {
  /** A version-1 (shm-queue 0.1) segment: the first line of its header, as 0.1 wrote it. */
  function writeV1Segment(name: string): void {
    const header = Buffer.alloc(1536 + 4096);
    header.writeBigUInt64LE(0x45554555514d4853n, 0); // "SHMQUEUE"
    header.writeUInt32LE(1, 8); // version
    header.writeUInt32LE(1536, 12); // header size
    header.writeBigUInt64LE(BigInt(1536 + 4096), 16);
    header.writeBigUInt64LE(4096n, 24);
    header.write('msgpack', 40);
    header.writeUInt32LE(0x52454459, 88); // READY
    const fd = openSync(`/dev/shm/shm-queue.${name}`, 'wx', 0o600);
    writeSync(fd, header);
    closeSync(fd);
  }

  it('a version-1 segment is refused with ERR_QUEUE_INCOMPATIBLE naming its version and what to do', async () => {
    const name = uniqueName('v1');
    writeV1Segment(name);
    try {
      expect(() => Queue.open(name)).toThrow(
        expect.objectContaining({
          code: 'ERR_QUEUE_INCOMPATIBLE',
          message: expect.stringMatching(/layout version 1 \(shm-queue 0\.1\.x\), this build reads version 2;.*remove/),
        }),
      );
      expect(addon.probe(name)).toMatchObject({ kind: 'incompatible', layoutVersion: 1 });
      // `shm-queue ls` and `stat` say which version it is, and which one this release reads.
      const ls = await collect(spawn(process.execPath, [CLI, 'ls', name], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(ls.stdout).toMatch(/unreadable: layout version 1 \(this release reads 2\)/);
      const stat = await collect(spawn(process.execPath, [CLI, 'stat', name], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(stat.code).toBe(1);
      expect(stat.stderr).toMatch(/layout version 1, this shm-queue reads version 2/);
    } finally {
      Queue.unlink(name);
    }
  });

  it('a segment with another lock ABI is refused with ERR_QUEUE_INCOMPATIBLE naming both', () => {
    const name = uniqueName('abi');
    Queue.create(name).close();
    const fd = openSync(`/dev/shm/shm-queue.${name}`, 'r+');
    writeSync(fd, Buffer.from([0x78, 0x56, 0x34, 0x12]), 0, 4, 92);
    closeSync(fd);
    try {
      expect(() => Queue.open(name)).toThrow(
        expect.objectContaining({
          code: 'ERR_QUEUE_INCOMPATIBLE',
          message: expect.stringMatching(/lock ABI 0x12345678, this build speaks 0x3144574c/),
        }),
      );
      expect(addon.probe(name)).toMatchObject({ kind: 'incompatible', layoutVersion: 2 });
    } finally {
      Queue.unlink(name);
    }
  });
});
