// A Unix domain socket with length-prefixed frames: the best a Node user can hand-roll between
// processes. Written the careful way: the producer packs a batch of frames into ONE buffer and
// makes ONE write() per batch (large payloads go out as header + payload under cork(), so the
// payload is never copied in JS), it honours backpressure ('drain'), and the consumer parses
// frames straight out of the received chunks without copying, copying only a frame split across
// chunks.
import net from 'node:net';
import { once } from 'node:events';
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
  sleep,
  stamp,
  stampAt,
} from '../common.mjs';

const HEADER = 4;

/**
 * Incremental parser of [u32 LE length][payload] frames. `onFrame(view)` gets a view that is only
 * valid during the call (like a received chunk); return true from it to stop parsing.
 */
export class FrameReader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.head = Buffer.alloc(HEADER); // a header split across chunks
    this.headFill = 0;
    this.body = null; // a payload split across chunks
    this.bodyFill = 0;
  }

  push(chunk) {
    let off = 0;
    const end = chunk.length;
    if (this.headFill > 0) {
      const n = Math.min(HEADER - this.headFill, end);
      chunk.copy(this.head, this.headFill, 0, n);
      this.headFill += n;
      off = n;
      if (this.headFill < HEADER) return;
      this.headFill = 0;
      this.body = Buffer.allocUnsafe(this.head.readUInt32LE(0));
      this.bodyFill = 0;
    }
    if (this.body !== null) {
      const n = Math.min(this.body.length - this.bodyFill, end - off);
      chunk.copy(this.body, this.bodyFill, off, off + n);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill < this.body.length) return;
      const body = this.body;
      this.body = null;
      if (this.onFrame(body)) return;
    }
    while (end - off >= HEADER) {
      const len = chunk.readUInt32LE(off);
      const start = off + HEADER;
      if (end - start < len) {
        this.body = Buffer.allocUnsafe(len);
        this.bodyFill = end - start;
        chunk.copy(this.body, 0, start, end);
        return;
      }
      off = start + len;
      if (this.onFrame(chunk.subarray(start, off))) return;
    }
    if (off < end) {
      chunk.copy(this.head, 0, off, end);
      this.headFill = end - off;
    }
  }
}

async function connect(path) {
  for (let i = 0; ; i++) {
    const s = net.connect(path);
    try {
      await once(s, 'connect');
      return s;
    } catch (error) {
      s.destroy();
      if (i > 500 || !['ENOENT', 'ECONNREFUSED'].includes(error.code)) throw error;
      await sleep(10);
    }
  }
}

function listen(path) {
  const server = net.createServer();
  server.listen(path);
  return once(server, 'listening').then(() => server);
}

/** A batch of frames in one buffer, grown when a batch of encoded objects does not fit. */
class BatchWriter {
  constructor(capacity) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.off = 0;
  }
  frameBytes(size) {
    // Returns the offset of a `size`-byte payload slot whose header is already written.
    this.reserve(HEADER + size);
    this.buf.writeUInt32LE(size, this.off);
    const at = this.off + HEADER;
    this.off = at + size;
    return at;
  }
  frameString(text) {
    this.reserve(HEADER + text.length * 3);
    const n = this.buf.write(text, this.off + HEADER, 'utf8');
    this.buf.writeUInt32LE(n, this.off);
    this.off += HEADER + n;
  }
  reserve(n) {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }
  /** Hands the filled part over (the socket owns it until written) and starts a fresh buffer. */
  take() {
    const out = this.buf.subarray(0, this.off);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.off = 0;
    return out;
  }
}

/** params: { path, kind: 'bytes'|'object', size, batch } */
export async function producer(p, ctl) {
  const sock = await connect(p.path);
  const go = await ctl.ready();
  let seq = 0;
  if (p.kind === 'bytes' && p.size > 4096) {
    // Large payloads: header + payload as two buffers in one writev (cork), no JS copy. A payload
    // buffer is reused only once its write completed, from a pool of four.
    const free = [0, 1, 2, 3].map(() => Buffer.alloc(p.size, 0x5a));
    let onFree = null;
    while (now() < go.tEnd) {
      while (free.length === 0) await new Promise((r) => (onFree = r));
      const payload = free.pop();
      stamp(payload, seq++);
      const header = Buffer.allocUnsafe(HEADER);
      header.writeUInt32LE(p.size, 0);
      sock.cork();
      sock.write(header);
      const ok = sock.write(payload, () => {
        free.push(payload);
        onFree?.();
      });
      sock.uncork();
      if (!ok) await once(sock, 'drain');
    }
  } else {
    const writer = new BatchWriter(p.batch * (HEADER + (p.kind === 'bytes' ? p.size : 96)));
    const template = Buffer.alloc(p.size, 0x5a);
    while (now() < go.tEnd) {
      for (let k = 0; k < p.batch; k++) {
        if (p.kind === 'bytes') {
          const at = writer.frameBytes(p.size);
          writer.buf.set(template, at);
          stampAt(writer.buf, at, p.size, seq++);
        } else {
          writer.frameString(JSON.stringify(makeObject(seq++)));
        }
      }
      if (!sock.write(writer.take())) await once(sock, 'drain');
    }
  }
  const end = p.kind === 'bytes' ? endBytes(seq) : Buffer.from(JSON.stringify({ end: seq }));
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32LE(end.length, 0);
  sock.end(Buffer.concat([header, end]));
  await once(sock, 'close');
  return { sent: seq };
}

export async function consumer(p, ctl) {
  const server = await listen(p.path);
  const accepted = once(server, 'connection');
  const { tWarm } = await ctl.ready();
  const [sock] = await accepted;
  const win = new Window(tWarm);
  const bytes = p.kind === 'bytes';
  const every = bytes && p.size > 4096 ? 1 : 64;
  let received = 0;
  let announced = -1;
  let failure = null;
  const reader = new FrameReader((frame) => {
    let end = -1;
    if (bytes) {
      if (frame.length === END_SIZE) end = endCount(frame);
      else if (!checkBytes(frame, received, p.size))
        failure = new ContentError('socket consumer', seqOf(frame), received);
    } else {
      const o = JSON.parse(frame.toString('utf8'));
      if (o.end !== undefined) end = o.end;
      else if (!checkObject(o, received)) failure = new ContentError('socket consumer', o.id, received);
    }
    if (end >= 0) {
      announced = end;
      return true;
    }
    if (failure) return true;
    if (++received % every === 0) win.tick(received);
    return false;
  });
  sock.on('data', (chunk) => reader.push(chunk));
  await once(sock, 'end');
  const r = win.finish(received, bytes ? p.size : 0);
  sock.destroy();
  server.close();
  if (failure) throw failure;
  if (announced !== received) throw new Error(`socket consumer: ${received} messages arrived, ${announced} were sent`);
  return r;
}

/** Ping-pong: params { path, size } — one frame each way per round trip. */
export async function pingClient(p, ctl) {
  const sock = await connect(p.path);
  const { tWarm, tEnd } = await ctl.ready();
  const samples = new Samples();
  let answer;
  const reader = new FrameReader((frame) => {
    answer(frame);
    return false;
  });
  sock.on('data', (chunk) => reader.push(chunk));
  for (let seq = 0; ; seq++) {
    const frame = Buffer.alloc(HEADER + p.size, 0x5a);
    frame.writeUInt32LE(p.size, 0);
    stamp(frame.subarray(HEADER), seq);
    const t = nowNs();
    const back = await new Promise((resolve) => {
      answer = (f) => resolve(checkBytes(f, seq, p.size));
      sock.write(frame);
    });
    const t2 = nowNs();
    if (!back) throw new ContentError('socket ping client', '?', seq);
    if (t >= tWarm * 1e6) samples.add(t2 - t);
    if (t2 >= tEnd * 1e6) break;
  }
  sock.end();
  await once(sock, 'close');
  return samples.summary();
}

export async function pingServer(p, ctl) {
  const server = await listen(p.path);
  const accepted = once(server, 'connection');
  await ctl.ready();
  const [sock] = await accepted;
  const reader = new FrameReader((frame) => {
    const out = Buffer.allocUnsafe(HEADER + frame.length);
    out.writeUInt32LE(frame.length, 0);
    frame.copy(out, HEADER);
    sock.write(out);
    return false;
  });
  sock.on('data', (chunk) => reader.push(chunk));
  await once(sock, 'end');
  sock.end();
  server.close();
  return {};
}
