// worker_threads postMessage: threads of one process, not separate processes. A reference point:
// what structured clone over a MessagePort costs without any process boundary.
import { Worker } from 'node:worker_threads';
import { Samples, checkBytes, makeObject, now, nowNs, seqOf, stamp, ContentError } from '../common.mjs';

const WORKER = new URL('./worker-thread.mjs', import.meta.url);
/** Flow control: the consumer acknowledges every ACK_EVERY messages; at most WINDOW unacknowledged. */
const ACK_EVERY = 1024;
const WINDOW = 8192;

function startWorker(workerData) {
  const w = new Worker(WORKER, { workerData });
  let ready;
  const readyP = new Promise((resolve, reject) => {
    ready = resolve;
    w.once('error', reject);
  });
  w.once('message', () => ready());
  return { w, ready: readyP };
}

/** params: { kind: 'bytes'|'object', size } — the consumer is a worker thread of this process. */
export async function producer(p, ctl) {
  const window = p.size > 4096 ? 8 : WINDOW;
  const { w, ready } = startWorker({ role: 'consumer', ...p, ackEvery: p.size > 4096 ? 2 : ACK_EVERY });
  await ready;
  const go = await ctl.ready();
  let acked = 0;
  let onAck = null;
  const done = new Promise((resolve, reject) => {
    w.on('message', (m) => {
      if (m.ack !== undefined) {
        acked = m.ack;
        if (onAck) onAck();
      } else if (m.result) resolve(m.result);
    });
    w.once('error', reject);
  });
  w.postMessage({ go: true, tWarm: go.tWarm });
  const buf = new Uint8Array(p.size).fill(0x5a);
  const bytes = p.kind === 'bytes';
  const every = p.size > 4096 ? 1 : 64;
  let seq = 0;
  for (;;) {
    for (let k = 0; k < every; k++) {
      if (bytes) {
        stamp(buf, seq++);
        w.postMessage(buf); // structured clone copies it: reusing the buffer is safe
      } else {
        w.postMessage(makeObject(seq++));
      }
    }
    while (seq - acked > window) await new Promise((r) => (onAck = r));
    onAck = null;
    if (now() >= go.tEnd) break;
  }
  w.postMessage({ end: seq });
  const result = await done;
  await w.terminate();
  return { ...result, sent: seq };
}

/** Ping-pong with a worker thread: params { size }. */
export async function pingClient(p, ctl) {
  const { w, ready } = startWorker({ role: 'echo' });
  await ready;
  const { tWarm, tEnd } = await ctl.ready();
  const samples = new Samples();
  const buf = new Uint8Array(p.size).fill(0x5a);
  let answer;
  w.on('message', (m) => answer(m));
  for (let seq = 0; ; seq++) {
    stamp(buf, seq);
    const t = nowNs();
    const back = await new Promise((resolve) => {
      answer = resolve;
      w.postMessage(buf);
    });
    const t2 = nowNs();
    if (!checkBytes(back, seq, p.size)) throw new ContentError('worker ping client', seqOf(back), seq);
    if (t >= tWarm * 1e6) samples.add(t2 - t);
    if (t2 >= tEnd * 1e6) break;
  }
  await w.terminate();
  return samples.summary();
}
