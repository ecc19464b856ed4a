import { openSync, readFileSync, closeSync, writeFileSync, writeSync, utimesSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  Queue,
  JoinableQueue,
  inspectQueue,
  listQueues,
  MessageDecodeError,
  peekQueue,
  segmentPath,
  type Codec,
} from '../src/index.js';
import { uniqueName } from './helpers.js';

// Offsets in the segment header (native/layout.h `Header`, pinned by static_asserts), for tests that scribble on it.
const OFFSET_CAPACITY = 24;
const OFFSET_ATTACHED = 464;
const SLOT_SIZE = 16; // { i32 pid, u32 handles, u64 start_time }

function startTime(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return BigInt(fields[22 - 3] as string); // fields[0] is field 3
}

function writeAt(name: string, offset: number, bytes: Buffer): void {
  const fd = openSync(segmentPath(name), 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

function slot(pid: number, handles: number, start: bigint): Buffer {
  const b = Buffer.alloc(SLOT_SIZE);
  b.writeInt32LE(pid, 0);
  b.writeUInt32LE(handles, 4);
  b.writeBigUInt64LE(start, 8);
  return b;
}

const upper: Codec<string> = {
  name: 'upper',
  encode: (s) => Buffer.from(s.toUpperCase()),
  decode: (b) => Buffer.from(b).toString().toLowerCase(),
};

describe('inspectQueue', () => {
  it('reports stats and header facts without attaching or changing anything', () => {
    const name = uniqueName('insp');
    using q = JoinableQueue.create(name, { maxsize: 4, capacity: 4096, codec: 'json' });
    q.putSync({ a: 1 });
    const before = q.stats();
    const s = inspectQueue(name);
    expect(s).toMatchObject({
      name,
      path: `/dev/shm/shm-queue.${name}`,
      joinable: true,
      idleSince: null,
      messages: 1,
      maxsize: 4,
      capacity: 4096,
      codec: 'json',
      layoutVersion: 2,
      creatorPid: process.pid,
      fileMode: 0o600,
      unfinishedTasks: 1,
      attached: [{ pid: process.pid, handles: 1 }],
    });
    expect(s.lastAttachAt).toBe(before.lastAttachAt);
    expect(q.stats().lastAttachAt).toBe(before.lastAttachAt);
    expect(q.stats().lastDetachAt).toBe(before.lastDetachAt);
  });

  it('gives idleSince once nobody has the queue open', () => {
    const name = uniqueName('idle');
    const q = Queue.create(name);
    q.close();
    const s = inspectQueue(name);
    expect(s.attached).toEqual([]);
    expect(s.lastDetachAt).toBeGreaterThanOrEqual(s.createdAt);
    expect(s.idleSince).toBe(Math.max(s.createdAt, s.lastAttachAt, s.lastDetachAt));
  });

  it('throws typed errors: not found, invalid name, foreign, corrupt, unfinished', () => {
    expect(() => inspectQueue(uniqueName('none'))).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_NOT_FOUND', name: 'QueueNotFoundError' }),
    );
    expect(() => inspectQueue('no/slash')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));

    const foreign = uniqueName('foreign');
    writeFileSync(segmentPath(foreign), 'definitely not a queue, just text');
    expect(() => inspectQueue(foreign)).toThrow(
      expect.objectContaining({
        code: 'ERR_QUEUE_INCOMPATIBLE',
        message: expect.stringMatching(/not a shm-queue segment/),
      }),
    );

    const corrupt = uniqueName('corrupt');
    Queue.create(corrupt, { capacity: 4096 }).close();
    const bad = Buffer.alloc(8);
    bad.writeBigUInt64LE(13n);
    writeAt(corrupt, OFFSET_CAPACITY, bad);
    expect(() => inspectQueue(corrupt)).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_CORRUPT', name: 'QueueCorruptError' }),
    );

    const unfinished = uniqueName('unfinished');
    writeFileSync(segmentPath(unfinished), Buffer.alloc(4096));
    const past = new Date(Date.now() - 60_000);
    utimesSync(segmentPath(unfinished), past, past);
    const t0 = Date.now();
    expect(() => inspectQueue(unfinished)).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_INCOMPATIBLE', message: expect.stringMatching(/never finished/) }),
    );
    expect(Date.now() - t0).toBeLessThan(1000); // no 2 s wait for a creator that is long gone
  });

  it('lists only live processes: a slot whose start time does not match (a recycled pid) is left out', () => {
    const name = uniqueName('slots');
    using q = Queue.create(name);
    // pid 1 is alive but never attached: a slot with its pid and a wrong start time is what a
    // dead process whose pid was reused looks like. With the right start time it counts as live.
    writeAt(name, OFFSET_ATTACHED + 10 * SLOT_SIZE, slot(1, 1, startTime(1) + 12345n));
    expect(inspectQueue(name).attached.map((a) => a.pid)).toEqual([process.pid]);
    writeAt(name, OFFSET_ATTACHED + 11 * SLOT_SIZE, slot(1, 2, startTime(1)));
    expect(inspectQueue(name).attached).toEqual([
      { pid: process.pid, handles: 1 },
      { pid: 1, handles: 2 },
    ]);
    // An attached handle's stats() prunes the stale slot for good; the read-only inspect does not write.
    expect(q.stats().attached.map((a) => a.pid)).toEqual([process.pid, 1]);
    const table = readFileSync(segmentPath(name)).subarray(
      OFFSET_ATTACHED + 10 * SLOT_SIZE,
      OFFSET_ATTACHED + 11 * SLOT_SIZE,
    );
    expect(table.readInt32LE(0)).toBe(0);
  });
});

describe('listQueues', () => {
  it('lists readable queues with stats and unreadable entries with a reason, filtered by name', () => {
    const good = uniqueName('ls-good');
    const junk = uniqueName('ls-junk');
    using q = Queue.create(good);
    q.putSync('x');
    writeFileSync(segmentPath(junk), Buffer.from('JUNKJUNK'.repeat(40)));
    const mine = new Set([good, junk]);
    const entries = listQueues({ filter: (n) => mine.has(n) });
    expect(entries.map((e) => e.name)).toEqual([good, junk].sort());
    const g = entries.find((e) => e.name === good);
    const j = entries.find((e) => e.name === junk);
    expect(g).toMatchObject({ ok: true, stats: { messages: 1, attached: [{ pid: process.pid }] } });
    expect(j).toMatchObject({ ok: false, reason: 'not-a-queue', path: segmentPath(junk) });
    expect(() => listQueues({ filter: 'x' as unknown as () => boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});

describe('peekQueue', () => {
  it('returns decoded copies of the next messages and removes nothing', () => {
    const name = uniqueName('peek');
    using q = Queue.create(name);
    const at = new Date(1_700_000_000_000);
    q.putManySync([{ n: 1, at }, { n: 2, big: 10n ** 30n }, { n: 3 }]);
    const r = peekQueue(name, { max: 2 });
    expect(r).toMatchObject({ name, codec: 'msgpack', total: 3 });
    expect(r.messages.map((m) => m.value)).toEqual([
      { n: 1, at },
      { n: 2, big: 10n ** 30n },
    ]);
    expect(r.messages.every((m) => m.decoded && m.size === m.bytes.length)).toBe(true);
    expect(q.qsize()).toBe(3);
    expect(q.getSync()).toEqual({ n: 1, at });
    expect(peekQueue(name).messages.map((m) => (m.value as { n: number }).n)).toEqual([2, 3]);
  });

  it('leaves custom-codec messages as bytes unless given the codec, and checks its name', () => {
    const name = uniqueName('peek-custom');
    using q = Queue.create(name, { codec: upper });
    q.putSync('hello');
    const raw = peekQueue(name);
    expect(raw.codec).toBe('upper');
    expect(raw.messages[0]).toMatchObject({ decoded: false, size: 5 });
    expect(raw.messages[0]?.bytes.toString()).toBe('HELLO');
    expect(peekQueue(name, { codec: upper }).messages[0]?.value).toBe('hello');
    expect(() => peekQueue(name, { codec: 'json' })).toThrow(expect.objectContaining({ code: 'ERR_CODEC_MISMATCH' }));
    expect(() => peekQueue(name, { max: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('reports a message the codec cannot decode as a MessageDecodeError and leaves it queued', () => {
    const name = uniqueName('peek-undecodable');
    const picky: Codec<string> = {
      name: 'picky',
      encode: (s) => Buffer.from(s),
      decode: (b) => {
        const s = Buffer.from(b).toString();
        if (s === 'bad') throw new SyntaxError('picky refuses bad');
        return s;
      },
    };
    using q = Queue.create(name, { codec: picky });
    q.putManySync(['good', 'bad']);
    const [good, bad] = peekQueue(name, { codec: picky }).messages;
    expect(good).toMatchObject({ decoded: true, value: 'good' });
    expect(bad?.decoded).toBe(false);
    expect(bad?.error).toBeInstanceOf(MessageDecodeError);
    expect(bad?.error).toMatchObject({ code: 'ERR_MESSAGE_DECODE', codec: 'picky', bytes: Buffer.from('bad') });
    expect(bad?.error?.cause).toBeInstanceOf(SyntaxError);
    expect(bad?.error?.message).toContain('still in the queue');
    expect(q.qsize()).toBe(2);
  });

  it('grows its buffer for messages larger than the default read buffer', () => {
    const name = uniqueName('peek-big');
    using q = Queue.create(name, { codec: 'raw', capacity: 2 << 20 });
    const parts = [0xa1, 0xb2, 0xc3].map((b) => Buffer.alloc(300_000, b));
    q.putManySync(parts);
    const r = peekQueue(name, { max: 5 });
    expect(r.messages.map((m, i) => m.bytes.equals(parts[i] as Buffer))).toEqual([true, true, true]);
    expect(q.qsize()).toBe(3);
  });

  it('reports an empty queue and a missing one', () => {
    const name = uniqueName('peek-empty');
    using _q = Queue.create(name);
    expect(peekQueue(name)).toMatchObject({ total: 0, messages: [] });
    expect(() => peekQueue(uniqueName('peek-none'))).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_NOT_FOUND' }));
  });
});
