#!/usr/bin/env node
// `npm run bench`: how much faster is shm-queue than what a Node user has today, on this machine?
//
//   npm run bench                  full run: 5 runs per case, median (a few minutes)
//   npm run bench -- --quick       1 short run per case (under a minute)
//   npm run bench -- --only S1,S5  some scenarios;  --cases shm-sync,fork-json  some cases
//   npm run bench -- --help        every option
//
// Progress goes to stderr; the tables (markdown) to stdout; bench/results.json and
// bench/results.svg are written at the end. See bench/README.md for what each scenario does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuDuring, killAll, latencyOf, runExecutable, runProcesses, throughputOf } from './lib/harness.mjs';
import { commandLine, median, si } from './lib/common.mjs';
import { pythonAvailable } from './lib/pool/scenarios.mjs';
import { PEERS, SCENARIOS } from './lib/scenarios.mjs';
import { barChart } from './lib/svg.mjs';
import { redisServerInfo, startRedisServer } from './lib/redis-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: npm run bench [-- options]

  --quick            one short run per case (under a minute) instead of the full run
  --runs N           runs per case (full: 5, quick: 1); the median is reported
  --warm MS          warm-up per run, not measured (full: 300, and at least 4000 for R1-R4; quick: 100)
  --time MS          measured time per run (full: 700, quick: 300)
  --only IDS         scenarios to run, comma-separated (S1-S6, P1,P2 for the process pool, R1-R4 for Redis)
  --cases IDS        cases to run within them, comma-separated (e.g. shm-sync,fork-json)
  --no-micro         skip the in-process tinybench micro-benchmarks
  --out DIR          where results.json and results.svg go (default: bench/)
  --from FILE        run nothing: print the tables and write the SVG again from a results.json
  --help             this text`;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    warm: { type: 'string' },
    time: { type: 'string' },
    only: { type: 'string' },
    cases: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    out: { type: 'string' },
    from: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const { positive } = commandLine(opts, USAGE);
const mode = opts.quick ? 'quick' : 'full';
const timing = {
  runs: positive(opts.runs, 'runs', opts.quick ? 1 : 5),
  warmMs: positive(opts.warm, 'warm', opts.quick ? 100 : 300),
  measureMs: positive(opts.time, 'time', opts.quick ? 300 : 700),
};
const onlyScenarios = opts.only ? new Set(opts.only.split(',').map((s) => s.trim().toUpperCase())) : null;
const onlyCases = opts.cases ? new Set(opts.cases.split(',').map((s) => s.trim())) : null;
const outDir = opts.out ?? HERE;

// The built package: bench/ uses dist/ like any user would.
let Queue;
/** shm-queue/redis, for the Redis scenarios (null with the reason when it cannot load). */
let RedisQueue = null;
let redisLoadError = '';
if (!opts.from) {
  try {
    ({ RedisQueue } = await import('../dist/redis/index.js'));
  } catch (error) {
    redisLoadError = `shm-queue/redis could not be loaded: ${String(error.message).split('\n')[0]}`;
  }
  try {
    ({ Queue } = await import('../dist/index.js'));
  } catch (error) {
    console.error(`cannot load ../dist/index.js (${error.message}); run \`npm run build\` first`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------
// The machine, and what this machine can run.

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

async function zeromqAvailable() {
  try {
    const zmq = await import('zeromq');
    return {
      ok: true,
      version: `zeromq.js ${JSON.parse(readFileSync(join(HERE, '../node_modules/zeromq/package.json'), 'utf8')).version}, libzmq ${zmq.version}`,
    };
  } catch (error) {
    return { ok: false, reason: `npm 'zeromq' could not be loaded here: ${String(error.message).split('\n')[0]}` };
  }
}

/** Compiles one of the C++ references (bench/lib/NAME.cc) into the run's temporary directory. */
function buildCpp(tmp, name) {
  const out = join(tmp, name);
  try {
    execFileSync('g++', ['-O2', '-std=c++17', '-o', out, join(HERE, `lib/${name}.cc`)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { ok: true, file: out, version: execFileSync('g++', ['-dumpfullversion']).toString().trim() };
  } catch (error) {
    const why =
      error.code === 'ENOENT'
        ? 'g++ is not installed'
        : `g++ failed: ${String(error.stderr ?? error.message).split('\n')[0]}`;
    return { ok: false, reason: why };
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting.

const fmtUnit = (v, unit) =>
  unit === 'MB/s'
    ? `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} MB/s`
    : unit === 'µs'
      ? `${v.toFixed(1)} µs`
      : `${si(v)} msgs/s`;
const ratio = (r) => (r > 0 && Number.isFinite(r) ? `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x` : '—');

const progress = (() => {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (text, final = false) => {
    if (tty) {
      process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    } else if (final || Date.now() - last > 2000) {
      process.stderr.write(`${text}\n`);
      last = Date.now();
    }
  };
})();

// ---------------------------------------------------------------------------------------------
// Running.

const tmp = opts.from ? null : mkdtempSync(join(os.tmpdir(), 'shm-queue-bench-'));
const queues = new Set();
let queueCounter = 0;
/** The local redis-server of the Redis scenarios (R1-R4), started when one of them runs. */
let redisServer = null;
function cleanup() {
  killAll();
  redisServer?.stop();
  for (const name of queues) Queue.unlink(name);
  queues.clear();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.stderr.write(`\ninterrupted (${sig})\n`);
    process.exit(130);
  });
}

/** Per-run context: creates queues (unlinked after the run) and socket paths. */
function context() {
  const handles = [];
  return {
    queue(options) {
      const name = `bench-${process.pid}-${++queueCounter}`;
      handles.push(Queue.create(name, options));
      queues.add(name);
      return name;
    },
    path(file) {
      return join(tmp, `${queueCounter++}-${file}`);
    },
    /** Socket path of the bench's redis-server. */
    redis: redisServer?.path,
    /** A fresh name (Redis list or BullMQ queue). */
    name() {
      return `bench-${process.pid}-${++queueCounter}`;
    },
    /** Creates a RedisQueue (closed here at once: the processes open it by name). */
    async redisQueue(options) {
      const name = `bench-${process.pid}-${++queueCounter}`;
      await (await RedisQueue.create(name, { redis: redisServer.path, ...options })).close();
      return name;
    },
    close() {
      redisServer?.flush();
      for (const q of handles) {
        queues.delete(q.name);
        Queue.unlink(q.name);
        q.close();
      }
    },
  };
}

/**
 * The timing of one scenario's runs: the command line's, with the warm-up raised to the scenario's
 * `minWarmMs` (full runs) where it needs longer to reach its steady state.
 */
function timingOf(scenario) {
  const floor = opts.quick || opts.warm !== undefined ? 0 : (scenario.minWarmMs ?? 0);
  return { ...timing, warmMs: Math.max(timing.warmMs, floor) };
}

async function runCase(scenario, c, env) {
  const timing = timingOf(scenario);
  if (c.run) return c.run(timing);
  if (c.exec) {
    // A C++ reference (c.exec: 'futex' or 'ring', built at the start of the run), measured in-process.
    const r = await runExecutable(
      env[c.exec].file,
      [...(c.execArgs ?? []), String(timing.warmMs), String(timing.measureMs)],
      timing.warmMs + timing.measureMs + 30_000,
    );
    if (scenario.metric === 'latency') return { p50: r.p50, p90: r.p90, p99: r.p99, mean: r.mean, samples: r.samples };
    return { msgsPerSec: r.msgsPerSec, bytesPerSec: 0, messages: r.measured, sent: r.sent, seconds: r.seconds };
  }
  const ctx = context();
  try {
    // Redis scenarios: the CPU time the server and the case's own processes use per message in the
    // measured window. On two cores they share, the clients' cost bounds the figures as much as the
    // server's; with the clients on machines of their own, the server's alone does.
    let cpu = null;
    const onGo =
      scenario.redis && redisServer
        ? (go, pids) => (cpu = cpuDuring({ server: [redisServer.pid], clients: pids }, go.tWarm, go.tEnd))
        : undefined;
    const results = await runProcesses(await c.procs(ctx), timing, onGo);
    if (scenario.metric === 'latency') return latencyOf(results);
    const r = throughputOf(results);
    if (cpu) {
      const used = await cpu;
      const messages = (r.msgsPerSec * timing.measureMs) / 1000;
      r.serverUsPerMsg = (used.server * 1000) / messages;
      r.clientUsPerMsg = (used.clients * 1000) / messages;
    }
    return r;
  } finally {
    ctx.close();
  }
}

function metricValue(metric, r) {
  if (!r) return NaN;
  if (metric === 'latency') return r.p50;
  if (metric === 'bytes') return r.bytesPerSec / 1e6;
  return r.msgsPerSec;
}

/**
 * Ratios of every shm-queue case to every peer as "times better" (throughput: ours / theirs;
 * latency: their p50 / ours), from the medians shown in the table, and the targets' verdicts.
 * The per-round ratios (each round runs all cases of a scenario back to back) are kept too.
 */
function analyse(entry, def) {
  entry.ratios = [];
  entry.targets = [];
  const latency = entry.metric === 'latency';
  // A scenario with a `baseline` (one of our own cases, e.g. S6's 1x1) compares our other cases with it too.
  const base = entry.cases.find((c) => c.id === def?.baseline && c.shm);
  for (const a of entry.cases.filter((c) => c.shm && c !== base)) {
    for (const b of entry.cases.filter((c) => !c.shm || c === base)) {
      const perRound = a.runs.map((ra, i) => {
        const va = metricValue(entry.metric, ra);
        const vb = metricValue(entry.metric, b.runs[i]);
        return latency ? vb / va : va / vb;
      });
      entry.ratios.push({
        shm: a.id,
        peer: b.id,
        better: latency ? b.value / a.value : a.value / b.value,
        perRound: perRound.map((x) => (Number.isFinite(x) ? x : null)),
      });
    }
  }
  // Redis scenarios: how much less server CPU per message ours takes than the peer (theirs / ours).
  if (entry.cases.some((c) => Number.isFinite(c.serverUsPerMsg))) {
    entry.serverCost = (def?.targets ?? []).map((t) => {
      const of = (id) => entry.cases.find((c) => c.id === id)?.serverUsPerMsg;
      return { shm: t.shm, peer: t.peer, less: of(t.peer) / of(t.shm) };
    });
  }
  for (const t of def?.targets ?? []) {
    const better = entry.ratios.find((x) => x.shm === t.shm && x.peer === t.peer)?.better ?? NaN;
    // For latency the target reads "ours <= maxRatio x theirs".
    const measured = t.maxRatio !== undefined ? 1 / better : better;
    const met = !Number.isFinite(measured)
      ? null
      : t.maxRatio !== undefined
        ? measured <= t.maxRatio
        : measured >= t.min;
    entry.targets.push({
      text: t.text,
      shm: t.shm,
      peer: t.peer,
      measured,
      met,
      goal: t.maxRatio !== undefined ? `<= ${t.maxRatio}x` : `>= ${t.min}x`,
    });
  }
}

async function measure() {
  const started = Date.now();
  const info = machine();
  const zmqInfo = await zeromqAvailable();
  const futexInfo = buildCpp(tmp, 'futex-pingpong');
  const scenarios = SCENARIOS.filter((s) => !onlyScenarios || onlyScenarios.has(s.id)).map((s) => ({
    ...s,
    cases: s.cases.filter((c) => !onlyCases || onlyCases.has(c.id)),
  }));
  // The C++ throughput reference of S1 is compiled only when one of its cases runs.
  const ringInfo = scenarios.some((s) => s.cases.some((c) => c.exec === 'ring'))
    ? buildCpp(tmp, 'ring-throughput')
    : { ok: false, reason: 'not run' };
  const cpp = { futex: futexInfo, ring: ringInfo };
  const redisInfo = !scenarios.some((s) => s.redis && s.cases.length > 0)
    ? { ok: false, reason: 'not run' }
    : RedisQueue
      ? redisServerInfo()
      : { ok: false, reason: redisLoadError };
  if (redisInfo.ok) redisServer = await startRedisServer(tmp);
  const pythonInfo = pythonAvailable();
  const skipReason = (c) => {
    const needs = c.needs ?? (c.peer ? PEERS[c.peer]?.needs : undefined);
    if (needs === 'redis-server' && !redisInfo.ok) return redisInfo.reason;
    if (needs === 'python3' && !pythonInfo.ok) return pythonInfo.reason;
    if (needs === 'zeromq' && !zmqInfo.ok) return zmqInfo.reason;
    if (needs === 'g++' && !cpp[c.exec ?? 'futex'].ok) return cpp[c.exec ?? 'futex'].reason;
    return null;
  };

  const totalRuns = scenarios.reduce((a, s) => a + s.cases.length * timing.runs, 0);
  let done = 0;
  const report = {
    tool: 'shm-queue bench',
    mode,
    timing,
    machine: info,
    peers: {
      zeromq: zmqInfo,
      futexReference: futexInfo.ok ? { ok: true, compiler: `g++ ${futexInfo.version}` } : futexInfo,
      ringReference: ringInfo.ok ? { ok: true, compiler: `g++ ${ringInfo.version}` } : ringInfo,
      redisServer: redisInfo,
    },
    scenarios: [],
    micro: null,
  };

  for (const s of scenarios) {
    const entry = {
      id: s.id,
      title: s.title,
      metric: s.metric,
      warmMs: timingOf(s).warmMs,
      unit: s.metric === 'latency' ? 'µs' : s.metric === 'bytes' ? 'MB/s' : 'msgs/s',
      cases: [],
      ratios: [],
      targets: [],
    };
    const state = s.cases.map((c) => ({ c, runs: [], errors: [], skipped: skipReason(c) }));
    // Rounds: every case once, then every case again..., so that a load change on the machine hits
    // all cases of a scenario alike and the per-round ratios stay comparable.
    for (let round = 0; round < timing.runs; round++) {
      for (const st of state) {
        done++;
        const head = `[${done}/${totalRuns}] ${s.id} ${st.c.label}${timing.runs > 1 ? ` (run ${round + 1}/${timing.runs})` : ''}`;
        if (st.skipped) {
          progress(`${head}: skipped`);
          st.runs.push(null);
          continue;
        }
        progress(`${head} ...`);
        try {
          const r = await runCase(s, st.c, cpp);
          st.runs.push(r);
          progress(
            `${head}: ${fmtUnit(metricValue(s.metric, r), entry.unit)}${s.metric === 'latency' ? ` p50, ${r.p99.toFixed(1)} µs p99` : ''}`,
          );
        } catch (error) {
          st.runs.push(null);
          st.errors.push(String(error.message).split('\n').slice(0, 6).join('\n'));
          progress(`${head}: FAILED: ${String(error.message).split('\n')[0]}`, true);
        }
      }
    }
    for (const st of state) {
      const ok = st.runs.filter(Boolean);
      const values = st.runs.map((r) => metricValue(s.metric, r));
      const c = {
        id: st.c.id,
        label: st.c.label,
        shm: !!st.c.shm,
        peer: st.c.peer ?? null,
        value: median(values),
        min: ok.length ? Math.min(...values.filter(Number.isFinite)) : NaN,
        max: ok.length ? Math.max(...values.filter(Number.isFinite)) : NaN,
        runs: st.runs,
      };
      if (s.metric === 'latency') c.p99 = median(st.runs.map((r) => r?.p99));
      if (s.metric === 'bytes') c.msgsPerSec = median(st.runs.map((r) => r?.msgsPerSec));
      if (s.redis) {
        c.serverUsPerMsg = median(st.runs.map((r) => r?.serverUsPerMsg));
        c.clientUsPerMsg = median(st.runs.map((r) => r?.clientUsPerMsg));
      }
      if (st.skipped) c.skipped = st.skipped;
      if (st.errors.length) c.errors = st.errors;
      entry.cases.push(c);
    }
    analyse(entry, s);
    report.scenarios.push(entry);
  }

  if (!opts['no-micro'] && !onlyCases) {
    progress('micro-benchmarks (tinybench, one process) ...');
    try {
      const [r] = await runProcesses(
        [
          {
            family: 'micro',
            role: 'micro',
            params: { time: opts.quick ? 150 : 400, warmup: opts.quick ? 50 : 100, name: `bench-${process.pid}-micro` },
          },
        ],
        { warmMs: 0, measureMs: 0 },
      );
      report.micro = r.tasks;
    } catch (error) {
      report.micro = { error: String(error.message).split('\n')[0] };
    }
  }
  progress(`done in ${Math.round((Date.now() - started) / 1000)} s`, true);
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  cleanup();
  return report;
}

const report = opts.from ? JSON.parse(readFileSync(opts.from, 'utf8')) : await measure();
if (opts.from)
  for (const e of report.scenarios)
    analyse(
      e,
      SCENARIOS.find((d) => d.id === e.id),
    );
const { mode: shownMode, timing: shown, machine: info } = report;
const zmqInfo = report.peers.zeromq;
const futexInfo = report.peers.futexReference;
const ringInfo = report.peers.ringReference ?? { ok: false, reason: 'not run' };

// ---------------------------------------------------------------------------------------------
// Output: markdown tables on stdout, results.json, results.svg.

const lines = [];
const out = (l = '') => lines.push(l);
out(
  `## shm-queue benchmark (${shownMode} run: ${shown.runs} run${shown.runs > 1 ? 's' : ''} per case, ${shown.warmMs} ms warm-up + ${shown.measureMs} ms measured, median)`,
);
out();
out(
  `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.kernel}, Node ${info.node}; load average at start ${info.loadAverageAtStart.join(' / ')}; ${info.date.slice(0, 16).replace('T', ' ')} UTC.`,
);
out(
  `Peers: ${zmqInfo.ok ? zmqInfo.version : `zeromq skipped (${zmqInfo.reason})`}; ${futexInfo.ok ? `C++ reference built with ${futexInfo.compiler}` : `C++ reference skipped (${futexInfo.reason})`}${ringInfo.ok ? `; C++ ring reference built with ${ringInfo.compiler}` : ringInfo.reason === 'not run' ? '' : `; C++ ring reference skipped (${ringInfo.reason})`}.`,
);
for (const e of report.scenarios) {
  out();
  const latency = e.metric === 'latency';
  const baseline = SCENARIOS.find((d) => d.id === e.id)?.baseline;
  const peers = e.cases.filter((c) => !c.shm || c.id === baseline);
  out(`### ${e.id}: ${e.title} (${latency ? 'round trip, µs' : e.unit})`);
  if (e.warmMs !== undefined && e.warmMs !== shown.warmMs) {
    out();
    out(`Warm-up ${e.warmMs} ms for this scenario (the queue fills and every process settles first).`);
  }
  out();
  const head = latency ? ['case', 'p50 µs', 'p99 µs', 'p50 range'] : ['case', e.unit, 'range'];
  if (e.metric === 'bytes') head.push('msgs/s');
  const cpuShown = e.cases.some((c) => Number.isFinite(c.serverUsPerMsg));
  if (cpuShown) head.push('server CPU µs/msg', 'client CPU µs/msg');
  const ratioHead = peers.map((p) => `vs ${PEERS[p.peer]?.label ?? p.label}`);
  out(`| ${[...head, ...ratioHead].join(' | ')} |`);
  out(`|${[...head, ...ratioHead].map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
  for (const c of e.cases) {
    const name = c.shm ? `**${c.label}**` : c.label;
    const val = (v) =>
      latency
        ? Number.isFinite(v)
          ? v.toFixed(1)
          : '—'
        : e.metric === 'bytes'
          ? Number.isFinite(v)
            ? v.toFixed(0)
            : '—'
          : si(v);
    const range = shown.runs > 1 && Number.isFinite(c.min) ? `${val(c.min)}–${val(c.max)}` : '';
    const cells = latency ? [name, val(c.value), val(c.p99), range] : [name, val(c.value), range];
    if (e.metric === 'bytes') cells.push(si(c.msgsPerSec));
    if (cpuShown)
      for (const v of [c.serverUsPerMsg, c.clientUsPerMsg]) cells.push(Number.isFinite(v) ? v.toFixed(1) : '—');
    if (c.skipped) cells[1] = `skipped: ${c.skipped}`;
    else if (!Number.isFinite(c.value)) cells[1] = 'FAILED';
    for (const p of peers)
      cells.push(c.shm && c !== p ? ratio(e.ratios.find((r) => r.shm === c.id && r.peer === p.id)?.better) : '');
    out(`| ${cells.join(' | ')} |`);
  }
  out();
  out(
    `Ratios ("x" = times better): ${latency ? "the peer's p50 / ours" : "ours / the peer's"}, from the medians above; every round ran all cases back to back (per-round ratios are in results.json).`,
  );
  for (const t of e.targets) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
    const shown = Number.isFinite(t.measured) ? `${t.measured.toFixed(2)}x` : '—';
    out(`- target ${e.id} ${t.text}: ${shown} (goal ${t.goal}) — ${verdict}`);
  }
  if (cpuShown) {
    out(
      '- CPU per message: the time redis-server (server) and all processes of the case (clients) ran inside the measured window, over the messages moved in it. Both share the two cores here; with the clients on machines of their own, the server alone bounds the rate.',
    );
    for (const x of e.serverCost ?? []) {
      const label = (id) => e.cases.find((c) => c.id === id)?.label ?? id;
      if (Number.isFinite(x.less))
        out(`- server CPU per message, ${label(x.peer)} / ${label(x.shm)}: ${x.less.toFixed(2)}x`);
    }
  }
  for (const c of e.cases)
    if (c.errors) out(`- ${c.label}: ${c.errors.length} failed run(s): ${c.errors[0].split('\n')[0]}`);
}
if (Array.isArray(report.micro)) {
  out();
  out('### Micro-benchmarks (tinybench, one process, nobody else on the queue)');
  out();
  out('| operation | ops/s |');
  out('|---|--:|');
  for (const t of report.micro) out(`| ${t.label} | ${si(t.opsPerSec)} |`);
} else if (report.micro?.error) {
  out();
  out(`Micro-benchmarks failed: ${report.micro.error}`);
}
out();
out(
  `Total ${report.seconds} s. The figures are from this machine and this moment; other load on it moves them, the ratios (measured side by side) much less.`,
);
process.stdout.write(`${lines.join('\n')}\n`);

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
const svg = barChart({
  title: `shm-queue vs what Node has today (${shownMode} run)`,
  subtitle: `${info.cpu}, ${info.cores} cores, ${info.kernel}, Node ${info.node}, ${info.date.slice(0, 10)} — blue: shm-queue, grey: peers`,
  panels: report.scenarios.map((e) => ({
    title: `${e.id}: ${e.title}`,
    unit: e.metric === 'latency' ? 'p50 round trip, µs' : e.unit,
    lowerIsBetter: e.metric === 'latency',
    bars: e.cases.map((c) => ({
      label: c.label,
      value: Number.isFinite(c.value) ? c.value : 0,
      shm: c.shm,
      note: c.skipped ? 'skipped' : 'failed',
    })),
  })),
  format: (v, unit) =>
    unit.startsWith('p50') ? `${v.toFixed(1)} µs` : unit === 'MB/s' ? `${v.toFixed(0)} MB/s` : si(v),
});
writeFileSync(join(outDir, 'results.svg'), svg);
process.stderr.write(`wrote ${join(outDir, 'results.json')} and ${join(outDir, 'results.svg')}\n`);
const failed = report.scenarios.some((e) => e.cases.some((c) => !c.skipped && !Number.isFinite(c.value)));
process.exitCode = failed ? 1 : 0;
