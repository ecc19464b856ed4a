// Issue 11, items 5 and 6, proven the way they were broken: a message's bytes are scribbled on in
// shared memory by another process, so that the real 'msgpack' codec fails on them.
// - 6: the failure is a typed MessageDecodeError (ERR_MESSAGE_DECODE) with the codec's error as
//   `cause`, the codec's name and the message's bytes; a single get's message is in the error.
// - 5: what a failed batch decode took from the ring is counted by this handle (qsize, empty,
//   stats) and put back by close(), or close() throws MessagesUndeliveredError with the bytes.
import { describe, expect, it } from 'vitest';
import {
  JoinableQueue,
  MessageDecodeError,
  MessagesUndeliveredError,
  Queue,
  QueueFullError,
  resolveCodec,
  ShmQueueError,
} from '../src/index.js';
import { okJson, runNode, uniqueName } from './helpers.js';

const msgpack = resolveCodec('msgpack');

/** Another process puts `values` (strings) on queue `name`. */
async function produce(name: string, values: string[], joinable = false): Promise<void> {
  okJson(
    await runNode(
      `const q = (ARGS.joinable ? JoinableQueue : Queue).open(ARGS.name);
       for (const v of ARGS.values) q.putSync(v);
       q.close();
       console.log('{}');`,
      { name, values, joinable },
    ),
  );
}

/**
 * Another process overwrites, in the segment file, the msgpack header byte of the message whose
 * text is `marker` with 0xc1 (a byte msgpack never uses). Returns the message's bytes as they now are.
 */
async function scribble(name: string, marker: string): Promise<Buffer> {
  const r = okJson(
    await runNode(
      `const fs = await import('node:fs');
       const path = '/dev/shm/shm-queue.' + ARGS.name;
       const seg = fs.readFileSync(path);
       const at = seg.indexOf(Buffer.from(ARGS.marker));
       if (at < 1 || seg.indexOf(Buffer.from(ARGS.marker), at + 1) >= 0) throw new Error('marker not found once');
       const fd = fs.openSync(path, 'r+');
       fs.writeSync(fd, Buffer.from([0xc1]), 0, 1, at - 1);
       fs.closeSync(fd);
       console.log(JSON.stringify({ bytes: Buffer.concat([Buffer.from([0xc1]), Buffer.from(ARGS.marker)]).toString('base64') }));`,
      { name, marker },
    ),
  ) as { bytes: string };
  return Buffer.from(r.bytes, 'base64');
}

function expectDecodeError(error: unknown, bytes: Buffer): void {
  expect(error).toBeInstanceOf(MessageDecodeError);
  expect(error).toBeInstanceOf(ShmQueueError);
  const e = error as MessageDecodeError;
  expect(e.code).toBe('ERR_MESSAGE_DECODE');
  expect(e.codec).toBe('msgpack');
  expect(e.bytes.equals(bytes)).toBe(true);
  expect(e.cause).toBeInstanceOf(Error); // msgpackr's own error
  expect(e.cause).not.toBeInstanceOf(ShmQueueError);
  expect(e.message).toMatch(/could not be decoded by codec 'msgpack'/);
}

describe('item 6: a message the codec cannot decode', () => {
  it('getSync throws MessageDecodeError with the bytes, the codec error as cause; the queue goes on', async () => {
    const name = uniqueName('dec1');
    const q = Queue.create<string>(name, { capacity: 4096 });
    try {
      const marker = `MARKER-${name}`;
      await produce(name, ['before', marker, 'after']);
      const bytes = await scribble(name, marker);
      expect(q.getSync({ timeout: 1000 })).toBe('before');
      let thrown: unknown;
      try {
        q.getSync({ timeout: 1000 });
      } catch (error) {
        thrown = error;
      }
      expectDecodeError(thrown, bytes);
      expect(q.getSync({ timeout: 1000 })).toBe('after');
      expect(q.qsize()).toBe(0);
    } finally {
      q.close();
    }
  });

  it('get() rejects the same way, and so does a getMany whose first message is the bad one', async () => {
    const name = uniqueName('dec2');
    const q = Queue.create<string>(name, { capacity: 4096 });
    try {
      const m1 = `MARKER-1-${name}`;
      const m2 = `MARKER-2-${name}`;
      await produce(name, [m1, m2, 'ok']);
      const b1 = await scribble(name, m1);
      const b2 = await scribble(name, m2);
      await expect(q.get()).rejects.toSatisfy((e) => {
        expectDecodeError(e, b1);
        return true;
      });
      await expect(q.getMany(10)).rejects.toSatisfy((e) => {
        expectDecodeError(e, b2);
        return true;
      });
      expect(await q.getMany(10)).toEqual(['ok']);
    } finally {
      q.close();
    }
  });
});

describe('item 5: messages of a failed batch decode held by the handle', () => {
  it('count in qsize/empty/stats, and close() puts them back for another process', async () => {
    const name = uniqueName('held');
    const q = Queue.create<string>(name, { capacity: 4096 });
    const marker = `MARKER-${name}`;
    await produce(name, ['m0', 'm1', marker, 'm3', 'm4', 'm5']);
    const bytes = await scribble(name, marker);
    expect(q.getManySync(6, { timeout: 1000 })).toEqual(['m0', 'm1']);
    // The ring is empty, this handle holds the other 4.
    expect(q.qsize()).toBe(4);
    expect(q.empty()).toBe(false);
    expect(q.stats().messages).toBe(4);
    q.close(); // puts the 4 back
    const r = okJson(
      await runNode(
        `const q = Queue.open(ARGS.name);
         const out = { qsize: q.qsize(), got: [] };
         for (let i = 0; i < 4; i++) {
           try { out.got.push(q.getSync({ timeout: 1000 })); }
           catch (e) { out.got.push({ code: e.code, codec: e.codec, bytes: e.bytes.toString('base64') }); }
         }
         out.after = q.qsize();
         q.close();
         console.log(JSON.stringify(out));`,
        { name },
      ),
    );
    expect(r).toEqual({
      qsize: 4,
      got: [{ code: 'ERR_MESSAGE_DECODE', codec: 'msgpack', bytes: bytes.toString('base64') }, 'm3', 'm4', 'm5'],
      after: 0,
    });
  });

  it('JoinableQueue: putting back does not count a task twice; join() completes once all are done', async () => {
    const name = uniqueName('heldj');
    const q = JoinableQueue.create<string>(name, { capacity: 4096 });
    const marker = `MARKER-${name}`;
    await produce(name, ['m0', marker, 'm2'], true);
    await scribble(name, marker);
    expect(q.getManySync(3, { timeout: 1000 })).toEqual(['m0']);
    q.taskDone();
    expect(q.unfinishedTasks()).toBe(2);
    q.close();
    const r = okJson(
      await runNode(
        `const q = JoinableQueue.open(ARGS.name);
         const before = q.unfinishedTasks();
         try { q.getSync({ timeout: 1000 }); } catch (e) { if (e.code !== 'ERR_MESSAGE_DECODE') throw e; }
         q.taskDone();
         const last = q.getSync({ timeout: 1000 });
         q.taskDone();
         const joined = q.joinSync({ timeout: 1000 });
         q.close();
         console.log(JSON.stringify({ before, last, joined }));`,
        { name },
      ),
    );
    expect(r).toEqual({ before: 2, last: 'm2', joined: true });
  });

  it('close() on a full queue puts back what fits and throws MessagesUndeliveredError with the rest', async () => {
    const name = uniqueName('undeliv');
    const q = Queue.create<string>(name, { capacity: 4096, maxsize: 4 });
    const marker = `MARKER-${name}`;
    await produce(name, ['m0', marker, 'm2', 'm3']);
    await scribble(name, marker);
    expect(q.getManySync(4, { timeout: 1000 })).toEqual(['m0']);
    expect(q.qsize()).toBe(3);
    await produce(name, ['x0', 'x1']); // another process leaves room for 2 of the 3 held
    let thrown: unknown;
    try {
      q.close();
    } catch (error) {
      thrown = error;
    }
    expect(q.closed).toBe(true);
    expect(thrown).toBeInstanceOf(MessagesUndeliveredError);
    const e = thrown as MessagesUndeliveredError;
    expect(e.code).toBe('ERR_MESSAGES_UNDELIVERED');
    expect(e.putBack).toBe(2);
    expect(e.messages.map((b) => msgpack.decode(b))).toEqual(['m3']);
    expect(e.cause).toBeInstanceOf(QueueFullError);
    const r = okJson(
      await runNode(
        `const q = Queue.open(ARGS.name);
         const got = [];
         while (q.qsize() > 0) { try { got.push(q.getNowait()); } catch (e) { got.push(e.code); } }
         q.close();
         console.log(JSON.stringify(got));`,
        { name },
      ),
    );
    expect(r).toEqual(['x0', 'x1', 'ERR_MESSAGE_DECODE', 'm2']);
  });
});
