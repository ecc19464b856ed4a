// Reader: a separate process that opens the queue by name and drains it.
import { Queue } from 'shm-queue';

const [name] = process.argv.slice(2);
const q = Queue.open(name);
try {
  console.log(`[reader pid ${process.pid}] opened '${name}'; qsize() = ${q.qsize()}`);
  while (q.qsize() > 0) {
    const job = q.getSync();
    console.log(
      `[reader pid ${process.pid}] got job ${job.id}: ${job.task} (Date kept: ${job.at instanceof Date}); qsize() = ${q.qsize()}`,
    );
  }
  console.log(`[reader pid ${process.pid}] empty() = ${q.empty()}; done`);
} finally {
  q.close();
}
