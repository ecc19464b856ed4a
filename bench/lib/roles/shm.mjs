// shm-queue: producers, consumers and ping-pong ends. The orchestrator creates the queues; these
// processes only open them by name, as unrelated processes would.
import { Queue } from '../../../dist/index.js';
import {
  ContentError,
  END_SIZE,
  Samples,
  Window,
  checkBytes,
  checkObject,
  endBytes,
  endCount,
  makeObject,
  now,
  nowNs,
  seqOf,
  stamp,
} from '../common.mjs';

const stride = (size) => (size > 4096 ? 1 : 64);

/**
 * params: { name, kind: 'bytes'|'object', size, mode: 'sync'|'async'|'batch', batch, producer,
 * consumers } — `producer` (0-255) goes in byte 4 of byte messages; `consumers` end markers are
 * put at the end so that every consumer stops.
 */
export async function producer(p, ctl) {
  const q = Queue.open(p.name);
  const bytes = p.kind === 'bytes';
  const every = bytes ? stride(p.size) : 64;
  const batch = [];
  if (bytes) {
    const copies = p.mode === 'batch' ? p.batch : 1;
    for (let i = 0; i < copies; i++) {
      const b = Buffer.alloc(p.size, 0x5a);
      if (p.size > 4) b[4] = p.producer ?? 0;
      batch.push(b);
    }
  }
  const { tEnd } = await ctl.ready();
  let seq = 0;
  const one = batch[0];
  for (;;) {
    if (p.mode === 'batch') {
      const values = bytes ? batch : new Array(p.batch);
      for (let k = 0; k < p.batch; k++) {
        if (bytes) stamp(values[k], seq++);
        else values[k] = makeObject(seq++);
      }
      q.putManySync(values);
      if (now() >= tEnd) break;
      continue;
    }
    if (p.mode === 'async') {
      for (let k = 0; k < every; k++) {
        if (bytes) stamp(one, seq++);
        await q.put(bytes ? one : makeObject(seq++));
      }
    } else {
      for (let k = 0; k < every; k++) {
        if (bytes) {
          stamp(one, seq++);
          q.putSync(one);
        } else {
          q.putSync(makeObject(seq++));
        }
      }
    }
    if (now() >= tEnd) break;
  }
  for (let c = 0; c < (p.consumers ?? 1); c++) q.putSync(bytes ? endBytes(seq) : { end: seq });
  q.close();
  return { sent: seq };
}

/**
 * params: { name, kind, size, mode ('sync', 'async', 'batch' or 'into': getSync({ into }) into one
 * reused buffer), batch, producers } — stops after `producers` end markers. With
 * one producer every message must be the next number; with several, each producer's numbers must
 * rise (FIFO per producer) and the orchestrator checks the totals.
 */
export async function consumer(p, ctl) {
  const q = Queue.open(p.name);
  const bytes = p.kind === 'bytes';
  const producers = p.producers ?? 1;
  const every = bytes ? stride(p.size) : 64;
  const last = new Float64Array(256).fill(-1);
  const { tWarm } = await ctl.ready();
  const win = new Window(tWarm);
  let received = 0;
  let ends = 0;
  let announced = 0;
  const take = (v) => {
    if (bytes) {
      if (v.length === END_SIZE) {
        announced += endCount(v);
        return ++ends >= producers;
      }
      if (producers === 1) {
        if (!checkBytes(v, received, p.size)) throw new ContentError('shm consumer', seqOf(v), received);
      } else {
        const from = v[4];
        const s = seqOf(v);
        if (!(s > last[from]) || !checkBytes(v, s, p.size))
          throw new ContentError(`shm consumer (producer ${from})`, s, `> ${last[from]}`);
        last[from] = s;
      }
    } else {
      if (v.end !== undefined) {
        announced += v.end;
        return ++ends >= producers;
      }
      if (!checkObject(v, received)) throw new ContentError('shm consumer', v.id, received);
    }
    if (++received % every === 0) win.tick(received);
    return false;
  };
  if (p.mode === 'batch') {
    // A batch can hold more end markers than this consumer needs, and data behind them: take the
    // whole batch, then give the surplus markers back for the other consumers. (Every producer's
    // data comes before its markers, so no data can be left behind a marker given back.)
    let stop = false;
    while (!stop) {
      const values = q.getManySync(p.batch * 4);
      for (let i = 0; i < values.length; i++) if (take(values[i])) stop = true;
    }
    for (; ends > producers; ends--) q.putSync(bytes ? endBytes(0) : { end: 0 });
  } else if (p.mode === 'async') {
    while (!take(await q.get()));
  } else if (p.mode === 'into') {
    // getSync({ into }): every message lands in the same buffer, no fresh slab memory per get.
    const into = Buffer.allocUnsafe(Math.max(p.size, END_SIZE));
    while (!take(q.getSync({ into })));
  } else {
    while (!take(q.getSync()));
  }
  const r = win.finish(received, bytes ? p.size : 0);
  q.close();
  if (producers === 1 && announced !== received)
    throw new Error(`shm consumer: ${received} messages arrived, ${announced} were sent`);
  return r;
}

/** Ping-pong client: params { ping, pong, size, mode: 'sync'|'async' }. Records round trips. */
export async function pingClient(p, ctl) {
  const ping = Queue.open(p.ping);
  const pong = Queue.open(p.pong);
  const buf = Buffer.alloc(p.size, 0x5a);
  const { tWarm, tEnd } = await ctl.ready();
  const warmNs = tWarm * 1e6;
  const endNs = tEnd * 1e6;
  const samples = new Samples();
  for (let seq = 0; ; seq++) {
    stamp(buf, seq);
    const t = nowNs();
    let back;
    if (p.mode === 'async') {
      await ping.put(buf);
      back = await pong.get();
    } else {
      ping.putSync(buf);
      back = pong.getSync();
    }
    const t2 = nowNs();
    if (!checkBytes(back, seq, p.size)) throw new ContentError('shm ping client', seqOf(back), seq);
    if (t >= warmNs) samples.add(t2 - t);
    if (t2 >= endNs) break;
  }
  ping.putSync(endBytes(0));
  ping.close();
  pong.close();
  return samples.summary();
}

/** Ping-pong server: echoes every ping until the end marker. */
export async function pingServer(p, ctl) {
  const ping = Queue.open(p.ping);
  const pong = Queue.open(p.pong);
  await ctl.ready();
  for (;;) {
    const b = p.mode === 'async' ? await ping.get() : ping.getSync();
    if (b.length === END_SIZE) break;
    if (p.mode === 'async') await pong.put(b);
    else pong.putSync(b);
  }
  ping.close();
  pong.close();
  return {};
}
