// Part 3: Python's Pool program, with a queue handed to pool tasks by name (Python needs a
// Manager for this). Run by demo.mjs; the queue name comes as the argument.
import { ProcessPool, Queue } from 'shm-queue';

const [name] = process.argv.slice(2);
const main = `[main pid ${process.pid}]`;
const pool = new ProcessPool(new URL('./pool-tasks.mjs', import.meta.url), { processes: 2 });
console.log(`${main} new ProcessPool(pool-tasks.mjs, { processes: 2 })`);
const queue = Queue.create(name, { maxsize: 5, exclusive: false });
try {
  console.log(`${main} Queue.create('${name}', { maxsize: 5 })`);
  const result = pool.applyAsync('writeQueue', [queue]);
  console.log(`${main} pool.applyAsync('writeQueue', [queue]); result.ready() = ${result.ready()}`);
  await result.wait();
  console.log(
    `${main} await result.wait(); ready() = ${result.ready()}, successful() = ${result.successful()}, queue.qsize() = ${queue.qsize()}`,
  );
  const read = await pool.apply('readQueue', [queue]);
  console.log(`${main} await pool.apply('readQueue', [queue]) = ${JSON.stringify(read)}`);
  console.log(`${main} await pool.map('square', [1, 2, 3]) = ${JSON.stringify(await pool.map('square', [1, 2, 3]))}`);
  const range = function* (n) {
    for (let i = 0; i < n; i++) yield i;
  };
  const started = performance.now();
  let count = 0;
  let sum = 0;
  for await (const y of pool.imapUnordered('square', range(100_000), { chunksize: 256 })) {
    count++;
    sum += y;
  }
  console.log(
    `${main} for await (y of pool.imapUnordered('square', range(100000), { chunksize: 256 })): ${count.toLocaleString('en-US')} results, sum ${sum}, ${Math.round(performance.now() - started)} ms`,
  );
  const { workers, done, crashed, pids } = pool.stats();
  console.log(
    `${main} pool.stats(): ${workers} workers (pids ${pids.join(', ')}), ${done} tasks done, ${crashed} crashed`,
  );
  pool.close();
  await pool.join();
  console.log(`${main} pool.close(); await pool.join(): workers gone = ${pids.every((pid) => !alive(pid))}`);
} finally {
  queue.close();
  Queue.unlink(name);
  await pool.terminate();
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
