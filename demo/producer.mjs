// Producer: puts `count` small objects, in batches of 256 (one lock per batch).
import { Queue } from 'shm-queue';

const [name, countArg] = process.argv.slice(2);
const count = Number(countArg);
const q = Queue.create(name, { maxsize: 10_000, capacity: 4 << 20, exclusive: false });
try {
  const started = performance.now();
  for (let i = 0; i < count; i += 256) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 256); j++) batch.push({ id: j, name: `item-${j}`, value: j * 1.5 });
    await q.putMany(batch);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`[producer pid ${process.pid}] put ${count.toLocaleString('en-US')} messages in ${seconds.toFixed(2)} s`);
} finally {
  q.close();
}
