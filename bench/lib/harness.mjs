// The cross-process harness: starts the processes of one run, lines them up on a start signal,
// collects their results, and turns them into one figure.
import { execFile, execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLOCK_BASE, now } from './common.mjs';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const live = new Set();

/** Kills every benchmark process still running (on an error or ^C). */
export function killAll() {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

function start(proc) {
  const child = fork(CHILD, [proc.family, proc.role, JSON.stringify(proc.params ?? {})], {
    env: { ...process.env, BENCH_CLOCK_BASE: CLOCK_BASE },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles every benchmark process.
    execArgv: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean) : [],
  });
  live.add(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const state = {
    child,
    ready: null,
    result: null,
    phase: 'starting',
    output: () => output,
    what: `${proc.family}/${proc.role}`,
  };
  state.ready = new Promise((resolve, reject) => {
    state.result = new Promise((res2, rej2) => {
      child.on('message', (m) => {
        if (m.type === 'ready') {
          state.phase = 'running';
          resolve();
        } else if (m.type === 'result') {
          state.phase = 'done';
          res2(m.result);
        } else if (m.type === 'error') {
          const e = new Error(`${m.message}${output ? `\n--- its output:\n${output.trim()}` : ''}`);
          reject(e);
          rej2(e);
        }
      });
      child.on('exit', (code, signal) => {
        live.delete(child);
        const e = new Error(
          `${proc.family}/${proc.role} exited (${signal ?? `code ${code}`}) before it finished${output ? `:\n${output.trim()}` : ''}`,
        );
        reject(e);
        rej2(e);
      });
    });
  });
  state.result.catch(() => {});
  state.ready.catch(() => {});
  return state;
}

function withTimeout(promise, ms, what, states) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        const where = states
          .map(
            (s) =>
              `${s.what}: ${s.phase}${s.output() ? ` (${s.output().trim().split('\n').slice(-3).join(' / ')})` : ''}`,
          )
          .join('; ');
        reject(new Error(`${what} took longer than ${Math.round(ms / 1000)} s; ${where}`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One run: starts `procs` ({ family, role, params }), waits until all are ready, gives them the
 * same warm-up end and run end on the machine's monotonic clock, and returns their results.
 * `onGo(go, pids)`, when given, is called once the start signal is sent (with its instants and the
 * processes' pids), e.g. to sample CPU time over the measured window (see cpuDuring).
 */
export async function runProcesses(procs, { warmMs, measureMs }, onGo) {
  const states = procs.map(start);
  try {
    await withTimeout(Promise.all(states.map((s) => s.ready)), 30_000, 'starting the processes', states);
    const t = now() + 5;
    const go = { type: 'go', tWarm: t + warmMs, tEnd: t + warmMs + measureMs };
    for (const s of states) s.child.send(go);
    onGo?.(
      go,
      states.map((s) => s.child.pid),
    );
    return await withTimeout(Promise.all(states.map((s) => s.result)), warmMs + measureMs + 20_000, 'the run', states);
  } finally {
    const running = (s) => s.child.exitCode === null && s.child.signalCode === null;
    // A profiled process writes its profile as it exits: let it end by itself first.
    if (process.env.BENCH_NODE_ARGS)
      await Promise.race([
        Promise.all(states.filter(running).map((s) => new Promise((r) => s.child.once('exit', r)))),
        new Promise((r) => setTimeout(r, 3000)),
      ]);
    for (const s of states) if (running(s)) s.child.kill('SIGKILL');
  }
}

/** Runs an executable that prints one JSON line (the C++ reference). */
export function runExecutable(file, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      live.delete(child);
      if (error) reject(new Error(`${file} failed: ${error.message}${stderr ? `\n${stderr}` : ''}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
    live.add(child);
  });
}

/** Flattens nested results (a broker returns its children's) into one list of objects. */
function flatten(results, out = []) {
  for (const r of results) {
    if (r === null || typeof r !== 'object') continue;
    out.push(r);
    for (const v of Object.values(r)) if (Array.isArray(v)) flatten(v, out);
  }
  return out;
}

/**
 * Throughput of one run from its processes' results: the messages counted inside every
 * receiver's measured window, over the span from the earliest window start to the latest end.
 * Also checks that every message sent arrived.
 */
export function throughputOf(results) {
  const all = flatten(results);
  const receivers = all.filter((r) => typeof r.measured === 'number');
  const sent = all.filter((r) => typeof r.sent === 'number').reduce((a, r) => a + r.sent, 0);
  const received = receivers.reduce((a, r) => a + r.received, 0);
  if (receivers.length === 0) throw new Error('no receiver reported');
  if (sent !== received) throw new Error(`${received} messages arrived but ${sent} were sent`);
  const measured = receivers.reduce((a, r) => a + r.measured, 0);
  const bytes = receivers.reduce((a, r) => a + (r.bytes ?? 0), 0);
  const t0 = Math.min(...receivers.map((r) => r.t0));
  const t1 = Math.max(...receivers.map((r) => r.t1));
  const seconds = (t1 - t0) / 1000;
  if (measured === 0 || !(seconds > 0)) throw new Error('the run ended before its measured window started');
  return { msgsPerSec: measured / seconds, bytesPerSec: bytes / seconds, messages: measured, sent, seconds };
}

/** Latency of one ping-pong run: the client's percentiles. */
export function latencyOf(results) {
  const r = flatten(results).find((x) => typeof x.p50 === 'number');
  if (!r || !(r.samples > 0)) throw new Error('no round trip was measured');
  return { p50: r.p50, p90: r.p90, p99: r.p99, mean: r.mean, samples: r.samples };
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) process `pid` has used so far, from /proc; NaN once it is gone. */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) start at its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (ms) every group of pids used between the instants `from` and `to` (the shared clock of
 * now()): resolves `{ [group]: ms }` just after `to`. The kernel counts in ticks (10 ms), so the
 * window should be long against that.
 */
export function cpuDuring(groups, from, to) {
  const sample = () => Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.map(cpuMsOf)]));
  return new Promise((resolve) => {
    let first;
    setTimeout(() => (first = sample()), Math.max(0, from - now()));
    setTimeout(
      () => {
        const last = sample();
        const used = {};
        for (const [k, list] of Object.entries(last)) used[k] = list.reduce((a, v, i) => a + v - first[k][i], 0);
        resolve(used);
      },
      Math.max(0, to - now()),
    );
  });
}
