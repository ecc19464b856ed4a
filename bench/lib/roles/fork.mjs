// child_process.fork + process.send: what a Node user reaches for first. The benchmark process
// forks its peer itself (as an application would) and relays the control messages to it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ContentError,
  Samples,
  Window,
  checkBytes,
  checkObject,
  checkString,
  makeObject,
  makeString,
  now,
  nowNs,
  seqOf,
  stamp,
} from '../common.mjs';

const CHILD = fileURLToPath(new URL('../child.mjs', import.meta.url));

/** Forks `role` of this file; resolves once it reported ready. Its result arrives as `done`. */
function forkPeer(role, params, serialization) {
  const child = fork(CHILD, ['fork', role, JSON.stringify(params)], {
    serialization,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const peer = { child, ready: null, done: null, error: null };
  let ready;
  let done;
  const readyP = new Promise((resolve, reject) => (ready = { resolve, reject }));
  const doneP = new Promise((resolve, reject) => (done = { resolve, reject }));
  child.on('message', (m) => {
    if (m === null || typeof m !== 'object' || m.type === undefined) return;
    if (m.type === 'ready') ready.resolve();
    else if (m.type === 'result') done.resolve(m.result);
    else if (m.type === 'error') {
      peer.error = new Error(m.message);
      ready.reject(peer.error);
      done.reject(peer.error);
    }
  });
  child.on('exit', (code) => {
    const e = peer.error ?? new Error(`fork peer ${role} exited with code ${code}`);
    ready.reject(e);
    done.reject(e);
  });
  doneP.catch(() => {});
  peer.ready = readyP;
  peer.done = doneP;
  return peer;
}

/**
 * Sends with the flow control the docs recommend: `send()` returns false once the channel's backlog
 * is large; then wait until a recent message was written (a callback every 256 messages).
 */
function sender(target, peer) {
  let checkpoint = null;
  let n = 0;
  return (m) => {
    if (peer?.error) throw peer.error;
    let ok;
    if ((n++ & 255) === 0) {
      let resolve;
      checkpoint = new Promise((r) => (resolve = r));
      ok = target.send(m, resolve);
    } else {
      ok = target.send(m);
    }
    return ok ? null : checkpoint;
  };
}

function makeMessage(kind, seq, size, buf) {
  if (kind === 'string') return makeString(seq, size);
  if (kind === 'object') return makeObject(seq);
  stamp(buf, seq); // 'advanced' serializes at send(): reusing the buffer is safe
  return buf;
}

/** params: { kind: 'string'|'bytes'|'object', size, serialization } */
export async function producer(p, ctl) {
  const peer = forkPeer('consumer', p, p.serialization);
  await peer.ready;
  const go = await ctl.ready();
  peer.child.send({ type: 'go', tWarm: go.tWarm, tEnd: go.tEnd });
  const send = sender(peer.child, peer);
  const buf = Buffer.alloc(p.size, 0x5a);
  let seq = 0;
  for (;;) {
    for (let k = 0; k < 64; k++) {
      const wait = send(makeMessage(p.kind, seq++, p.size, buf));
      if (wait) await wait;
    }
    if (now() >= go.tEnd) break;
  }
  peer.child.send({ end: seq });
  const r = await peer.done;
  if (peer.child.connected) peer.child.disconnect();
  return { ...r, sent: seq };
}

function checker(kind, size) {
  if (kind === 'string') return (m, i) => checkString(m, i, size);
  if (kind === 'object') return (m, i) => checkObject(m, i);
  return (m, i) => checkBytes(m, i, size);
}

// IPC messages are emitted from process.nextTick, all of one read in a row, before the promise
// returned by ctl.ready() can resume its caller: so receivers listen before they report ready and
// read the start instants from ctl.go.

export function consumer(p, ctl) {
  const check = checker(p.kind, p.size);
  const every = p.size > 4096 ? 1 : 64;
  let win = null;
  let received = 0;
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (win === null) {
        if (ctl.go === null) return; // a control message
        win = new Window(ctl.go.tWarm);
        if (m === ctl.go) return;
      }
      if (m.end !== undefined) {
        process.off('message', onMessage);
        if (m.end !== received) reject(new Error(`fork consumer: ${received} messages arrived, ${m.end} were sent`));
        else resolve(win.finish(received, p.kind === 'bytes' ? p.size : 0));
        return;
      }
      if (!check(m, received)) {
        reject(
          new ContentError(
            'fork consumer',
            p.kind === 'string' ? m.slice(0, 10) : p.kind === 'object' ? m.id : seqOf(m),
            received,
          ),
        );
        return;
      }
      if (++received % every === 0) win.tick(received);
    };
    process.on('message', onMessage);
    ctl.ready();
  });
}

/** Ping-pong: params { size, serialization } — string pings over 'json', echoed by the child. */
export async function pingClient(p, ctl) {
  const peer = forkPeer('pingServer', p, p.serialization);
  await peer.ready;
  const { tWarm, tEnd } = await ctl.ready();
  peer.child.send({ type: 'go', tWarm, tEnd });
  const samples = new Samples();
  let answer;
  peer.child.on('message', (m) => answer?.(m));
  for (let seq = 0; ; seq++) {
    const msg = makeString(seq, p.size);
    const t = nowNs();
    const back = await new Promise((resolve) => {
      answer = resolve;
      peer.child.send(msg);
    });
    const t2 = nowNs();
    if (!checkString(back, seq, p.size)) throw new ContentError('fork ping client', String(back).slice(0, 10), seq);
    if (t >= tWarm * 1e6) samples.add(t2 - t);
    if (t2 >= tEnd * 1e6) break;
  }
  answer = null;
  peer.child.send({ end: 0 });
  await peer.done;
  if (peer.child.connected) peer.child.disconnect();
  return samples.summary();
}

export function pingServer(_p, ctl) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (typeof m === 'string') process.send(m);
      else if (m.end !== undefined) {
        process.off('message', onMessage);
        resolve({});
      }
    };
    process.on('message', onMessage);
    ctl.ready();
  });
}

// ---------------------------------------------------------------------------------------------
// S4 without shared memory: a parent process relays from its producer children to its consumer
// children (the usual "master with a work queue" design), everything over 'json' IPC.

/** params: { producers, consumers, size } */
export async function broker(p, ctl) {
  const producers = [];
  const consumers = [];
  for (let i = 0; i < p.producers; i++) producers.push(forkPeer('brokerProducer', { ...p, producer: i }, 'json'));
  for (let i = 0; i < p.consumers; i++) consumers.push(forkPeer('brokerConsumer', p, 'json'));
  await Promise.all([...producers, ...consumers].map((c) => c.ready));
  const go = await ctl.ready();
  let rr = 0;
  let ended = 0;
  let announced = 0;
  for (const prod of producers) {
    prod.child.on('message', (m) => {
      if (typeof m === 'string') {
        consumers[rr].child.send(m);
        rr = (rr + 1) % consumers.length;
      } else if (m.end !== undefined) {
        announced += m.end;
        if (++ended === producers.length) for (const c of consumers) c.child.send({ end: announced });
      }
    });
  }
  for (const c of [...producers, ...consumers]) c.child.send({ type: 'go', tWarm: go.tWarm, tEnd: go.tEnd });
  const cons = await Promise.all(consumers.map((c) => c.done));
  const prods = await Promise.all(producers.map((c) => c.done));
  for (const c of [...producers, ...consumers]) if (c.child.connected) c.child.disconnect();
  return { producers: prods, consumers: cons };
}

export async function brokerProducer(p, ctl) {
  const go = await ctl.ready();
  const send = sender(process);
  const id = String(p.producer);
  let seq = 0;
  for (;;) {
    for (let k = 0; k < 64; k++) {
      const wait = send(id + makeString(seq++, p.size - 1));
      if (wait) await wait;
    }
    if (now() >= go.tEnd) break;
  }
  process.send({ end: seq });
  return { sent: seq };
}

export function brokerConsumer(p, ctl) {
  const last = new Float64Array(256).fill(-1);
  let win = null;
  let received = 0;
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (win === null) {
        if (ctl.go === null) return;
        win = new Window(ctl.go.tWarm);
        if (m === ctl.go) return;
      }
      if (typeof m !== 'string') {
        if (m.end !== undefined) {
          process.off('message', onMessage);
          resolve({ ...win.finish(received), announced: m.end });
        }
        return;
      }
      const from = m.charCodeAt(0) - 48;
      const seq = Number(m.slice(1, 11));
      if (m.length !== p.size || !(seq > last[from])) {
        reject(new ContentError(`broker consumer (producer ${from})`, seq, `> ${last[from]}`));
        return;
      }
      last[from] = seq;
      if (++received % 64 === 0) win.tick(received);
    };
    process.on('message', onMessage);
    ctl.ready();
  });
}
