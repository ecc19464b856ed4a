// `npm run demo`: unrelated processes exchanging messages through a queue they open by name.
// Part 1 is the classic multiprocessing.Queue tutorial (a writer fills a maxsize-5 queue, a
// reader drains it); part 2 moves 100,000 messages between two processes and times it; part 3 is
// Python's Pool program: a ProcessPool whose tasks get the queue as an argument.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'shm-queue';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const name = `demo-${process.pid}`;

function run(script, ...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here(script), ...args], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

try {
  console.log(`Part 1: a writer and a reader process share queue '${name}' (maxsize 5)\n`);
  await run('writer.mjs', name);
  await run('reader.mjs', name);
  Queue.unlink(name);

  const count = 100_000;
  console.log(`\nPart 2: ${count.toLocaleString('en-US')} messages from a producer process to a consumer process\n`);
  await Promise.all([run('producer.mjs', name, String(count)), run('consumer.mjs', name, String(count))]);

  console.log(`\nPart 3: a ProcessPool of 2 worker processes; the queue is a task argument, passed by name\n`);
  await run('pool.mjs', `${name}-pool`);
} finally {
  Queue.unlink(name);
}
