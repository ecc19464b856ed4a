// Type test of the published declarations: `shm-queue` resolves through package.json `exports`
// (self-reference) to dist/index.d.ts, the files the tarball ships. Only type-checked
// (test/types/tsconfig.json), never run. Each @ts-expect-error must be an error, or tsc fails.
import {
  Queue,
  JoinableQueue,
  ShmQueueError,
  QueueFullError,
  type QueueStats,
  type Codec,
  type CreateOptions,
} from 'shm-queue';

const q: Queue<{ id: number }> = Queue.create<{ id: number }>('jobs', {
  maxsize: 10,
  capacity: 4096,
  exclusive: false,
});
q.putSync({ id: 1 });
const one: { id: number } = q.getSync({ timeout: 10 });
const many: Promise<{ id: number }[]> = q.getMany(5, { signal: AbortSignal.timeout(10) });
const size: number = q.qsize();
const stats: QueueStats = q.stats();
const messages: number = stats.messages;
q.close();

// @ts-expect-error the value type is checked
q.putSync({ id: 'one' });
// @ts-expect-error maxsize is a number
Queue.create('jobs', { maxsize: '10' });

const jq = JoinableQueue.open<string>('jobs', { codec: 'string' });
const joined: Promise<boolean> = jq.join();
jq.taskDone();

const codec: Codec<Uint8Array> = { name: 'bytes', encode: (v) => v, decode: (b) => b };
const options: CreateOptions<Uint8Array> = { codec };

function handle(err: unknown): string | undefined {
  if (err instanceof QueueFullError) return err.putCount.toString();
  if (err instanceof ShmQueueError) return err.code;
  return undefined;
}

// @ts-expect-error internals stay private: the exports map has no deep paths
import type { addon } from 'shm-queue/dist/native/index.js';

export { one, many, size, messages, joined, options, handle };
