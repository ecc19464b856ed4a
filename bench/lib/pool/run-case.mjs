// One pool benchmark case in a fresh process: `node run-case.mjs <case> <trivial|mib> <window>
// <warmMs> <measureMs>`. Keeps `window` tasks in flight for warm-up + measured time and prints
// {"tasksPerSec": ...}: tasks completed inside the measured window per second. Every case has
// 2 workers and the same window, task and argument.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const [which, kind, windowArg, warmArg, measureArg] = process.argv.slice(2);
const window = Number(windowArg);
const warmMs = Number(warmArg);
const measureMs = Number(measureArg);
const tasksUrl = new URL('./tasks.mjs', import.meta.url);
const fn = kind === 'trivial' ? 'echo' : 'size';
const arg = kind === 'trivial' ? { id: 1, name: 'task', values: [1, 2, 3] } : Buffer.alloc(1 << 20, 7);

async function contender() {
  switch (which) {
    case 'processpool': {
      const { ProcessPool } = await import('../../../dist/index.js');
      const pool = new ProcessPool(tasksUrl, {
        processes: 2,
        execArgv: process.env.POOL_EXEC_ARGV ? process.env.POOL_EXEC_ARGV.split(' ') : [],
      });
      return {
        call: (a) => pool.apply(fn, [a]),
        close: () => (process.env.POOL_EXEC_ARGV ? pool[Symbol.asyncDispose]() : pool.terminate()),
      };
    }
    case 'workerpool': {
      const { default: workerpool } = await import('workerpool');
      const pool = workerpool.pool(new URL('./workerpool-worker.mjs', import.meta.url).pathname, {
        workerType: 'process',
        minWorkers: 2,
        maxWorkers: 2,
      });
      return { call: (a) => pool.exec(fn, [a]), close: () => pool.terminate(true) };
    }
    case 'piscina': {
      const { Piscina } = await import('piscina');
      const pool = new Piscina({ filename: tasksUrl.href, minThreads: 2, maxThreads: 2 });
      return { call: (a) => pool.run(a, { name: fn }), close: () => pool.destroy() };
    }
    case 'fork': {
      const children = [0, 1].map(() =>
        fork(new URL('./fork-worker.mjs', import.meta.url), { serialization: 'advanced' }),
      );
      const waiting = new Map();
      for (const child of children) child.on('message', (m) => waiting.get(m.id)?.(m.value));
      let next = 0;
      return {
        call: (a) =>
          new Promise((resolve) => {
            const id = next++;
            waiting.set(id, (v) => {
              waiting.delete(id);
              resolve(v);
            });
            children[id % 2].send({ id, name: fn, arg: a });
          }),
        close: () => {
          for (const c of children) c.kill();
        },
      };
    }
    default:
      throw new Error(`unknown case ${which}`);
  }
}

const { call, close } = await contender();
for (let i = 0; i < 20; i++) await Promise.all([call(arg), call(arg)]); // workers started and warm
const start = performance.now();
const warmEnd = start + warmMs;
const end = warmEnd + measureMs;
let counted = 0;
let inflight = 0;
await new Promise((resolve, reject) => {
  const launch = () => {
    while (inflight < window && performance.now() < end) {
      inflight++;
      call(arg).then(finished, reject);
    }
    if (inflight === 0) resolve();
  };
  const finished = () => {
    inflight--;
    const t = performance.now();
    if (t >= warmEnd && t < end) counted++;
    launch();
  };
  launch();
});
await close();
process.stdout.write(`${JSON.stringify({ tasksPerSec: counted / (measureMs / 1000) })}\n`);
process.exit(0);
