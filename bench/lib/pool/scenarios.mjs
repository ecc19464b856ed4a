// The process pool scenarios of `npm run bench` (P1, P2): tasks per second through a pool of 2
// workers, ProcessPool against the pools a Node (or Python) user has today. Each case runs in a
// fresh process (run-case.mjs, or pool_bench.py), keeps the same number of tasks in flight, and
// reports the tasks completed inside the measured window.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runExecutable } from '../harness.mjs';

const RUN_CASE = fileURLToPath(new URL('./run-case.mjs', import.meta.url));
const PY_CASE = fileURLToPath(new URL('./pool_bench.py', import.meta.url));

export const POOL_PEERS = {
  workerpool: { label: "workerpool, workerType 'process'" },
  piscina: { label: 'piscina (worker threads)' },
  'fork-pool': { label: "hand-rolled fork + process.send pool ('advanced')" },
  'python-pool': { label: "Python's multiprocessing.Pool", needs: 'python3' },
};

/** Whether python3 runs here (the Python case is skipped otherwise). */
export function pythonAvailable() {
  try {
    return { ok: true, version: execFileSync('python3', ['--version']).toString().trim() };
  } catch (error) {
    return { ok: false, reason: `python3 could not be run: ${String(error.message).split('\n')[0]}` };
  }
}

const budget = (timing) => timing.warmMs + timing.measureMs + 60_000;
const asRate = (r) => ({ msgsPerSec: r.tasksPerSec });

function cases(kind, window) {
  const node = (id, label, peer) => ({
    id,
    label,
    shm: id === 'processpool',
    peer,
    run: (timing) =>
      runExecutable(
        process.execPath,
        [RUN_CASE, id, kind, String(window), String(timing.warmMs), String(timing.measureMs)],
        budget(timing),
      ).then(asRate),
  });
  return [
    node('processpool', 'shm-queue ProcessPool apply()', undefined),
    node('workerpool', POOL_PEERS.workerpool.label, 'workerpool'),
    node('piscina', POOL_PEERS.piscina.label, 'piscina'),
    node('fork', POOL_PEERS['fork-pool'].label, 'fork-pool'),
    {
      id: 'python',
      label: POOL_PEERS['python-pool'].label,
      peer: 'python-pool',
      run: (timing) =>
        runExecutable(
          'python3',
          [PY_CASE, kind, String(window), String(timing.warmMs), String(timing.measureMs)],
          budget(timing),
        ).then(asRate),
    },
  ];
}

export const POOL_SCENARIOS = [
  {
    id: 'P1',
    title: 'process pool, trivial task (echo a small object), 2 workers, 256 in flight, tasks/s',
    metric: 'msgs',
    cases: cases('trivial', 256),
    targets: [
      { shm: 'processpool', peer: 'workerpool', min: 5, text: ">= 5x workerpool's process pool" },
      { shm: 'processpool', peer: 'piscina', min: 1, text: '>= 1x piscina (threads)' },
    ],
  },
  {
    id: 'P2',
    title: 'process pool, 1 MiB Buffer argument, 2 workers, 8 in flight, tasks/s',
    metric: 'msgs',
    cases: cases('mib', 8),
    targets: [{ shm: 'processpool', peer: 'workerpool', min: 2, text: ">= 2x workerpool's process pool" }],
  },
];
