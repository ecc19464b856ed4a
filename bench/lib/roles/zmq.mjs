// zeromq PUSH/PULL over ipc:// (npm 'zeromq' v6, a devDependency). Loaded lazily: the
// orchestrator skips this peer with the reason when the module cannot be loaded here.
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
  stamp,
} from '../common.mjs';

const zmq = await import('zeromq');

/** params: { paths: [ipc path per consumer], kind, size, producer } — explicit round robin over
 *  one PUSH socket per consumer, so that each consumer gets its own end marker. */
export async function producer(p, ctl) {
  const socks = [];
  for (const path of p.paths) {
    const s = new zmq.Push();
    s.connect(`ipc://${path}`);
    socks.push(s);
  }
  const go = await ctl.ready();
  const bytes = p.kind === 'bytes';
  const big = p.size > 4096;
  // zeromq sends buffers over 128 bytes zero-copy (it keeps a reference until sent): large
  // payloads get a fresh buffer each; small ones are copied at send() and can be reused.
  const reused = Buffer.alloc(p.size, 0x5a);
  if (p.size > 4) reused[4] = p.producer ?? 0;
  const every = big ? 1 : 64;
  let seq = 0;
  let rr = 0;
  for (;;) {
    for (let k = 0; k < every; k++) {
      let msg;
      if (bytes) {
        msg = big ? Buffer.allocUnsafe(p.size) : reused;
        if (big && p.size > 4) msg[4] = p.producer ?? 0;
        stamp(msg, seq++);
      } else {
        msg = JSON.stringify(makeObject(seq++));
      }
      await socks[rr].send(msg);
      if (++rr === socks.length) rr = 0;
    }
    if (now() >= go.tEnd) break;
  }
  for (const s of socks) await s.send(bytes ? endBytes(seq) : JSON.stringify({ end: seq }));
  // A resolved send() only means queued: the last messages may still be in the I/O thread, and
  // they are lost if this process ends now (linger does not cover process exit). So the sockets
  // stay open and a timer keeps the process alive; the orchestrator ends it once the consumers
  // reported (child.mjs gives up after 5 s).
  setTimeout(() => {
    for (const s of socks) s.close();
  }, 4000);
  return { sent: seq };
}

/** params: { path, kind, size, producers } */
export async function consumer(p, ctl) {
  const pull = new zmq.Pull();
  await pull.bind(`ipc://${p.path}`);
  const { tWarm } = await ctl.ready();
  const win = new Window(tWarm);
  const bytes = p.kind === 'bytes';
  const producers = p.producers ?? 1;
  const every = bytes && p.size > 4096 ? 1 : 64;
  const last = new Float64Array(256).fill(-1);
  let received = 0;
  let ends = 0;
  let announced = 0;
  for (;;) {
    const [msg] = await pull.receive();
    if (bytes) {
      if (msg.length === END_SIZE) {
        announced += endCount(msg);
        if (++ends === producers) break;
        continue;
      }
      if (producers === 1) {
        if (!checkBytes(msg, received, p.size)) throw new ContentError('zeromq consumer', seqOf(msg), received);
      } else {
        const from = msg[4];
        const s = seqOf(msg);
        if (!(s > last[from]) || !checkBytes(msg, s, p.size))
          throw new ContentError(`zeromq consumer (producer ${from})`, s, `> ${last[from]}`);
        last[from] = s;
      }
    } else {
      const o = JSON.parse(msg.toString('utf8'));
      if (o.end !== undefined) {
        announced += o.end;
        if (++ends === producers) break;
        continue;
      }
      if (!checkObject(o, received)) throw new ContentError('zeromq consumer', o.id, received);
    }
    if (++received % every === 0) win.tick(received);
  }
  const r = win.finish(received, bytes ? p.size : 0);
  pull.close();
  if (producers === 1 && announced !== received)
    throw new Error(`zeromq consumer: ${received} messages arrived, ${announced} were sent`);
  return r;
}
