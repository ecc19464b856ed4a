/**
 * The messages between the pool and its workers: a small binary header (kind, flags, task id,
 * export name or run time) that either side reads without decoding the body, then the body
 * encoded with the package's 'msgpack' codec (structured-clone semantics). They travel in
 * pool-private queues with the 'raw' codec, so a task is encoded once, at the call, and its
 * bytes can be sent again for a retry.
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
import { type Codec, resolveCodec } from './deps.js';

/** Parent -> worker message kinds (byte 0 of a task frame). */
export const ToWorker = {
  /** The first message every worker gets: name = initializer ('' for none), body = initArgs. */
  Init: 1,
  /** Call `name(...body)`. */
  Call: 2,
  /** Call `name(item)` (or `name(...item)` with {@link F_STAR}) for each item of the body. */
  Chunk: 3,
} as const;

/** Worker -> parent message kinds (byte 0 of a result frame). */
export const FromWorker = {
  /** Start-up done, tasks welcome; body = `[pid, exportedFunctionNames]`. */
  Ready: 1,
  /** The task's value is the body. */
  Ok: 2,
  /** The task failed; body = a {@link WireError}. */
  Failed: 3,
  /** Start-up failed, the worker exits next; body = `[stage, wireError]`. */
  Fatal: 4,
} as const;

/** Flag: the body is `[value, refs]` (queues inside). */
export const F_REFS = 1;
/** Flag of a Chunk: each item is an array of arguments (starmap). */
export const F_STAR = 2;

// Frames: a small binary header the pool and the worker read without decoding the body, then the
// body encoded with the 'msgpack' codec.
//   task:   [u8 kind][u8 flags][f64 id][u16 name length][name, UTF-8][body]
//   result: [u8 kind][u8 flags][f64 id][u32 run time, µs][body]

const TASK_HEAD = 12;
const RESULT_HEAD = 14;
const nameBytes = new Map<string, Buffer>();

/** Encodes a task frame (a Buffer of its own). Throws what the codec throws for the body. */
export function taskFrame(kind: number, flags: number, id: number, name: string, body: unknown): Buffer {
  let nb = nameBytes.get(name);
  if (nb === undefined) {
    nb = Buffer.from(name, 'utf8');
    if (nameBytes.size < 4096) nameBytes.set(name, nb);
  }
  const encoded = wire.encode(body);
  const out = Buffer.allocUnsafe(TASK_HEAD + nb.length + encoded.length);
  out[0] = kind;
  out[1] = flags;
  out.writeDoubleLE(id, 2);
  out.writeUInt16LE(nb.length, 10);
  nb.copy(out, TASK_HEAD);
  out.set(encoded, TASK_HEAD + nb.length);
  return out;
}

/** The kind and id of a task frame, without decoding its body. */
export function taskHead(bytes: Buffer): { kind: number; id: number } {
  return { kind: bytes[0] as number, id: bytes.readDoubleLE(2) };
}

/** Decodes a task frame. */
export function readTaskFrame(bytes: Buffer): { kind: number; flags: number; id: number; name: string; body: unknown } {
  const n = bytes.readUInt16LE(10);
  return {
    kind: bytes[0] as number,
    flags: bytes[1] as number,
    id: bytes.readDoubleLE(2),
    name: bytes.toString('utf8', TASK_HEAD, TASK_HEAD + n),
    body: wire.decode(bytes.subarray(TASK_HEAD + n)),
  };
}

/** Encodes a result frame. Throws what the codec throws for the body. */
export function resultFrame(kind: number, flags: number, id: number, micros: number, body: unknown): Buffer {
  const encoded = wire.encode(body);
  const out = Buffer.allocUnsafe(RESULT_HEAD + encoded.length);
  out[0] = kind;
  out[1] = flags;
  out.writeDoubleLE(id, 2);
  out.writeUInt32LE(Math.min(0xffffffff, Math.max(0, Math.round(micros))), 10);
  out.set(encoded, RESULT_HEAD);
  return out;
}

/** Decodes a result frame. */
export function readResultFrame(bytes: Buffer): {
  kind: number;
  flags: number;
  id: number;
  micros: number;
  body: unknown;
} {
  return {
    kind: bytes[0] as number,
    flags: bytes[1] as number,
    id: bytes.readDoubleLE(2),
    micros: bytes.readUInt32LE(10),
    body: wire.decode(bytes.subarray(RESULT_HEAD)),
  };
}

/** The message codec (the package's default 'msgpack'). */
export const wire: Codec<unknown> = resolveCodec('msgpack');

/** Start-up stages a Fatal message names. */
export type StartupStage = 'queues' | 'module' | 'initializer';
