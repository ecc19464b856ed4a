// What bounds RedisQueue one at a time (R1's target: >= 3x BullMQ's jobs/s), measured in one run on
// one local redis-server: each direction alone beside the pair of R1, for RedisQueue and BullMQ.
//
//   npm run bench:redis-bounds [-- --runs N --warm MS --time MS --kind bytes|object]
//
// Cases (one process each, or one pair):
//   pair   one producer + one consumer (R1's roles; the queue is full at the steady state)
//   puts   one producer alone, nobody taking (no maxsize)
//   gets   one consumer alone on a queue filled before the run, nobody putting
// A 1 -> 1 pair cannot be faster than the slower of its two directions alone, each of which has
// the machine (and the server) to itself: `gets` and `puts` divided by BullMQ's `pair` are the
// highest ratio any design of the pair could reach against BullMQ on this machine. For every case
// the CPU time per message of redis-server and of the case's processes (from /proc) is shown too.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuDuring, killAll, runProcesses, throughputOf } from './lib/harness.mjs';
import { commandLine, median, si } from './lib/common.mjs';
import { startRedisServer } from './lib/redis-server.mjs';

const USAGE = `usage: npm run bench:redis-bounds [-- --runs N --warm MS --time MS --kind bytes|object]
  --runs N       rounds (every case once per round), median shown (default 3)
  --warm MS      warm-up per run, not measured (default 4000: BullMQ needs about 4 s to settle)
  --time MS      measured window per run (default 2000)
  --kind K       bytes (64-byte messages, codec 'raw'; default) or object (small objects, 'msgpack')`;
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string' },
    warm: { type: 'string' },
    time: { type: 'string' },
    kind: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const { positive } = commandLine(opts, USAGE);
const runs = positive(opts.runs, 'runs', 3);
const timing = { warmMs: positive(opts.warm, 'warm', 4000), measureMs: positive(opts.time, 'time', 2000) };
const kind = opts.kind ?? 'bytes';
if (kind !== 'bytes' && kind !== 'object') {
  console.error(`--kind must be bytes or object\n\n${USAGE}`);
  process.exit(2);
}

const { RedisQueue } = await import('../dist/redis/index.js');
const { Queue: BullQueue } = await import('bullmq');
const tmp = mkdtempSync(join(os.tmpdir(), 'shm-queue-redis-bounds-'));
const server = await startRedisServer(tmp);
const cleanup = () => {
  killAll();
  server.stop();
  rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** Messages to fill a queue with for a `gets` run: more than the fastest consumer takes in it. */
const FILL_RATE = { redis: 80_000, bullmq: 40_000 };
let counter = 0;

/** Creates (and for `gets` fills) a queue of `transport`; resolves with its name. */
async function prepare(transport, shape) {
  const name = `bounds-${process.pid}-${++counter}`;
  const fill = shape === 'gets' ? Math.ceil(((timing.warmMs + timing.measureMs) / 1000) * FILL_RATE[transport]) : 0;
  const one = kind === 'bytes' ? Buffer.alloc(64, 0x5a) : { id: 1, name: 'item-1', tags: ['a', 'b'], value: 1.5 };
  if (transport === 'redis') {
    const codec = kind === 'bytes' ? 'raw' : 'msgpack';
    const q = await RedisQueue.create(name, { redis: server.path, codec, maxsize: shape === 'pair' ? 10_000 : 0 });
    for (let done = 0; done < fill; done += 1000) await q.putMany(Array.from({ length: 1000 }, () => one));
    await q.close();
  } else if (fill > 0) {
    const q = new BullQueue(name, { connection: { path: server.path } });
    const data = kind === 'bytes' ? { b: one.toString('latin1') } : one;
    const jobOpts = { removeOnComplete: true, removeOnFail: true };
    for (let done = 0; done < fill; done += 1000)
      await q.addBulk(Array.from({ length: 1000 }, () => ({ name: 'm', data, opts: jobOpts })));
    await q.close();
  }
  return name;
}

function procs(transport, shape, name) {
  const p = { transport, name, redis: server.path, kind, size: kind === 'bytes' ? 64 : 0, producers: 1, consumers: 1 };
  if (shape === 'puts') return [{ family: 'redis', role: 'putter', params: p }];
  if (shape === 'gets') return [{ family: 'redis', role: 'taker', params: p }];
  return [
    { family: 'redis', role: 'consumer', params: p },
    { family: 'redis', role: 'producer', params: { ...p, producer: 0 } },
  ];
}

async function runOnce(transport, shape) {
  const name = await prepare(transport, shape);
  let cpu = null;
  const results = await runProcesses(procs(transport, shape, name), timing, (go, pids) => {
    cpu = cpuDuring({ server: [server.pid], clients: pids }, go.tWarm, go.tEnd);
  });
  const r = throughputOf(results);
  const used = await cpu;
  const messages = (r.msgsPerSec * timing.measureMs) / 1000;
  server.flush();
  return { rate: r.msgsPerSec, serverUs: (used.server * 1000) / messages, clientUs: (used.clients * 1000) / messages };
}

const CASES = [
  { transport: 'redis', shape: 'pair', label: 'RedisQueue pair: await put -> await get' },
  { transport: 'redis', shape: 'puts', label: 'RedisQueue puts alone' },
  { transport: 'redis', shape: 'gets', label: 'RedisQueue gets alone' },
  { transport: 'bullmq', shape: 'pair', label: 'BullMQ pair: Queue.add -> Worker' },
  { transport: 'bullmq', shape: 'puts', label: 'BullMQ Queue.add alone' },
  { transport: 'bullmq', shape: 'gets', label: 'BullMQ Worker alone' },
];

const started = Date.now();
const load = os.loadavg().map((x) => x.toFixed(2));
const measured = CASES.map(() => []);
try {
  for (let round = 0; round < runs; round++) {
    for (const [i, c] of CASES.entries()) {
      process.stderr.write(`[round ${round + 1}/${runs}] ${c.label} ... `);
      const r = await runOnce(c.transport, c.shape);
      measured[i].push(r);
      process.stderr.write(`${si(r.rate)} msgs/s\n`);
    }
  }
} finally {
  cleanup();
}

const rows = CASES.map((c, i) => ({
  ...c,
  rate: median(measured[i].map((r) => r.rate)),
  min: Math.min(...measured[i].map((r) => r.rate)),
  max: Math.max(...measured[i].map((r) => r.rate)),
  serverUs: median(measured[i].map((r) => r.serverUs)),
  clientUs: median(measured[i].map((r) => r.clientUs)),
}));
const bullPair = rows.find((r) => r.transport === 'bullmq' && r.shape === 'pair').rate;
console.log(
  `## RedisQueue one at a time: each direction alone (${kind === 'bytes' ? '64-byte messages' : 'small objects'}, ${runs} rounds, ${timing.warmMs} ms warm-up + ${timing.measureMs} ms measured, median)`,
);
console.log();
console.log(
  `${os.cpus().length} cores, load average at start ${load.join(' / ')}; ${new Date().toISOString().slice(0, 16)} UTC.`,
);
console.log();
console.log('| case | msgs/s | range | server CPU µs/msg | client CPU µs/msg | vs BullMQ pair |');
console.log('|---|--:|--:|--:|--:|--:|');
for (const r of rows)
  console.log(
    `| ${r.transport === 'redis' ? `**${r.label}**` : r.label} | ${si(r.rate)} | ${si(r.min)}–${si(r.max)} | ${r.serverUs.toFixed(1)} | ${r.clientUs.toFixed(1)} | ${(r.rate / bullPair).toFixed(2)}x |`,
  );
console.log();
const ours = (shape) => rows.find((r) => r.transport === 'redis' && r.shape === shape).rate;
const ceiling = Math.min(ours('puts'), ours('gets'));
console.log(
  `- A RedisQueue pair cannot beat its slower direction alone: at most ${si(ceiling)} msgs/s here, ${(ceiling / bullPair).toFixed(2)}x BullMQ's pair (R1's target: 3x).`,
);
console.log(`- Total ${Math.round((Date.now() - started) / 1000)} s.`);
