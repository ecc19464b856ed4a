/**
 * Looking at queues from the outside: list every queue on the machine, read one queue's header
 * and counters, and peek at its next messages. This is what the `shm-queue` command is built on,
 * exported for programs that want the same facts (a health check, a dashboard, a cleanup job).
 *
 * {@link listQueues} and {@link inspectQueue} open segments in the native *inspect* mode: mapped
 * read-only and not attached, so they change nothing in the queue (not even its last-attach
 * time) and need only read permission. {@link peekQueue} has to take the queue's lock, so it opens
 * the queue like any consumer does (read-write, attached for the duration of the call).
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { addon, OpenMode, type NativeHandle } from './binding.js';
import { resolveCodec, CODEC_NAMES, type Codec, type CodecName } from './codecs.js';
import {
  CodecMismatchError,
  QueueCorruptError,
  QueueIncompatibleError,
  QueueNotFoundError,
  invalidArgType,
} from './errors.js';
import type { QueueStats } from './queue.js';
import { NAME_PATTERN, validateInteger, validateName, validateOptions } from './validate.js';

/** Directory where glibc keeps POSIX shared-memory objects. */
export const SHM_DIR = '/dev/shm';
/** Every queue's segment is `/dev/shm/shm-queue.<name>`. */
export const SEGMENT_PREFIX = 'shm-queue.';

const QUEUE_FLAG_JOINABLE = 1;
// The few header fields read here before asking the native code (see native/ring.h `Header`):
// enough to classify a segment that the native open would refuse, and to skip the native open's
// wait for a creator that died half-way (it waits 2 s for the READY state word).
const MAGIC = 0x45554555514d4853n; // "SHMQUEUE", little-endian
const OFFSET_VERSION = 8;
const OFFSET_STATE = 88;
const HEADER_PREFIX = 92;
const STATE_READY = 0x52454459;
/** A segment not READY after this long was abandoned by its creator (the native open waits 2 s). */
const UNFINISHED_AFTER_MS = 2000;
const PEEK_SLAB_SIZE = 256 * 1024;
/** Largest read buffer {@link peekQueue} grows to for the sake of returning more messages. */
const PEEK_SLAB_LIMIT = 64 * 1024 * 1024;
const MAX_PEEK = 100_000;
const S = addon.status;

/** What {@link inspectQueue} reports: the queue's {@link QueueStats} plus a few derived facts. */
export interface QueueInspection extends QueueStats {
  /** Path of the segment file (`/dev/shm/shm-queue.<name>`). */
  path: string;
  /** `true` for a queue created by `JoinableQueue.create`. */
  joinable: boolean;
  /**
   * `null` while a live process has the queue open; otherwise the latest of `createdAt`,
   * `lastAttachAt` and `lastDetachAt` (ms since the epoch): since when nobody is known to have
   * used it. A process killed without closing its handle never records a detach, so after such a
   * death this is the time of the last attach or detach *before* it, which can be earlier than
   * the death itself.
   */
  idleSince: number | null;
}

/**
 * Why a `/dev/shm/shm-queue.*` entry could not be read:
 * - `'permission-denied'`: no read permission (another user's queue, created with mode 0o600);
 * - `'not-a-queue'`: not a shm-queue segment at all (bad magic number, not a regular file);
 * - `'incompatible'`: a shm-queue segment of another layout version (another shm-queue release);
 * - `'unfinished'`: its creator never finished creating it (it probably died while doing so);
 * - `'corrupt'`: the header holds impossible values;
 * - `'invalid-name'`: the part after `shm-queue.` is not a valid queue name;
 * - `'error'`: any other system error (see `message`).
 */
export type UnreadableReason =
  | 'permission-denied'
  | 'not-a-queue'
  | 'incompatible'
  | 'unfinished'
  | 'corrupt'
  | 'invalid-name'
  | 'error';

/** One entry of {@link listQueues}: a readable queue ... */
export interface ListedQueue {
  ok: true;
  /** Queue name (the segment file name without `shm-queue.`). */
  name: string;
  path: string;
  stats: QueueInspection;
}

/** ... or an entry that could not be read, with the reason. */
export interface UnreadableQueue {
  ok: false;
  name: string;
  path: string;
  reason: UnreadableReason;
  /** A sentence saying what is wrong and what to do about it. */
  message: string;
  /** The error code behind it (`EACCES`, `ERR_QUEUE_CORRUPT`, ...), when there is one. */
  code?: string;
}

/** An entry of {@link listQueues}. */
export type QueueListEntry = ListedQueue | UnreadableQueue;

/** Options of {@link listQueues}. */
export interface ListOptions {
  /** Lists only the entries whose name this returns `true` for; the others are not even opened. */
  filter?: (name: string) => boolean;
}

/** Options of {@link peekQueue}. */
export interface PeekOptions {
  /** How many messages to look at, from the head of the queue (default 10, at most 100,000). */
  max?: number;
  /**
   * Codec to decode with. Optional for a queue with a built-in codec (the stored one is used);
   * a custom codec must carry the queue's codec name (else `CodecMismatchError`). Without one,
   * messages of a custom-codec queue are returned as bytes only.
   */
  codec?: CodecName | Codec<unknown>;
}

/** One message seen by {@link peekQueue}. */
export interface PeekedMessage {
  /** Encoded size in bytes. */
  size: number;
  /** The encoded bytes (a private copy). */
  bytes: Buffer;
  /** Whether `value` holds the decoded message. */
  decoded: boolean;
  /** The decoded value, when `decoded`. */
  value?: unknown;
  /** Why decoding failed, when a codec was available but threw. */
  error?: Error;
}

/** What {@link peekQueue} returns. */
export interface PeekResult {
  name: string;
  /** The queue's codec name. */
  codec: string;
  /** Messages in the queue when it was peeked (may be more than `messages.length`). */
  total: number;
  /** The first messages, oldest first. Nothing was removed from the queue. */
  messages: PeekedMessage[];
}

/** Path of the segment of queue `name`. */
export function segmentPath(name: string): string {
  return `${SHM_DIR}/${SEGMENT_PREFIX}${name}`;
}

interface Classified {
  reason: UnreadableReason;
  message: string;
  code?: string;
}

/** Error thrown by {@link inspectQueue} and {@link peekQueue} for a segment they cannot use. */
function problemError(name: string, problem: Classified): Error {
  switch (problem.reason) {
    case 'corrupt':
      return new QueueCorruptError(problem.message);
    case 'not-a-queue':
    case 'incompatible':
    case 'unfinished':
      return new QueueIncompatibleError(problem.message);
    default: {
      const e = new Error(problem.message) as NodeJS.ErrnoException;
      e.code = problem.code ?? 'ERR_QUEUE_UNREADABLE';
      e.path = segmentPath(name);
      return e;
    }
  }
}

function classifySystemError(name: string, error: NodeJS.ErrnoException): Classified | 'missing' {
  if (error.code === 'ENOENT') return 'missing';
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return {
      reason: 'permission-denied',
      code: error.code,
      message: `${error.code}: permission denied reading queue '${name}' (${segmentPath(name)}); run as its owner (or root)`,
    };
  }
  if (error.code === 'ERR_QUEUE_CORRUPT') return { reason: 'corrupt', code: error.code, message: error.message };
  if (error.code === 'ERR_QUEUE_INCOMPATIBLE')
    return { reason: 'incompatible', code: error.code, message: error.message };
  return { reason: 'error', code: error.code, message: `queue '${name}': ${error.message}` };
}

/**
 * Reads the first bytes of the segment file and says what is wrong with it, if that much can be
 * told from them; `null` when it looks like a finished queue of this layout (the native open then
 * validates everything else).
 */
function precheck(name: string, nowMs: number): Classified | 'missing' | null {
  const path = segmentPath(name);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return classifySystemError(name, error as NodeJS.ErrnoException);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      return { reason: 'not-a-queue', message: `${path} is not a regular file, so not a shm-queue segment` };
    const head = Buffer.alloc(HEADER_PREFIX);
    const got = st.size > 0 ? readSync(fd, head, 0, HEADER_PREFIX, 0) : 0;
    const old = nowMs - st.mtimeMs > UNFINISHED_AFTER_MS;
    const unfinished: Classified = {
      reason: 'unfinished',
      code: 'ERR_QUEUE_INCOMPATIBLE',
      message: `queue '${name}' was never finished by its creator (it may have died while creating it); remove it with 'shm-queue rm --force ${name}' and create it again`,
    };
    // A creator writes the magic number before anything else, so a non-zero foreign one is final.
    const magic = got >= 8 ? head.readBigUInt64LE(0) : 0n;
    if (magic !== MAGIC && magic !== 0n) {
      return {
        reason: 'not-a-queue',
        code: 'ERR_QUEUE_INCOMPATIBLE',
        message: `${path} is not a shm-queue segment (bad magic number): something else wrote it; if nothing uses it, remove it with 'shm-queue rm --force ${name}'`,
      };
    }
    if (got < HEADER_PREFIX) return old ? unfinished : null;
    if (head.readUInt32LE(OFFSET_STATE) !== STATE_READY) return old ? unfinished : null;
    const version = head.readUInt32LE(OFFSET_VERSION);
    if (magic === MAGIC && version !== addon.layoutVersion) {
      return {
        reason: 'incompatible',
        code: 'ERR_QUEUE_INCOMPATIBLE',
        message: `queue '${name}' uses layout version ${version}, this shm-queue reads version ${addon.layoutVersion}; inspect it with the shm-queue release that created it`,
      };
    }
    return null;
  } catch (error) {
    return classifySystemError(name, error as NodeJS.ErrnoException);
  } finally {
    closeSync(fd);
  }
}

function snapshot(name: string, handle: NativeHandle): QueueInspection {
  const s = handle.stats();
  const info = handle.info();
  const idleSince = s.attached.length > 0 ? null : Math.max(s.createdAt, s.lastAttachAt, s.lastDetachAt);
  return { name, path: segmentPath(name), joinable: (info.flags & QUEUE_FLAG_JOINABLE) !== 0, idleSince, ...s };
}

/** Inspects without throwing: the stats, `'missing'`, or what is wrong. */
function tryInspect(name: string, nowMs: number): QueueInspection | Classified | 'missing' {
  const early = precheck(name, nowMs);
  if (early !== null) return early;
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(OpenMode.Inspect, name, 1 << 20, 0, 0, 'raw', 0);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // The native open says "bad magic" for a segment rewritten since the precheck read it.
    if (e.code === 'ERR_QUEUE_INCOMPATIBLE' && /bad magic/.test(e.message))
      return { reason: 'not-a-queue', code: e.code, message: e.message };
    if (e.code === 'ERR_QUEUE_INCOMPATIBLE' && /never finished/.test(e.message))
      return { reason: 'unfinished', code: e.code, message: e.message };
    return classifySystemError(name, e);
  }
  try {
    return snapshot(name, handle);
  } finally {
    handle.close();
  }
}

/**
 * Reads the header and counters of queue `name` without attaching to it and without write
 * access: nothing in the queue changes, and a queue of another user is readable when its mode
 * lets you read it.
 *
 * `attached` lists only live processes: each table slot holds a pid and that process's start
 * time, so a slot whose process died (or whose pid now belongs to another process) is left out.
 *
 * @throws TypeError `ERR_INVALID_ARG_VALUE` for an invalid name (before any system call).
 * @throws QueueNotFoundError when there is no such queue.
 * @throws QueueCorruptError when the header holds impossible values.
 * @throws QueueIncompatibleError for a segment that is not a shm-queue queue, has another layout
 *   version, or was never finished by its creator.
 * @throws Error with Node's `code` (`'EACCES'`, ...) for a system error.
 */
export function inspectQueue(name: string): QueueInspection {
  const valid = validateName(name);
  const r = tryInspect(valid, Date.now());
  if (r === 'missing') throw new QueueNotFoundError(`queue '${valid}' does not exist (no ${segmentPath(valid)})`);
  if ('reason' in r) throw problemError(valid, r);
  return r;
}

/**
 * Lists every `shm-queue.*` entry of `/dev/shm`, sorted by name. Readable queues come with their
 * {@link QueueInspection}; entries that cannot be read (another user's queue, a corrupt or foreign
 * file, another layout version, a creation that never finished) come with the reason, so one bad
 * entry never hides the others. Like {@link inspectQueue}, it changes nothing.
 *
 * @throws TypeError for a bad `options.filter`.
 * @throws Error with Node's `code` when `/dev/shm` itself cannot be read.
 */
export function listQueues(options?: ListOptions): QueueListEntry[] {
  const opts = validateOptions(options, 'options', ['filter']);
  const filter = opts['filter'];
  if (filter !== undefined && typeof filter !== 'function')
    throw invalidArgType('options.filter', 'of type function', filter);
  const keep = (filter as ((name: string) => boolean) | undefined) ?? (() => true);
  const now = Date.now();
  const entries = readdirSync(SHM_DIR).filter(
    (f) => f.startsWith(SEGMENT_PREFIX) && keep(f.slice(SEGMENT_PREFIX.length)),
  );
  entries.sort();
  const out: QueueListEntry[] = [];
  for (const file of entries) {
    const name = file.slice(SEGMENT_PREFIX.length);
    const path = `${SHM_DIR}/${file}`;
    if (!NAME_PATTERN.test(name) || name === '.' || name === '..') {
      out.push({
        ok: false,
        name,
        path,
        reason: 'invalid-name',
        message: `${path}: '${name}' is not a valid queue name, so no shm-queue created it`,
      });
      continue;
    }
    const r = tryInspect(name, now);
    if (r === 'missing') continue; // removed since readdir
    if ('reason' in r) out.push({ ok: false, name, path, ...r });
    else out.push({ ok: true, name, path, stats: r });
  }
  return out;
}

/**
 * Returns copies of the next `max` messages of queue `name` without removing them, decoded when
 * a codec is available (see {@link PeekOptions.codec}).
 *
 * Peeking takes the queue's lock for one short copy, so unlike {@link inspectQueue} it opens the
 * queue read-write and attaches for the duration of the call (it counts as an attach and a
 * detach in `lastAttachAt`/`lastDetachAt`). Messages put or taken by others meanwhile are not
 * seen; what is returned is a consistent run of messages at one instant.
 *
 * @throws the errors of {@link inspectQueue}; `CodecMismatchError` for a codec of another name;
 *   `RangeError` `ERR_OUT_OF_RANGE` for a bad `max`.
 */
export function peekQueue(name: string, options?: PeekOptions): PeekResult {
  const valid = validateName(name);
  const opts = validateOptions(options, 'options', ['max', 'codec']);
  const max = opts['max'] === undefined ? 10 : validateInteger(opts['max'], 'options.max', 1, MAX_PEEK);
  const wanted = opts['codec'] === undefined ? undefined : resolveCodec(opts['codec'] as CodecName | Codec<unknown>);
  const early = precheck(valid, Date.now());
  if (early === 'missing') throw new QueueNotFoundError(`queue '${valid}' does not exist (no ${segmentPath(valid)})`);
  if (early !== null) throw problemError(valid, early);
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(OpenMode.Open, valid, 1 << 20, 0, 0, 'raw', 0);
  } catch (error) {
    const r = classifySystemError(valid, error as NodeJS.ErrnoException);
    if (r === 'missing') throw new QueueNotFoundError(`queue '${valid}' does not exist (no ${segmentPath(valid)})`);
    if (r.reason === 'permission-denied') {
      r.message = `${r.code}: permission denied opening queue '${valid}' read-write (${segmentPath(valid)}); peek takes the queue's lock, so it needs read and write access: run as its owner (or root)`;
    }
    throw problemError(valid, r);
  }
  try {
    const stored = handle.info().codec;
    let codec: Codec<unknown> | undefined;
    if (wanted !== undefined) {
      if (wanted.name !== stored)
        throw new CodecMismatchError(`queue '${valid}' uses codec '${stored}', not '${wanted.name}'`);
      codec = wanted;
    } else if ((CODEC_NAMES as readonly string[]).includes(stored)) {
      codec = resolveCodec(stored as CodecName);
    }
    const lens = new Uint32Array(max);
    let size = PEEK_SLAB_SIZE;
    for (;;) {
      const slab = new ArrayBuffer(size);
      handle.setReadBuffer(slab);
      const n = handle.peek(0, max, lens);
      if (n === S.needSpace) {
        size = Math.max(size * 2, handle.needed() + 8);
        continue;
      }
      if (n === S.empty) return { name: valid, codec: stored, total: 0, messages: [] }; // lock busy for 1 s: report nothing rather than wait
      if (n === S.corrupt) throw new QueueCorruptError(handle.lastError().message || `queue '${valid}' is corrupt`);
      if (n < 0) throw new QueueCorruptError(`queue '${valid}': unexpected native status ${n}`);
      const total = handle.count();
      // Fewer than asked and more are queued: the buffer was too small for the rest. Try bigger.
      if (n < max && total > n && size < PEEK_SLAB_LIMIT) {
        size *= 4;
        continue;
      }
      const buf = Buffer.from(slab);
      const messages: PeekedMessage[] = [];
      let pos = 0;
      for (let i = 0; i < n; i++) {
        const len = lens[i] as number;
        const bytes = Buffer.from(buf.subarray(pos, pos + len)); // a copy: the slab is dropped
        pos += (len + 7) & ~7;
        const m: PeekedMessage = { size: len, bytes, decoded: false };
        if (codec) {
          try {
            // A view of its own: some decoders (msgpackr) cache state on the object they are given.
            m.value = codec.decode(bytes.subarray());
            m.decoded = true;
          } catch (error) {
            m.error = error instanceof Error ? error : new Error(String(error));
          }
        }
        messages.push(m);
      }
      return { name: valid, codec: stored, total: Math.max(total, n), messages };
    }
  } finally {
    handle.close();
  }
}
