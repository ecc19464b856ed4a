// In-process micro-benchmarks with tinybench: what the codecs cost per value and what a put/get
// costs with nobody else touching the queue. They explain the cross-process figures (S1, S2).
import { Bench } from 'tinybench';
import { Queue } from '../../../dist/index.js';
import { makeObject } from '../common.mjs';

const INNER = 256; // operations per timed iteration: a single put/get is too short to time alone

/** params: { time (ms per task), warmup (ms), name (a queue name prefix) } */
export async function micro(p, ctl) {
  await ctl.ready();
  const bench = new Bench({ time: p.time, warmupTime: p.warmup, warmupIterations: 10, iterations: 10 });
  const obj = makeObject(12345);
  const queues = [];
  const tasks = [];
  const add = (id, label, perIteration, fn) => {
    tasks.push({ id, label, perIteration });
    bench.add(id, fn);
  };
  for (const codec of ['msgpack', 'v8', 'json']) {
    const q = Queue.create(`${p.name}-${codec}`, { codec });
    Queue.unlink(`${p.name}-${codec}`);
    queues.push(q);
    // The codec object is internal; time it through a queue handle in one process, and encode /
    // decode alone with the same library calls the codec makes.
    add(`put+get ${codec}`, `putSync + getSync of the S2 object, codec '${codec}'`, INNER, () => {
      for (let i = 0; i < INNER; i++) q.putSync(obj);
      for (let i = 0; i < INNER; i++) q.getSync();
    });
  }
  const raw = Queue.create(`${p.name}-raw`, { codec: 'raw' });
  Queue.unlink(`${p.name}-raw`);
  queues.push(raw);
  const msg = Buffer.alloc(64, 0x5a);
  add('putSync raw64', 'putSync + getSync of 64 bytes (raw)', INNER, () => {
    for (let i = 0; i < INNER; i++) raw.putSync(msg);
    for (let i = 0; i < INNER; i++) raw.getSync();
  });
  const batch = Array.from({ length: 64 }, () => msg);
  add('putMany raw64', 'putManySync + getManySync of 64 x 64 bytes', 64, () => {
    raw.putManySync(batch);
    raw.getManySync(64);
  });
  const v8 = await import('node:v8');
  const { Packr, Unpackr } = await import('msgpackr');
  const packr = new Packr({ structuredClone: true, moreTypes: true });
  const unpackr = new Unpackr({ structuredClone: true, moreTypes: true });
  const packed = packr.pack(obj);
  const ser = v8.serialize(obj);
  const json = JSON.stringify(obj);
  const jsonBytes = Buffer.from(json);
  add('msgpackr pack', 'msgpackr pack (structured clone)', INNER, () => {
    for (let i = 0; i < INNER; i++) packr.pack(obj);
  });
  add('msgpackr unpack', 'msgpackr unpack (structured clone)', INNER, () => {
    for (let i = 0; i < INNER; i++) unpackr.unpack(packed);
  });
  add('v8.serialize', 'v8.serialize', INNER, () => {
    for (let i = 0; i < INNER; i++) v8.serialize(obj);
  });
  add('v8.deserialize', 'v8.deserialize', INNER, () => {
    for (let i = 0; i < INNER; i++) v8.deserialize(ser);
  });
  add('JSON encode', 'JSON.stringify + Buffer.from', INNER, () => {
    for (let i = 0; i < INNER; i++) Buffer.from(JSON.stringify(obj));
  });
  add('JSON decode', 'toString + JSON.parse', INNER, () => {
    for (let i = 0; i < INNER; i++) JSON.parse(jsonBytes.toString());
  });
  await bench.run();
  const out = [];
  for (const t of tasks) {
    const r = bench.getTask(t.id)?.result;
    const period = r?.latency?.p50; // ms per timed iteration (median)
    out.push({
      id: t.id,
      label: t.label,
      opsPerSec: period ? (t.perIteration * 1000) / period : null,
      samples: r?.latency?.samplesCount ?? r?.latency?.samples?.length ?? null,
    });
  }
  for (const q of queues) q.close();
  return { tasks: out };
}
