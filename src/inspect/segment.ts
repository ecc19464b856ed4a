/**
 * One segment, looked at from the outside: the native `probe()` classifies it without attaching
 * (or blocking, or reading more than its header), then an *inspect*-mode handle (mapped read-only,
 * not attached) reads its counters. What cannot be read is classified, never thrown.
 *
 * @module
 */
import { nativeError, probeError, type SegmentProblem, segmentProblemOf } from '../errors.js';
import { addon, type NativeError, type NativeHandle, OpenMode, type ProbeResult, queueFlags } from '../native/index.js';
import type { QueueInspection, UnreadableReason } from './types.js';

/** Directory where glibc keeps POSIX shared-memory objects. */
export const SHM_DIR = '/dev/shm';
/** Every queue's segment is `/dev/shm/shm-queue.<name>`. */
export const SEGMENT_PREFIX = 'shm-queue.';
/** A segment not READY after this long was abandoned by its creator (the native open waits 2 s). */
const UNFINISHED_AFTER_MS = 2000;

/** Path of the segment of queue `name`. */
export function segmentPath(name: string): string {
  return `${SHM_DIR}/${SEGMENT_PREFIX}${name}`;
}

/** Why a segment cannot be read, and the typed error that says so. */
export interface Unreadable {
  reason: UnreadableReason;
  message: string;
  code?: string;
  /** With `'incompatible'`: the segment's layout version, when its header says. */
  layoutVersion?: number;
  /** What {@link inspectQueue} and `peekQueue` throw for it. */
  error: Error;
}

/** How a segment problem is reported in a listing. */
const REASON_OF_PROBLEM: Readonly<Record<SegmentProblem, UnreadableReason>> = {
  'not-a-queue': 'not-a-queue',
  'not-regular': 'not-a-queue',
  incompatible: 'incompatible',
  unfinished: 'unfinished',
  corrupt: 'corrupt',
};

function unreadable(reason: UnreadableReason, error: Error): Unreadable {
  const code = (error as NodeJS.ErrnoException).code;
  return { reason, message: error.message, ...(code === undefined ? {} : { code }), error };
}

/**
 * What the probe says before anything is opened: `'missing'`, why it is unreadable, or null when
 * it is a finished queue of this layout (or one still being created, that the open waits for).
 */
export function precheck(name: string): Unreadable | 'missing' | null {
  const probe: ProbeResult = addon.probe(name);
  switch (probe.kind) {
    case 'queue':
      return null;
    case 'missing':
      return 'missing';
    case 'unfinished':
      if (probe.ageMs <= UNFINISHED_AFTER_MS) return null; // being created: the native open waits for it
      return unreadable('unfinished', probeError(probe, name, segmentPath(name)));
    case 'permission-denied':
      return unreadable('permission-denied', probeError(probe, name, segmentPath(name)));
    case 'error':
      return unreadable('error', probeError(probe, name, segmentPath(name)));
    case 'incompatible':
      return {
        ...unreadable('incompatible', probeError(probe, name, segmentPath(name))),
        layoutVersion: probe.layoutVersion,
      };
    default:
      return unreadable(REASON_OF_PROBLEM[probe.kind], probeError(probe, name, segmentPath(name)));
  }
}

/** Classifies what a native open threw: `'missing'` or why the segment is unreadable. */
export function classifyOpenError(name: string, error: unknown, op: 'inspect' | 'peek'): Unreadable | 'missing' {
  const e = error as NativeError;
  if (e?.code === 'ENOENT') return 'missing';
  const typed = nativeError(error, { queue: name, op, path: segmentPath(name) });
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return unreadable('permission-denied', typed);
  const problem = segmentProblemOf(e);
  return unreadable(problem === undefined ? 'error' : REASON_OF_PROBLEM[problem], typed);
}

function snapshot(name: string, handle: NativeHandle): QueueInspection {
  const s = handle.stats();
  const info = handle.info();
  // In use unless the kernel says nobody holds an attach lock: the pid table has 64 slots, and
  // "cannot tell" (inUse null) never counts as unused.
  const used = s.attached.length > 0 || s.inUse !== false;
  const idleSince = used ? null : Math.max(s.createdAt, s.lastAttachAt, s.lastDetachAt);
  return { name, path: segmentPath(name), joinable: (info.flags & queueFlags.joinable) !== 0, idleSince, ...s };
}

/** Inspects without throwing: the stats, `'missing'`, or what is wrong. */
export function tryInspect(name: string): QueueInspection | Unreadable | 'missing' {
  const early = precheck(name);
  if (early !== null) return early;
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(OpenMode.Inspect, name, 1 << 20, 0, 0, 'raw', 0);
  } catch (error) {
    return classifyOpenError(name, error, 'inspect');
  }
  try {
    return snapshot(name, handle);
  } finally {
    handle.close();
  }
}
