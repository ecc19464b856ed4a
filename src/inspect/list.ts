/**
 * Listing every queue of the machine and inspecting one: read-only, not attached, so nothing in
 * the queue changes (not even its last-attach time) and only read permission is needed.
 *
 * @module
 */
import { readdirSync } from 'node:fs';
import { invalidArgType, QueueNotFoundError } from '../errors.js';
import { isValidName, validateName, validateOptions } from '../validate.js';
import { SEGMENT_PREFIX, SHM_DIR, segmentPath, tryInspect } from './segment.js';
import type { ListOptions, QueueInspection, QueueListEntry } from './types.js';

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
  const r = tryInspect(valid);
  if (r === 'missing') throw new QueueNotFoundError(`queue '${valid}' does not exist (no ${segmentPath(valid)})`);
  if ('reason' in r) throw r.error;
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
  if (filter !== undefined && typeof filter !== 'function') {
    throw invalidArgType('options.filter', 'of type function', filter);
  }
  const keep = (filter as ((name: string) => boolean) | undefined) ?? (() => true);
  const entries = readdirSync(SHM_DIR).filter(
    (f) => f.startsWith(SEGMENT_PREFIX) && keep(f.slice(SEGMENT_PREFIX.length)),
  );
  entries.sort();
  const out: QueueListEntry[] = [];
  for (const file of entries) {
    const name = file.slice(SEGMENT_PREFIX.length);
    const path = `${SHM_DIR}/${file}`;
    if (!isValidName(name)) {
      out.push({
        ok: false,
        name,
        path,
        reason: 'invalid-name',
        message: `${path}: '${name}' is not a valid queue name, so no shm-queue created it`,
      });
      continue;
    }
    const r = tryInspect(name);
    if (r === 'missing') continue; // removed since readdir
    if ('reason' in r) {
      const { reason, message, code, layoutVersion } = r;
      out.push({
        ok: false,
        name,
        path,
        reason,
        message,
        ...(code === undefined ? {} : { code }),
        ...(layoutVersion === undefined ? {} : { layoutVersion }),
      });
    } else out.push({ ok: true, name, path, stats: r });
  }
  return out;
}
