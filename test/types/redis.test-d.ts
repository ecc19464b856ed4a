// Type test of the shared async interface and the `shm-queue/redis` declarations, as a consumer
// sees them (through package.json `exports`). Only type-checked; each @ts-expect-error must fail.
import { JoinableQueue, Queue, type AsyncJoinableQueue, type AsyncQueue } from 'shm-queue';
import {
  RedisJoinableQueue,
  RedisQueue,
  QueueFullError,
  type RedisMessage,
  type RedisQueueStats,
  type AsyncQueue as RedisAsyncQueue,
} from 'shm-queue/redis';

interface Job {
  id: number;
}

/** A program written against the shared interface: runs on either backend. */
async function work(q: AsyncQueue<Job>): Promise<number> {
  await q.put({ id: 1 }, { timeout: 1000 });
  await q.putNowait({ id: 2 });
  await q.putMany([{ id: 3 }]);
  const one: Job = await q.get({ timeout: 10, signal: AbortSignal.timeout(10) });
  const many: Job[] = await q.getMany(5);
  const now: Job = await q.getNowait();
  const size: number = await q.qsize();
  const flags: boolean = (await q.empty()) || (await q.full());
  const puts: number = (await q.stats()).puts;
  for await (const job of q) if (job.id > 0) break;
  await q.shutdown({ immediate: false });
  await q.close();
  return one.id + many.length + now.id + size + puts + Number(flags);
}

async function join(q: AsyncJoinableQueue<string>): Promise<boolean> {
  await q.taskDone();
  return (await q.unfinishedTasks()) === 0 && (await q.join({ timeout: 5 }));
}

// The shared-memory Queue satisfies the interface unchanged (its sync answers are Awaitable).
void work(Queue.create<Job>('jobs'));
void join(JoinableQueue.open<string>('work'));

async function redis(): Promise<void> {
  const q = await RedisQueue.create<Job>('jobs', { redis: 'redis://127.0.0.1:6379', maxsize: 10, exclusive: false });
  void work(q);
  const shared: RedisAsyncQueue<Job> = q;
  const m: RedisMessage<Job> = await q.get({ ack: 'manual', timeout: 100 });
  const acked: boolean = await m.ack();
  const auto: Job = await q.get({ ack: 'auto' });
  const stats: RedisQueueStats = await q.stats();
  const size: Promise<number> = q.qsize();
  const j = await RedisJoinableQueue.open<string>('work', { redis: { cluster: [{ host: '127.0.0.1', port: 7000 }] } });
  void join(j);
  // @ts-expect-error a network queue has no blocking methods
  q.getSync();
  // @ts-expect-error the redis option is required
  await RedisQueue.open('jobs', {});
  // @ts-expect-error the value type is checked
  await q.put({ id: 'one' });
  void [shared, acked, auto, stats, size, QueueFullError];
}

export { redis };
