// The put/get smoke run of `npm run test:valgrind`: every native entry point once or more, sync,
// batch and async (waiter thread), then shutdown, close and unlink.
import { Queue } from '../dist/index.js';

const name = `valgrind-${process.pid}`;
const q = Queue.create(name, { codec: 'raw', capacity: 64 * 1024, maxsize: 100 });
try {
  for (let i = 0; i < 300; i++) {
    q.putSync(Buffer.alloc(1 + ((i * 37) % 3000), i & 0xff));
    const b = q.getSync({ timeout: 1000 });
    if (b.length !== 1 + ((i * 37) % 3000) || b[0] !== (i & 0xff)) throw new Error(`bad message ${i}`);
  }
  q.putManySync(Array.from({ length: 50 }, (_, i) => Buffer.alloc(i + 1, 1)));
  if (q.getManySync(64).length !== 50) throw new Error('getMany');
  const got = q.get({ timeout: 5000 });
  setTimeout(() => q.putNowait(Buffer.from('async')), 50);
  if ((await got).toString() !== 'async') throw new Error('async get');
  try {
    q.getNowait();
  } catch (e) {
    if (e.code !== 'ERR_QUEUE_EMPTY') throw e;
  }
  const s = q.stats();
  if (s.puts !== 351 || s.gets !== 351) throw new Error(`stats ${JSON.stringify(s)}`);
  q.shutdown();
  console.log(`valgrind smoke: ${s.puts} puts, ${s.gets} gets`);
} finally {
  q.close();
  Queue.unlink(name);
}
