// What is measured: the scenarios, their cases (shm-queue variants and the peers a Node user has
// today), and the targets. bench/README.md describes each one in words.
import { POOL_PEERS, POOL_SCENARIOS } from './pool/scenarios.mjs';

export const SIZE_SMALL = 64;
export const SIZE_LARGE = 1 << 20;
export const BATCH = 64;

/** Peers, by key: the label printed in tables and what they need. */
export const PEERS = {
  'fork-json': { label: "fork + process.send 'json'" },
  'fork-advanced': { label: "fork + process.send 'advanced'" },
  socket: { label: 'Unix socket, framed, batched writes' },
  worker: { label: 'worker_threads postMessage (threads)' },
  zeromq: { label: 'zeromq PUSH/PULL ipc://', needs: 'zeromq' },
  broker: { label: "fork 'json' through a broker process" },
  'socket-rt': { label: 'Unix socket' },
  'fork-rt': { label: "fork + process.send 'json'" },
  'worker-rt': { label: 'worker_threads postMessage (threads)' },
  futex: { label: 'C++ futex ping-pong (reference)', needs: 'g++' },
  'cxx-ring': { label: 'C++ v2 ring, 1 per lock (reference)', needs: 'g++' },
  'cxx-ring-batch': { label: `C++ v2 ring, ${BATCH} per lock (reference)`, needs: 'g++' },
  bullmq: { label: 'BullMQ Queue.add + Worker', needs: 'redis-server' },
  lpush: { label: 'LPUSH/BRPOP', needs: 'redis-server' },
  'lpush-pipe': { label: 'LPUSH pipelined / RPOP n', needs: 'redis-server' },
  ...POOL_PEERS,
};

const shmPair = (ctx, family, params, queue) => {
  const name = ctx.queue(queue);
  return [
    { family, role: 'producer', params: { name, ...params } },
    { family, role: 'consumer', params: { name, ...params } },
  ];
};

/** A pair of peer processes: a producer that connects, a consumer that listens at `path`. */
const peerPair = (family, path, params) => [
  { family, role: 'consumer', params: { path, ...params } },
  { family, role: 'producer', params: { paths: [path], path, ...params } },
];

const bytes = (size) => ({ kind: 'bytes', size });

/**
 * Each case: { id, label, shm (true for ours), peer (key of PEERS), procs(ctx) -> process list, or
 * exec(ctx, timing) for a non-Node reference }. `metric` of the scenario: 'msgs' | 'bytes' | 'latency'.
 */
export const SCENARIOS = [
  {
    id: 'S1',
    title: '64-byte messages, 1 producer -> 1 consumer',
    metric: 'msgs',
    cases: [
      {
        id: 'shm-sync',
        shm: true,
        label: 'shm-queue putSync/getSync (one at a time)',
        procs: (ctx) => shmPair(ctx, 'shm', { ...bytes(SIZE_SMALL), mode: 'sync' }, { codec: 'raw' }),
      },
      {
        id: 'shm-async',
        shm: true,
        label: 'shm-queue await put/get (one at a time)',
        procs: (ctx) => shmPair(ctx, 'shm', { ...bytes(SIZE_SMALL), mode: 'async' }, { codec: 'raw' }),
      },
      {
        id: 'shm-batch',
        shm: true,
        label: `shm-queue putManySync/getManySync (${BATCH} per batch)`,
        procs: (ctx) => shmPair(ctx, 'shm', { ...bytes(SIZE_SMALL), mode: 'batch', batch: BATCH }, { codec: 'raw' }),
      },
      {
        id: 'fork-json',
        peer: 'fork-json',
        label: "fork + process.send 'json' (64-char strings)",
        procs: () => [
          { family: 'fork', role: 'producer', params: { kind: 'string', size: SIZE_SMALL, serialization: 'json' } },
        ],
      },
      {
        id: 'fork-advanced',
        peer: 'fork-advanced',
        label: "fork + process.send 'advanced' (Buffers)",
        procs: () => [
          { family: 'fork', role: 'producer', params: { ...bytes(SIZE_SMALL), serialization: 'advanced' } },
        ],
      },
      {
        id: 'socket',
        peer: 'socket',
        label: `Unix socket, ${BATCH} frames per write`,
        procs: (ctx) => peerPair('socket', ctx.path('s1.sock'), { ...bytes(SIZE_SMALL), batch: BATCH }),
      },
      {
        id: 'worker',
        peer: 'worker',
        label: 'worker_threads postMessage (Uint8Array)',
        procs: () => [{ family: 'worker', role: 'producer', params: bytes(SIZE_SMALL) }],
      },
      {
        id: 'zeromq',
        peer: 'zeromq',
        label: 'zeromq PUSH/PULL ipc://',
        procs: (ctx) => peerPair('zmq', ctx.path('s1.zmq'), bytes(SIZE_SMALL)),
      },
      {
        id: 'cxx-ring',
        peer: 'cxx-ring',
        label: 'C++ reference of the v2 ring, one message per lock (two processes)',
        exec: 'ring',
        execArgs: ['1'],
      },
      {
        id: 'cxx-ring-batch',
        peer: 'cxx-ring-batch',
        label: `C++ reference of the v2 ring, ${BATCH} per lock (two processes)`,
        exec: 'ring',
        execArgs: [String(BATCH)],
      },
    ],
    targets: [
      { shm: 'shm-sync', peer: 'fork-json', min: 5, text: "one at a time >= 5x fork 'json'" },
      { shm: 'shm-batch', peer: 'socket', min: 1, text: 'batch >= 1x the batched Unix socket' },
      { shm: 'shm-sync', peer: 'cxx-ring', min: 0.5, text: 'one at a time >= 0.5x the C++ reference, one per lock' },
      { shm: 'shm-batch', peer: 'cxx-ring-batch', min: 0.3, text: 'batch >= 0.3x the C++ reference, 64 per lock' },
    ],
  },
  {
    id: 'S2',
    title: "small objects { id, name: 'item-' + i, tags: ['a', 'b'], value: i * 1.5 }",
    metric: 'msgs',
    cases: [
      {
        id: 'shm-msgpack',
        shm: true,
        label: "shm-queue putSync/getSync, 'msgpack' (default)",
        procs: (ctx) => shmPair(ctx, 'shm', { kind: 'object', mode: 'sync' }, { codec: 'msgpack' }),
      },
      {
        id: 'shm-v8',
        shm: true,
        label: "shm-queue putSync/getSync, 'v8'",
        procs: (ctx) => shmPair(ctx, 'shm', { kind: 'object', mode: 'sync' }, { codec: 'v8' }),
      },
      {
        id: 'shm-json',
        shm: true,
        label: "shm-queue putSync/getSync, 'json'",
        procs: (ctx) => shmPair(ctx, 'shm', { kind: 'object', mode: 'sync' }, { codec: 'json' }),
      },
      {
        id: 'shm-msgpack-batch',
        shm: true,
        label: `shm-queue putManySync/getManySync, 'msgpack' (${BATCH}/batch)`,
        procs: (ctx) => shmPair(ctx, 'shm', { kind: 'object', mode: 'batch', batch: BATCH }, { codec: 'msgpack' }),
      },
      {
        id: 'fork-json',
        peer: 'fork-json',
        label: "fork + process.send 'json'",
        procs: () => [{ family: 'fork', role: 'producer', params: { kind: 'object', size: 0, serialization: 'json' } }],
      },
      {
        id: 'fork-advanced',
        peer: 'fork-advanced',
        label: "fork + process.send 'advanced'",
        procs: () => [
          { family: 'fork', role: 'producer', params: { kind: 'object', size: 0, serialization: 'advanced' } },
        ],
      },
      {
        id: 'socket',
        peer: 'socket',
        label: `Unix socket, JSON frames, ${BATCH} per write`,
        procs: (ctx) => peerPair('socket', ctx.path('s2.sock'), { kind: 'object', size: 0, batch: BATCH }),
      },
      {
        id: 'worker',
        peer: 'worker',
        label: 'worker_threads postMessage (structured clone)',
        procs: () => [{ family: 'worker', role: 'producer', params: { kind: 'object', size: 0 } }],
      },
      {
        id: 'zeromq',
        peer: 'zeromq',
        label: 'zeromq PUSH/PULL ipc://, JSON',
        procs: (ctx) => peerPair('zmq', ctx.path('s2.zmq'), { kind: 'object', size: 0 }),
      },
    ],
    targets: [
      { shm: 'shm-json', peer: 'fork-json', min: 2, text: "'json' >= 2x fork 'json'" },
      { shm: 'shm-msgpack', peer: 'fork-advanced', min: 2, text: "default codec >= 2x fork 'advanced'" },
    ],
  },
  {
    id: 'S3',
    title: '1 MiB messages, 1 producer -> 1 consumer',
    metric: 'bytes',
    cases: [
      {
        id: 'shm-sync',
        shm: true,
        label: 'shm-queue putSync/getSync (raw, 8 MiB ring)',
        procs: (ctx) =>
          shmPair(ctx, 'shm', { ...bytes(SIZE_LARGE), mode: 'sync' }, { codec: 'raw', capacity: 8 << 20 }),
      },
      {
        id: 'shm-into',
        shm: true,
        label: 'shm-queue putSync/getSync({ into }) (raw, 8 MiB ring)',
        procs: (ctx) =>
          shmPair(ctx, 'shm', { ...bytes(SIZE_LARGE), mode: 'into' }, { codec: 'raw', capacity: 8 << 20 }),
      },
      {
        id: 'fork-advanced',
        peer: 'fork-advanced',
        label: "fork + process.send 'advanced' (Buffers)",
        procs: () => [
          { family: 'fork', role: 'producer', params: { ...bytes(SIZE_LARGE), serialization: 'advanced' } },
        ],
      },
      {
        id: 'socket',
        peer: 'socket',
        label: 'Unix socket, header + payload per writev',
        procs: (ctx) => peerPair('socket', ctx.path('s3.sock'), { ...bytes(SIZE_LARGE), batch: 1 }),
      },
      {
        id: 'worker',
        peer: 'worker',
        label: 'worker_threads postMessage (copy, not transfer)',
        procs: () => [{ family: 'worker', role: 'producer', params: bytes(SIZE_LARGE) }],
      },
      {
        id: 'zeromq',
        peer: 'zeromq',
        label: 'zeromq PUSH/PULL ipc://',
        procs: (ctx) => peerPair('zmq', ctx.path('s3.zmq'), bytes(SIZE_LARGE)),
      },
    ],
    targets: [
      { shm: 'shm-sync', peer: 'worker', min: 1.5, text: '>= 1.5x worker_threads' },
      { shm: 'shm-into', peer: 'worker', min: 1.5, text: 'getSync({ into }) >= 1.5x worker_threads' },
      { shm: 'shm-sync', peer: 'socket', min: 1.2, text: '>= 1.2x the Unix socket' },
    ],
  },
  {
    id: 'S4',
    title: '64-byte messages, 2 producers -> 2 consumers',
    metric: 'msgs',
    cases: [
      {
        id: 'shm-sync',
        shm: true,
        label: 'shm-queue putSync/getSync, one shared queue',
        procs: (ctx) => {
          const name = ctx.queue({ codec: 'raw' });
          const p = { name, ...bytes(SIZE_SMALL), mode: 'sync', producers: 2, consumers: 2 };
          return [0, 1].flatMap((i) => [
            { family: 'shm', role: 'producer', params: { ...p, producer: i } },
            { family: 'shm', role: 'consumer', params: p },
          ]);
        },
      },
      {
        id: 'shm-batch',
        shm: true,
        label: `shm-queue putManySync/getManySync (${BATCH}/batch)`,
        procs: (ctx) => {
          const name = ctx.queue({ codec: 'raw' });
          const p = { name, ...bytes(SIZE_SMALL), mode: 'batch', batch: BATCH, producers: 2, consumers: 2 };
          return [0, 1].flatMap((i) => [
            { family: 'shm', role: 'producer', params: { ...p, producer: i } },
            { family: 'shm', role: 'consumer', params: p },
          ]);
        },
      },
      {
        id: 'broker',
        peer: 'broker',
        label: "fork 'json' through a broker (parent relays)",
        procs: () => [{ family: 'fork', role: 'broker', params: { producers: 2, consumers: 2, size: SIZE_SMALL } }],
      },
      {
        id: 'zeromq',
        peer: 'zeromq',
        label: 'zeromq PUSH/PULL ipc://, each producer to both consumers',
        procs: (ctx) => {
          const paths = [ctx.path('s4a.zmq'), ctx.path('s4b.zmq')];
          return [
            ...paths.map((path) => ({
              family: 'zmq',
              role: 'consumer',
              params: { path, ...bytes(SIZE_SMALL), producers: 2 },
            })),
            ...[0, 1].map((i) => ({
              family: 'zmq',
              role: 'producer',
              params: { paths, ...bytes(SIZE_SMALL), producer: i },
            })),
          ];
        },
      },
    ],
    targets: [{ shm: 'shm-sync', peer: 'broker', min: 5, text: "one at a time >= 5x fork 'json' through a broker" }],
  },
  {
    id: 'S5',
    title: 'ping-pong round trip, 64 bytes',
    metric: 'latency',
    cases: [
      {
        id: 'shm-sync',
        shm: true,
        label: 'shm-queue putSync/getSync (two queues)',
        procs: (ctx) => {
          const p = {
            ping: ctx.queue({ codec: 'raw' }),
            pong: ctx.queue({ codec: 'raw' }),
            size: SIZE_SMALL,
            mode: 'sync',
          };
          return [
            { family: 'shm', role: 'pingServer', params: p },
            { family: 'shm', role: 'pingClient', params: p },
          ];
        },
      },
      {
        id: 'shm-async',
        shm: true,
        label: 'shm-queue await put/get (two queues)',
        procs: (ctx) => {
          const p = {
            ping: ctx.queue({ codec: 'raw' }),
            pong: ctx.queue({ codec: 'raw' }),
            size: SIZE_SMALL,
            mode: 'async',
          };
          return [
            { family: 'shm', role: 'pingServer', params: p },
            { family: 'shm', role: 'pingClient', params: p },
          ];
        },
      },
      { id: 'futex', peer: 'futex', label: 'C++ futex wait/wake, two processes', exec: 'futex' },
      {
        id: 'fork',
        peer: 'fork-rt',
        label: "fork + process.send 'json'",
        procs: () => [{ family: 'fork', role: 'pingClient', params: { size: SIZE_SMALL, serialization: 'json' } }],
      },
      {
        id: 'worker',
        peer: 'worker-rt',
        label: 'worker_threads postMessage (threads)',
        procs: () => [{ family: 'worker', role: 'pingClient', params: { size: SIZE_SMALL } }],
      },
      {
        id: 'socket',
        peer: 'socket-rt',
        label: 'Unix socket, one frame each way',
        procs: (ctx) => {
          const path = ctx.path('s5.sock');
          return [
            { family: 'socket', role: 'pingServer', params: { path, size: SIZE_SMALL } },
            { family: 'socket', role: 'pingClient', params: { path, size: SIZE_SMALL } },
          ];
        },
      },
    ],
    targets: [
      { shm: 'shm-sync', peer: 'futex', maxRatio: 1.5, text: 'sync p50 <= 1.5x the C++ futex ping-pong' },
      { shm: 'shm-async', peer: 'worker', maxRatio: 1, text: 'async p50 <= worker_threads' },
    ],
  },
  {
    id: 'S6',
    title: '64-byte messages, N producers -> N consumers on one queue (scaling)',
    metric: 'msgs',
    // The ratios of this scenario are ours against ours: every case against the 1x1 one.
    baseline: 'shm-1x1',
    cases: [1, 2, 4].map((n) => ({
      id: `shm-${n}x${n}`,
      shm: true,
      label: `shm-queue putSync/getSync, ${n} -> ${n} processes`,
      procs: (ctx) => {
        const name = ctx.queue({ codec: 'raw' });
        const p = { name, ...bytes(SIZE_SMALL), mode: 'sync', producers: n, consumers: n };
        return Array.from({ length: n }, (_, i) => [
          { family: 'shm', role: 'producer', params: { ...p, producer: i } },
          { family: 'shm', role: 'consumer', params: p },
        ]).flat();
      },
    })),
    targets: [
      { shm: 'shm-2x2', peer: 'shm-1x1', min: 0.8, text: '2x2 aggregate >= 0.8x the 1x1 figure' },
      {
        shm: 'shm-4x4',
        peer: 'shm-1x1',
        min: 0.5,
        text: '4x4 aggregate (oversubscribed on 2 cores) >= 0.5x the 1x1 figure',
      },
    ],
  },
  ...redisScenarios(),
  ...POOL_SCENARIOS,
];

/**
 * R1-R4: the Redis backend (`shm-queue/redis`) against BullMQ and plain list commands, all on the
 * bench's one local redis-server, with the shared-memory Queue beside them. The orchestrator
 * creates the queues (`ctx.redisQueue` / `ctx.queue`); the processes open them by name.
 */
function redisScenarios() {
  const shapes = [
    { id: 'R1', kind: 'bytes', n: 1, title: '64-byte messages, 1 producer -> 1 consumer, Redis' },
    { id: 'R2', kind: 'object', n: 1, title: 'small objects, 1 producer -> 1 consumer, Redis' },
    { id: 'R3', kind: 'bytes', n: 4, title: '64-byte messages, 4 producers -> 4 consumers, Redis' },
    { id: 'R4', kind: 'object', n: 4, title: 'small objects, 4 producers -> 4 consumers, Redis' },
  ];
  const transports = [
    { id: 'redis', shm: true, label: 'RedisQueue await put/get (one at a time)' },
    { id: 'redis-batch', shm: true, label: `RedisQueue putMany/getMany (${BATCH}/batch)` },
    { id: 'shm', shm: true, label: 'shared-memory Queue putSync/getSync (beside)' },
    { id: 'bullmq', peer: 'bullmq', label: 'BullMQ Queue.add + Worker (concurrency 1)' },
    { id: 'lpush', peer: 'lpush', label: 'ioredis LPUSH / BRPOP (one at a time)' },
    { id: 'lpush-pipe', peer: 'lpush-pipe', label: `ioredis ${BATCH} LPUSH pipelined / RPOP ${BATCH * 4}` },
  ];
  return shapes.map((shape) => ({
    id: shape.id,
    title: shape.title,
    metric: 'msgs',
    redis: true,
    // The first seconds are not the steady state: producers outrun consumers until the queue
    // (maxsize 10,000; BullMQ's and the lists' producers wait above 10,000 too) is full, and up to
    // nine processes share two cores while their JIT settles. Measured on 2026-12-01: with a 300 ms
    // warm-up, R3 gave us 6.4k and BullMQ 3.0k msgs/s; after 4 s, 23.3k and 10.4k.
    minWarmMs: 4000,
    cases: transports.map((t) => ({
      id: t.id,
      shm: t.shm,
      peer: t.peer,
      needs: 'redis-server',
      label: t.label,
      procs: async (ctx) => {
        const codec = shape.kind === 'bytes' ? 'raw' : 'msgpack';
        const name = t.id.startsWith('redis')
          ? await ctx.redisQueue({ codec, maxsize: 10_000 })
          : t.id === 'shm'
            ? ctx.queue({ codec, capacity: 4 << 20 })
            : ctx.name();
        const p = {
          transport: t.id,
          name,
          redis: ctx.redis,
          kind: shape.kind,
          size: shape.kind === 'bytes' ? SIZE_SMALL : 0,
          batch: BATCH,
          producers: shape.n,
          consumers: shape.n,
        };
        return Array.from({ length: shape.n }, (_, i) => [
          { family: 'redis', role: 'consumer', params: p },
          { family: 'redis', role: 'producer', params: { ...p, producer: i } },
        ]).flat();
      },
    })),
    targets: [
      { shm: 'redis', peer: 'bullmq', min: 3, text: 'one at a time >= 3x BullMQ jobs/s' },
      { shm: 'redis-batch', peer: 'lpush-pipe', min: 0.5, text: 'putMany/getMany within 2x of pipelined LPUSH/RPOP' },
    ],
  }));
}
