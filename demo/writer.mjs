// Writer: creates the queue (or opens it, if the reader was first) and puts until it is full.
import { Queue } from 'shm-queue';

const [name] = process.argv.slice(2);
const q = Queue.create(name, { maxsize: 5, exclusive: false });
try {
  let i = 0;
  while (!q.full()) {
    const job = { id: i, task: `resize image-${i}.png`, at: new Date() };
    q.putSync(job);
    console.log(`[writer pid ${process.pid}] put job ${job.id}; qsize() = ${q.qsize()}`);
    i++;
  }
  console.log(`[writer pid ${process.pid}] full() = true after ${i} puts; exiting`);
} finally {
  q.close();
}
