// Crash safety (README "Crash safety and hostile segments", guarantees 1-3): processes SIGKILLed at
// any instant, including while provably holding the lock mid-copy of a 1 MiB record, and while
// waiting, never wedge the queue, tear a message or lose an acknowledged one.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Queue } from '../src/index.js';
// @ts-expect-error plain ESM helper shared with `npm run torture`
import { runStorm, summaryLine } from '../scripts/storm.mjs';
import { DIST, collect, intact, lineReader, sealed, uniqueName, waitFor } from './helpers.js';

const BINDING = pathToFileURL(fileURLToPath(new URL('../dist/native/index.js', import.meta.url))).href;
const MIB = 1 << 20;
/** Set by `npm run test:sanitize`: instrumented child processes start ~10x slower; scale down. */
const SLOW = process.env['SHM_QUEUE_TEST_SLOW'] === '1';

// runStorm keeps a hard link to its segment (see RELINK in scripts/storm.mjs); a storm cut short by
// a test timeout leaves it behind.
afterAll(() => {
  for (const entry of readdirSync('/dev/shm'))
    if (entry.startsWith(`.storm-backup-${process.pid}-`)) rmSync(`/dev/shm/${entry}`, { force: true });
});

/** Like spawnNode, on the test-hook build of the addon (see test/global-setup.ts) with the hooks
 *  enabled, and the raw addon in scope as `addon`. */
function spawnHooked(code: string, args: unknown, stdin = false): ChildProcess {
  const source =
    `import * as shm from ${JSON.stringify(DIST)};\nimport { addon } from ${JSON.stringify(BINDING)};\n` +
    `const { Queue } = shm;\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  return spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHM_QUEUE_ADDON: inject('hookAddon'), SHM_QUEUE_TEST_HOOKS: '1' },
  });
}

describe('SIGKILL storm', () => {
  it(
    '100+ random kills of producers and consumers: no deadlock, duplicate, torn or lost acknowledged message',
    async () => {
      const r = await runStorm({ name: uniqueName('storm'), kills: SLOW ? 30 : 110, killDelayMs: [5, 60] });
      console.log(summaryLine(r));
      expect(r.crashes).toEqual([]);
      expect(r.kills).toBeGreaterThanOrEqual(SLOW ? 30 : 100);
      expect(r.stalled).toBe(false);
      expect(r.drained).toBe(true);
      expect(r.leftInQueue).toBe(0);
      expect(r.duplicates).toBe(0);
      expect(r.torn).toBe(0);
      expect(r.phantoms).toBe(0);
      expect(r.lostAcknowledged).toBeLessThanOrEqual(r.consumerKills);
      expect(r.messages).toBeGreaterThan(SLOW ? 20 : 200);
    },
    SLOW ? 400_000 : 90_000,
  );
});

describe('SIGKILL storm of 1 MiB producers and consumers (kills inside the unlocked copy windows)', () => {
  it(
    'no deadlock, duplicate or torn message, no acknowledged one lost beyond one per killed consumer',
    async () => {
      // Every message is ~1 MiB: producers and consumers spend most of their time copying with no
      // lock held (records.h), so most kills land in a copy window or in the checksum around it.
      const r = await runStorm({
        name: uniqueName('bigstorm'),
        kills: SLOW ? 12 : 40,
        killDelayMs: [5, 60],
        capacity: 4 * MIB,
        maxsize: 8,
        largePermille: 1000,
        largeMin: MIB - 4096,
        largeMax: MIB,
      });
      console.log(`1 MiB ${summaryLine(r)}`);
      expect(r.crashes).toEqual([]);
      expect(r.kills).toBeGreaterThanOrEqual(SLOW ? 12 : 40);
      expect(r.stalled).toBe(false);
      expect(r.drained).toBe(true);
      expect(r.leftInQueue).toBe(0);
      expect(r.duplicates).toBe(0);
      expect(r.torn).toBe(0);
      expect(r.phantoms).toBe(0);
      expect(r.lostAcknowledged).toBeLessThanOrEqual(r.consumerKills);
      expect(r.messages).toBeGreaterThan(SLOW ? 5 : 20);
    },
    SLOW ? 400_000 : 120_000,
  );
});

describe('a holder killed while holding the lock', () => {
  it('mid-copy of a 1 MiB record: the next locker recovers, counts it, and sees no torn message', async () => {
    const name = uniqueName('holder');
    using q = Queue.create(name, { codec: 'raw', capacity: 4 * MIB });
    const before = [sealed(MIB), sealed(MIB - 100)];
    for (const b of before) q.putSync(b);
    // A consumer that opened the queue before the holder locked it, then blocks on that lock: it
    // must come through once the holder dies.
    const blocked = spawnHooked(
      `const q = Queue.open(ARGS, { codec: 'raw' });
       console.log(JSON.stringify({ ready: true }));
       process.stdin.once('data', () => {
         const got = [q.getSync({ timeout: 20000 }), q.getSync({ timeout: 20000 })];
         let torn = false;
         try { q.getSync({ timeout: 0 }); torn = true; } catch (e) { if (e.code !== 'ERR_QUEUE_EMPTY') throw e; }
         console.log(JSON.stringify({ lens: got.map((b) => b.length), torn, recoveries: q.stats().recoveries }));
         process.exit(0);
       });`,
      name,
      true,
    );
    const next = lineReader(blocked);
    expect(await next()).toEqual({ ready: true });
    const holder = spawnHooked(
      `const h = new addon.QueueHandle(1, ARGS, 64, 0, 0, 'raw', 0o600);
       const big = Buffer.alloc(${MIB}, 0xab);
       // Holds the lock with a 1 MiB record header and the first half of its payload written.
       console.log(JSON.stringify({ status: h.testLockAndTear(big, ${MIB / 2}) }));
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
      name,
    );
    expect(await lineReader(holder)()).toEqual({ status: 0 });
    blocked.stdin?.write('go\n');
    await new Promise((r) => setTimeout(r, 300));
    holder.kill('SIGKILL');
    const result = (await next()) as { lens: number[]; torn: boolean; recoveries: number };
    expect(result).toEqual({ lens: [MIB, MIB - 100], torn: false, recoveries: 1 });
    expect((await collect(blocked)).code).toBe(0);
    // The half-written record was never published: the next put simply overwrites it.
    const after = sealed(MIB);
    q.putSync(after);
    const back = q.getSync({ timeout: 1000 }) as Buffer;
    expect(intact(back) && back.equals(after)).toBe(true);
    expect(q.stats()).toMatchObject({ messages: 0, recoveries: 1, puts: 3, gets: 3 });
  });

  it(
    'producers of 1 MiB messages killed at random moments: every message delivered is whole',
    async () => {
      const name = uniqueName('bigkill');
      using q = Queue.create(name, { codec: 'raw', capacity: 3 * MIB });
      let kills = 0;
      let got = 0;
      const deadline = Date.now() + (SLOW ? 60_000 : 12_000);
      while (kills < 15 && Date.now() < deadline) {
        const producer = spawnHooked(
          `import { createHash, randomFillSync } from 'node:crypto';
         const q = Queue.open(ARGS, { codec: 'raw' });
         console.log(JSON.stringify({ ready: true }));
         for (;;) {
           const b = randomFillSync(Buffer.allocUnsafe(${MIB}));
           createHash('sha1').update(b.subarray(20)).digest().copy(b, 0);
           q.putSync(b);
         }`,
          name,
        );
        await lineReader(producer)();
        await new Promise((r) => setTimeout(r, Math.random() * 40));
        producer.kill('SIGKILL');
        await collect(producer);
        kills++;
        for (;;) {
          let b: Buffer;
          try {
            b = q.getSync({ timeout: 0 }) as Buffer;
          } catch (e) {
            expect((e as { code: string }).code).toBe('ERR_QUEUE_EMPTY');
            break;
          }
          expect(b.length).toBe(MIB);
          expect(intact(b)).toBe(true);
          got++;
        }
      }
      expect(kills).toBeGreaterThanOrEqual(SLOW ? 3 : 5);
      console.log(`1 MiB producers: ${kills} kills, ${got} whole messages, ${q.stats().recoveries} recoveries`);
    },
    SLOW ? 120_000 : 30_000,
  );

  it('a stale lock word (a holder that does not exist, or no holder but a waiters bit) is recovered in milliseconds', () => {
    const name = uniqueName('stale');
    using q = Queue.create(name);
    q.putSync('kept');
    // The mutex is at offset 128 of the header; glibc keeps the holder's tid in its first word.
    const fd = openSync(`/dev/shm/shm-queue.${name}`, 'r+');
    try {
      for (const word of [0x3ffffff0, 0x80000000, 0x80000000 | 0x3ffffff1, process.pid]) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(word >>> 0);
        writeSync(fd, b, 0, 4, 128);
        const t = performance.now();
        expect(q.getNowait()).toBe('kept');
        q.putNowait('kept');
        expect(performance.now() - t).toBeLessThan(500);
      }
    } finally {
      closeSync(fd);
    }
    expect(q.stats().recoveries).toBe(4);
    expect(q.qsize()).toBe(1);
  });
});

describe('waiters killed inside a wait', () => {
  it('leave no trace that blocks a later wake-up of the other waiters (consumers and producers)', async () => {
    const name = uniqueName('waiters');
    using q = Queue.create(name, { maxsize: 1 });
    const consumer = (async_: boolean): ChildProcess =>
      spawnHooked(
        `const q = Queue.open(ARGS);
         console.log(JSON.stringify({ ready: true }));
         const v = ${async_ ? 'await q.get()' : 'q.getSync()'};
         console.log(JSON.stringify({ v }));`,
        name,
      );
    const doomed = [consumer(false), consumer(true), consumer(false)];
    const survivors = [consumer(false), consumer(true)];
    for (const c of [...doomed, ...survivors]) await lineReader(c)();
    await waitFor(() => q.stats().waitingConsumers >= 5);
    for (const c of doomed) c.kill('SIGKILL');
    await Promise.all(doomed.map((c) => collect(c)));
    const readers = survivors.map((c) => lineReader(c));
    const t = performance.now();
    q.putSync('one');
    const first = await Promise.race(readers.map((r) => r()));
    q.putSync('two');
    const results = await Promise.all(survivors.map((c) => collect(c, 5000)));
    expect(performance.now() - t).toBeLessThan(3000);
    expect(first).toEqual({ v: 'one' });
    for (const r of results) expect(r.code).toBe(0);
    // Killed waiters may leave their count behind (spurious wake-ups only); nothing is lost.
    expect(q.qsize()).toBe(0);

    // The same for producers waiting on a full queue.
    q.putSync('full');
    const producer = (): ChildProcess =>
      spawnHooked(
        `const q = Queue.open(ARGS); console.log(JSON.stringify({ ready: true })); q.putSync('p'); console.log(JSON.stringify({ put: true }));`,
        name,
      );
    const gone = producer();
    const alive = producer();
    await lineReader(gone)();
    await lineReader(alive)();
    await waitFor(() => q.stats().waitingProducers >= 2);
    gone.kill('SIGKILL');
    await collect(gone);
    expect(q.getSync()).toBe('full');
    expect((await collect(alive, 5000)).code).toBe(0);
    expect(q.getSync({ timeout: 1000 })).toBe('p');
  });
});
