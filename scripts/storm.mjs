// The SIGKILL storm shared by test/crash.test.ts (short) and `npm run torture` (minutes).
//
// Producer and consumer processes share one queue. Every message carries its producer's
// incarnation id, a sequence number and a SHA-1 of its payload. A producer prints `a INC SEQ`
// once putSync returned (acknowledged); a consumer prints `r INC SEQ` once getSync returned and the
// checksum held (`t INC SEQ` if it did not: a torn message). Meanwhile the parent SIGKILLs random
// children at random moments and starts replacements. At the end it checks:
//   - no stall: lines keep coming while the storm runs, and the final drain finishes;
//   - duplicates = 0: no message received twice;
//   - torn = 0: no payload with a bad checksum;
//   - phantoms = 0: nothing received that no put was ever made for;
//   - lost-acknowledged <= consumer kills: every acknowledged message was received, except at most
//     one per killed consumer (one killed after getSync took the message, before it printed it).
// Plain ESM over dist/, so that it runs without a TypeScript loader.
import { spawn } from 'node:child_process';
import { existsSync, linkSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

const PRODUCER = `
import { createHash, randomFillSync } from 'node:crypto';
import { writeSync } from 'node:fs';
const { Queue } = await import(DIST);
const q = await openRetrying(Queue, ARGS.name);
writeSync(1, 'ready\\n');
let rnd = ARGS.inc * 2654435761 >>> 0;
const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
for (let seq = 0; ; seq++) {
  const r = next() % 1000;
  const size = r < ARGS.largePermille ? ARGS.largeMin + (next() % (ARGS.largeMax - ARGS.largeMin + 1)) : 28 + (next() % 2000);
  const buf = Buffer.allocUnsafe(size);
  randomFillSync(buf, 28);
  buf.writeUInt32LE(ARGS.inc, 0);
  buf.writeUInt32LE(seq, 4);
  createHash('sha1').update(buf.subarray(28)).digest().copy(buf, 8);
  q.putSync(buf);
  writeSync(1, 'a ' + ARGS.inc + ' ' + seq + '\\n');
}
`;

const CONSUMER = `
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
const { Queue } = await import(DIST);
const q = await openRetrying(Queue, ARGS.name);
writeSync(1, 'ready\\n');
for (;;) {
  let m;
  try {
    m = q.getSync({ timeout: 250 });
  } catch (e) {
    if (e.code === 'ERR_QUEUE_EMPTY') continue;
    throw e;
  }
  const ok = m.length >= 28 && createHash('sha1').update(m.subarray(28)).digest().equals(m.subarray(8, 28));
  writeSync(1, (ok ? 'r ' : 't ') + m.readUInt32LE(0) + ' ' + m.readUInt32LE(4) + '\\n');
}
`;

// The name may vanish for a moment (see RELINK below): retry the open for a while.
const OPEN = `
async function openRetrying(Queue, name) {
  for (let i = 0; ; i++) {
    try {
      return Queue.open(name, { codec: 'raw' });
    } catch (e) {
      if (e.code !== 'ERR_QUEUE_NOT_FOUND' || i > 100) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const key = (inc, seq) => inc * 1e7 + seq;

/**
 * Runs the storm on queue `name` (created here, closed but not unlinked at the end).
 * Stops after `kills` kills or `durationMs`, whichever comes first.
 */
export async function runStorm({
  name,
  kills: maxKills = Infinity,
  durationMs = Infinity,
  producers = 2,
  consumers = 2,
  capacity = 1 << 20,
  maxsize = 64,
  largePermille = 20,
  largeMin = 64 * 1024,
  largeMax = 256 * 1024,
  killDelayMs = [5, 120],
  stallMs = 10_000,
  log = () => {},
}) {
  const { Queue } = await import(DIST);
  const q = Queue.create(name, { codec: 'raw', capacity, maxsize });
  // RELINK: other test suites running on the same machine share the 'vt-' prefix and may unlink
  // our name from their teardown. Keep a hard link to the segment and put the name back if it
  // goes, so that replacement processes can still open the queue by name.
  const path = `/dev/shm/shm-queue.${name}`;
  const backup = `/dev/shm/.storm-backup-${process.pid}-${name}`;
  rmSync(backup, { force: true });
  linkSync(path, backup);
  let relinked = 0;
  const relink = () => {
    if (existsSync(path)) return;
    try {
      linkSync(backup, path);
      relinked++;
    } catch {
      // raced with another relink or a re-creation: nothing to do
    }
  };
  const acked = new Map(); // inc -> highest acknowledged seq
  const ackedKeys = new Set();
  const received = new Set();
  let duplicates = 0;
  let torn = 0;
  let messages = 0;
  let lastLine = Date.now();
  let nextInc = 1;
  const stats = { kills: 0, producerKills: 0, consumerKills: 0, spawned: 0, crashes: [] };
  const live = new Set();

  const start = (role) => {
    const inc = nextInc++;
    const args = { name, inc, largePermille, largeMin, largeMax };
    const source = `const DIST = ${JSON.stringify(DIST)};\nconst ARGS = ${JSON.stringify(args)};\n${OPEN}\n${role === 'p' ? PRODUCER : CONSUMER}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    stats.spawned++;
    const c = { child, role, inc, ready: false, killed: false, stderr: '' };
    live.add(c);
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lastLine = Date.now();
        if (line === 'ready') {
          c.ready = true;
          continue;
        }
        const [kind, a, b] = line.split(' ');
        const k = key(Number(a), Number(b));
        if (kind === 'a') {
          ackedKeys.add(k);
          if ((acked.get(Number(a)) ?? -1) < Number(b)) acked.set(Number(a), Number(b));
        } else {
          if (kind === 't') torn++;
          if (received.has(k)) duplicates++;
          received.add(k);
          messages++;
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (c.stderr += d));
    c.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        live.delete(c);
        if (!c.killed)
          stats.crashes.push(`${role}${inc} exited code=${code} signal=${signal}: ${c.stderr.slice(0, 500)}`);
        resolve();
      }),
    );
    return c;
  };
  const kill = (c) => {
    c.killed = true;
    stats.kills++;
    if (c.role === 'p') stats.producerKills++;
    else stats.consumerKills++;
    c.child.kill('SIGKILL');
    return c.exited;
  };

  const began = Date.now();
  let stalled = false;
  for (let i = 0; i < producers; i++) start('p');
  for (let i = 0; i < consumers; i++) start('c');
  while (stats.kills < maxKills && Date.now() - began < durationMs && stats.crashes.length === 0) {
    await sleep(killDelayMs[0] + Math.random() * (killDelayMs[1] - killDelayMs[0]));
    if (Date.now() - lastLine > stallMs) {
      stalled = true;
      break;
    }
    relink();
    const ready = [...live].filter((c) => c.ready && !c.killed);
    if (ready.length === 0) continue;
    const victim = ready[Math.floor(Math.random() * ready.length)];
    await kill(victim);
    start(victim.role);
    if (stats.kills % 50 === 0) log(`kills=${stats.kills} messages=${messages}`);
  }

  // End: kill the producers (they count as kills), let the consumers drain, then kill them while
  // they wait in getSync (waiter kills: they must not block later wake-ups either).
  for (const c of [...live]) if (c.role === 'p') await kill(c);
  // A consumer killed during the storm may have been replaced by one still starting: wait for
  // it to be ready so that the drain has readers.
  const drainDeadline = Date.now() + 30_000;
  while (Date.now() < drainDeadline && (q.qsize() > 0 || [...live].some((c) => !c.ready))) {
    relink();
    await sleep(50);
  }
  const drained = q.qsize() === 0;
  await sleep(300); // lines of the last gets in flight
  for (const c of [...live]) await kill(c);
  const s = q.stats();
  q.close();
  rmSync(backup, { force: true });

  let lostAcknowledged = 0;
  for (const k of ackedKeys) if (!received.has(k)) lostAcknowledged++;
  let phantoms = 0;
  for (const k of received) {
    const inc = Math.floor(k / 1e7);
    const seq = k - inc * 1e7;
    if (seq > (acked.get(inc) ?? -1) + 1) phantoms++;
  }
  return {
    seconds: (Date.now() - began) / 1000,
    kills: stats.kills,
    producerKills: stats.producerKills,
    consumerKills: stats.consumerKills,
    messages,
    acknowledged: ackedKeys.size,
    recoveries: s.recoveries,
    duplicates,
    lostAcknowledged,
    torn,
    phantoms,
    stalled,
    drained,
    leftInQueue: s.messages,
    relinked,
    crashes: stats.crashes,
  };
}

export function summaryLine(r) {
  return (
    `storm: ${r.seconds.toFixed(1)} s, kills=${r.kills} (producers ${r.producerKills}, consumers ${r.consumerKills}), ` +
    `messages=${r.messages}, acknowledged=${r.acknowledged}, recoveries=${r.recoveries}, duplicates=${r.duplicates}, ` +
    `lost-acknowledged=${r.lostAcknowledged} (allowed <= ${r.consumerKills}), torn=${r.torn}, phantoms=${r.phantoms}, ` +
    `stalled=${r.stalled}, drained=${r.drained}, crashes=${r.crashes.length}`
  );
}

export function stormOk(r) {
  return (
    r.duplicates === 0 &&
    r.torn === 0 &&
    r.phantoms === 0 &&
    !r.stalled &&
    r.drained &&
    r.leftInQueue === 0 &&
    r.crashes.length === 0 &&
    r.lostAcknowledged <= r.consumerKills &&
    r.messages > 0
  );
}
