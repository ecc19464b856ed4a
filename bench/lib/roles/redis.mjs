// Redis scenarios (R1-R4): one producer/consumer pair of roles for every transport compared, all on
// the bench's one local redis-server (unix socket), plus the shared-memory Queue beside them.
//
//   params: { transport, name, redis (socket path), kind: 'bytes'|'object', size, batch,
//             producer (id), producers, consumers }
//   transport: 'redis'        RedisQueue, await put / await get, one at a time
//              'redis-batch'  RedisQueue, putMany(batch) / getMany(4 * batch)
//              'bullmq'       BullMQ Queue.add (removeOnComplete) + Worker (default concurrency 1)
//              'lpush'        ioredis LPUSH / BRPOP, one at a time
//              'lpush-pipe'   ioredis pipeline of `batch` LPUSHes / RPOP key 4*batch (BRPOP when empty)
//              'shm'          shm-queue Queue putSync / getSync (the shared-memory backend)
//              'shm-batch'    shm-queue putManySync / getManySync
//
// Every message carries its producer and sequence number; consumers check each producer's numbers
// rise (one producer: that nothing is missing), the orchestrator that the totals match.
import { Queue } from '../../../dist/index.js';
import { RedisQueue } from '../../../dist/redis/index.js';
import {
  ContentError,
  END_SIZE,
  Window,
  checkBytes,
  checkObject,
  endBytes,
  endCount,
  makeObject,
  now,
  seqOf,
  sleep,
  stamp,
} from '../common.mjs';

/** Queue depth (messages) above which the unbounded transports' producers wait. */
const HIGH_WATER = 10_000;

function message(p, seq, buf) {
  if (p.kind === 'bytes') {
    stamp(buf, seq);
    buf[4] = p.producer ?? 0;
    return buf;
  }
  const o = makeObject(seq);
  o.p = p.producer ?? 0;
  return o;
}
const endMarker = (p, count) => (p.kind === 'bytes' ? endBytes(count) : { end: count });

// Byte messages as JSON-friendly text for BullMQ (its job data is JSON): latin1 keeps one char per byte.
const toText = (buf) => buf.toString('latin1');
const fromText = (s) => Buffer.from(s, 'latin1');
const encodeList = (p, v) => (p.kind === 'bytes' ? Buffer.from(v) : JSON.stringify(v));
const decodeList = (p, b) => (p.kind === 'bytes' ? b : JSON.parse(b.toString()));

/** Per-consumer checking and counting; `take(v)` returns true once this consumer should stop. */
function receiver(p, tWarm) {
  const producers = p.producers ?? 1;
  const last = new Float64Array(256).fill(-1);
  const win = new Window(tWarm);
  let received = 0;
  let ends = 0;
  let announced = 0;
  return {
    get ends() {
      return ends;
    },
    take(v) {
      let from;
      let seq;
      if (p.kind === 'bytes') {
        if (v.length === END_SIZE) {
          announced += endCount(v);
          return ++ends >= producers;
        }
        from = v[4];
        seq = seqOf(v);
        if (!checkBytes(v, seq, p.size)) throw new ContentError(`${p.transport} consumer`, seq, 'intact bytes');
      } else {
        if (v.end !== undefined) {
          announced += v.end;
          return ++ends >= producers;
        }
        from = v.p;
        seq = v.id;
        if (!checkObject(v, seq)) throw new ContentError(`${p.transport} consumer`, seq, 'an intact object');
      }
      if (producers === 1 ? seq !== last[from] + 1 : !(seq > last[from]))
        throw new ContentError(`${p.transport} consumer (producer ${from})`, seq, `> ${last[from]}`);
      last[from] = seq;
      if (++received % 64 === 0) win.tick(received);
      return false;
    },
    finish() {
      const r = win.finish(received, p.kind === 'bytes' ? p.size : 0);
      if (producers === 1 && announced !== received)
        throw new Error(`${p.transport} consumer: ${received} messages arrived, ${announced} were sent`);
      return r;
    },
  };
}

async function ioredis() {
  return (await import('ioredis')).Redis;
}

/** A BullMQ `Queue` of the case and `add(value)`: one job per message, removed once completed. */
async function bullProducer(p) {
  const { Queue: BullQueue } = await import('bullmq');
  const q = new BullQueue(p.name, { connection: { path: p.redis } });
  await q.waitUntilReady();
  const opts = { removeOnComplete: true, removeOnFail: true };
  return { q, add: (v) => q.add('m', p.kind === 'bytes' ? { b: toText(v) } : v, opts) };
}

/**
 * A BullMQ `Worker` of the case (default concurrency 1), ready but not running: `run()` starts it
 * and resolves once it has closed. `take(value)` gets each job's message and returns true to stop:
 * the worker then closes before that job completes, so that the completion fetches no next job.
 */
async function bullWorker(p, take) {
  const { Worker } = await import('bullmq');
  let stop;
  const stopped = new Promise((resolve) => (stop = resolve));
  let done = false;
  const worker = new Worker(
    p.name,
    async (job) => {
      if (done) throw new Error(`bullmq worker: job ${job.id} arrived after this worker stopped`);
      if (take(p.kind === 'bytes' ? fromText(job.data.b) : job.data)) {
        done = true;
        stop(worker.close());
      }
    },
    { connection: { path: p.redis, maxRetriesPerRequest: null }, autorun: false, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  return {
    run: async () => {
      void worker.run();
      await stopped;
    },
  };
}

export async function producer(p, ctl) {
  const batchSize = p.transport.endsWith('batch') || p.transport === 'lpush-pipe' ? p.batch : 1;
  const bufs = Array.from({ length: batchSize }, () => Buffer.alloc(p.size || 1, 0x5a));
  const next = (seq, k) => message(p, seq, bufs[k]);
  let put;
  let finish;
  switch (p.transport) {
    case 'redis':
    case 'redis-batch': {
      const q = await RedisQueue.open(p.name, { redis: p.redis });
      put = batchSize === 1 ? (vs) => q.put(vs[0]) : (vs) => q.putMany(vs);
      finish = () => q.close();
      break;
    }
    case 'shm':
    case 'shm-batch': {
      const q = Queue.open(p.name);
      put = batchSize === 1 ? (vs) => q.putSync(vs[0]) : (vs) => q.putManySync(vs);
      finish = () => q.close();
      break;
    }
    case 'lpush':
    case 'lpush-pipe': {
      const Redis = await ioredis();
      const r = new Redis(p.redis);
      let n = 0;
      put = async (vs) => {
        if (vs.length === 1) await r.lpush(p.name, encodeList(p, vs[0]));
        else {
          const pipe = r.pipeline();
          for (const v of vs) pipe.lpush(p.name, encodeList(p, v));
          await pipe.exec();
        }
        n += vs.length;
        if (n >= 1024) {
          n = 0;
          while ((await r.llen(p.name)) > HIGH_WATER) await sleep(1);
        }
      };
      finish = () => r.quit();
      break;
    }
    case 'bullmq': {
      const { q, add } = await bullProducer(p);
      let n = 0;
      put = async (vs) => {
        await add(vs[0]);
        if (++n >= 1024) {
          n = 0;
          while ((await q.getWaitingCount()) > HIGH_WATER) await sleep(1);
        }
      };
      finish = () => q.close();
      break;
    }
    default:
      throw new Error(`unknown transport ${p.transport}`);
  }
  const { tEnd } = await ctl.ready();
  let seq = 0;
  const values = new Array(batchSize);
  for (;;) {
    for (let k = 0; k < batchSize; k++) values[k] = next(seq++, k);
    await put(values);
    if (seq % 64 < batchSize && now() >= tEnd) break;
  }
  for (let c = 0; c < (p.consumers ?? 1); c++) await put([endMarker(p, seq)]);
  await finish();
  return { sent: seq };
}

export async function consumer(p, ctl) {
  const batchSize = p.transport.endsWith('batch') || p.transport === 'lpush-pipe' ? p.batch * 4 : 1;
  const producers = p.producers ?? 1;
  let rx;
  switch (p.transport) {
    case 'redis':
    case 'redis-batch': {
      const q = await RedisQueue.open(p.name, { redis: p.redis });
      const { tWarm } = await ctl.ready();
      rx = receiver(p, tWarm);
      if (batchSize === 1) while (!rx.take(await q.get()));
      else {
        let stop = false;
        while (!stop) for (const v of await q.getMany(batchSize)) if (rx.take(v)) stop = true;
        for (let e = rx.ends; e > producers; e--) await q.put(endMarker(p, 0));
      }
      await q.close();
      break;
    }
    case 'shm':
    case 'shm-batch': {
      const q = Queue.open(p.name);
      const { tWarm } = await ctl.ready();
      rx = receiver(p, tWarm);
      if (batchSize === 1) while (!rx.take(q.getSync()));
      else {
        let stop = false;
        while (!stop) for (const v of q.getManySync(batchSize)) if (rx.take(v)) stop = true;
        for (let e = rx.ends; e > producers; e--) q.putSync(endMarker(p, 0));
      }
      q.close();
      break;
    }
    case 'lpush':
    case 'lpush-pipe': {
      const Redis = await ioredis();
      const r = new Redis(p.redis);
      const { tWarm } = await ctl.ready();
      rx = receiver(p, tWarm);
      if (batchSize === 1) {
        while (!rx.take(decodeList(p, (await r.brpopBuffer(p.name, 0))[1])));
      } else {
        let stop = false;
        while (!stop) {
          const got = await r.rpopBuffer(p.name, batchSize);
          const list = got ?? [(await r.brpopBuffer(p.name, 0))[1]];
          for (const b of list) if (rx.take(decodeList(p, b))) stop = true;
        }
        for (let e = rx.ends; e > producers; e--) await r.rpush(p.name, encodeList(p, endMarker(p, 0)));
      }
      await r.quit();
      break;
    }
    case 'bullmq': {
      const worker = await bullWorker(p, (v) => rx.take(v));
      const { tWarm } = await ctl.ready();
      rx = receiver(p, tWarm);
      await worker.run();
      break;
    }
    default:
      throw new Error(`unknown transport ${p.transport}`);
  }
  return rx.finish();
}

// ---------------------------------------------------------------------------------------------
// One direction alone (bench/redis-bounds.mjs): how fast one loop of puts goes with nobody taking,
// and one loop of gets on a queue filled beforehand with nobody putting. Both stop at the run's end
// instant and count what they moved inside the measured window.

/** Puts one at a time until the run ends, into a queue nobody takes from (no maxsize). */
export async function putter(p, ctl) {
  const buf = Buffer.alloc(p.size || 1, 0x5a);
  let put;
  let finish;
  if (p.transport === 'redis') {
    const q = await RedisQueue.open(p.name, { redis: p.redis });
    put = (v) => q.put(v);
    finish = () => q.close();
  } else if (p.transport === 'bullmq') {
    const { q, add } = await bullProducer(p);
    put = add;
    finish = () => q.close();
  } else throw new Error(`putter: unknown transport ${p.transport}`);
  const { tWarm, tEnd } = await ctl.ready();
  const win = new Window(tWarm);
  let seq = 0;
  for (;;) {
    await put(message(p, seq, buf));
    if (++seq % 64 === 0) {
      win.tick(seq);
      if (now() >= tEnd) break;
    }
  }
  const r = win.finish(seq);
  await finish();
  // Nobody receives: what the harness checks against `sent` is what this process moved.
  return { ...r, sent: r.received };
}

/** Gets one at a time until the run ends, from a queue filled before the run (nobody puts). */
export async function taker(p, ctl) {
  let finish;
  let result;
  if (p.transport === 'redis') {
    const q = await RedisQueue.open(p.name, { redis: p.redis });
    const { tWarm, tEnd } = await ctl.ready();
    const win = new Window(tWarm);
    let n = 0;
    for (;;) {
      await q.get({ timeout: 10_000 });
      if (++n % 64 === 0) {
        win.tick(n);
        if (now() >= tEnd) break;
      }
    }
    result = win.finish(n);
    finish = () => q.close();
  } else if (p.transport === 'bullmq') {
    let n = 0;
    let win = null;
    let tEnd = Infinity;
    const worker = await bullWorker(p, () => {
      if (++n % 64 !== 0 || !win) return false;
      win.tick(n);
      if (now() < tEnd) return false;
      result = win.finish(n);
      return true;
    });
    const go = await ctl.ready();
    win = new Window(go.tWarm);
    tEnd = go.tEnd;
    finish = () => worker.run();
  } else throw new Error(`taker: unknown transport ${p.transport}`);
  await finish();
  if (result.measured === 0) throw new Error(`taker (${p.transport}): the queue ran dry before the measured window`);
  // Filled before the run, nobody sends: what the harness checks against `sent` is what this took.
  return { ...result, sent: result.received };
}
