// Consumer: takes `count` messages as they arrive, checks each, and reports messages per second.
import { Queue } from 'shm-queue';

const [name, countArg] = process.argv.slice(2);
const count = Number(countArg);
const q = Queue.create(name, { maxsize: 10_000, capacity: 4 << 20, exclusive: false });
try {
  let received = 0;
  let started = 0;
  while (received < count) {
    const batch = await q.getMany(256);
    if (received === 0) started = performance.now();
    for (const msg of batch) {
      if (msg.id !== received || msg.name !== `item-${received}`)
        throw new Error(`out of order: expected ${received}, got ${msg.id}`);
      received++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `[consumer pid ${process.pid}] received ${received.toLocaleString('en-US')} messages, all in order: ${Math.round(received / seconds).toLocaleString('en-US')} messages/s`,
  );
} finally {
  q.close();
}
