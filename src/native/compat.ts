/**
 * TEMPORARY: stand-ins for what the 0.1 addon does not export yet (`limits`, `queueFlags`,
 * `isValidName`, `isValidCodecName`, `probe`). The addon of this release exports all of them;
 * this file goes away once every build in use has them. Nothing else may read segment bytes.
 *
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { NativeLimits, NativeQueueFlags, ProbeFileType, ProbeResult } from './types.js';

export const compatLimits: NativeLimits = Object.freeze({
  minCapacity: 64,
  maxCapacity: 2 ** 40,
  maxMaxsize: 2 ** 32 - 1,
  maxNameLength: 200,
  maxCodecNameLength: 31,
});

export const compatQueueFlags: NativeQueueFlags = Object.freeze({ joinable: 1 });

export const compatIsValidName = (name: string): boolean =>
  /^[A-Za-z0-9_.-]{1,200}$/.test(name) && name !== '.' && name !== '..';

export const compatIsValidCodecName = (name: string): boolean => /^[A-Za-z0-9_.:-]{1,31}$/.test(name);

// Layout version 1 header fields, as the 0.1 addon lays them out.
const MAGIC = 0x45554555514d4853n;
const HEADER_PREFIX = 92;
const STATE_READY = 0x52454459;
const UNFINISHED_AFTER_MS = 2000;

function fileType(mode: number): ProbeFileType {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFIFO:
      return 'fifo';
    case constants.S_IFDIR:
      return 'directory';
    case constants.S_IFSOCK:
      return 'socket';
    case constants.S_IFLNK:
      return 'symlink';
    case constants.S_IFCHR:
      return 'char-device';
    case constants.S_IFBLK:
      return 'block-device';
    default:
      return 'other';
  }
}

/** The 0.1 stand-in of the native `probe(name)`: same results, same non-blocking open. */
export function compatProbe(name: string, layoutVersion: number): ProbeResult {
  const path = `/dev/shm/shm-queue.${name}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { kind: 'missing', message: `no queue '${name}' (no ${path})` };
    if (e.code === 'EACCES' || e.code === 'EPERM')
      return {
        kind: 'permission-denied',
        code: e.code,
        message: `${e.code}: permission denied reading queue '${name}' (${path}); run as its owner (or root)`,
      };
    if (e.code === 'ELOOP')
      return { kind: 'not-regular', fileType: 'symlink', message: `${path} is a symlink, so not a shm-queue segment` };
    return {
      kind: 'error',
      code: e.code ?? 'EIO',
      errno: e.errno ?? 0,
      syscall: e.syscall ?? 'open',
      message: `queue '${name}': ${e.message}`,
    };
  }
  try {
    const st = fstatSync(fd);
    const owner = { uid: st.uid, mode: st.mode & 0o7777 };
    if (!st.isFile()) {
      const type = fileType(st.mode);
      return {
        kind: 'not-regular',
        fileType: type,
        ...owner,
        message: `${path} is a ${type}, not a regular file, so not a shm-queue segment`,
      };
    }
    const head = Buffer.alloc(HEADER_PREFIX);
    const got = st.size > 0 ? readSync(fd, head, 0, HEADER_PREFIX, 0) : 0;
    const ageMs = Date.now() - st.mtimeMs;
    const unfinished: ProbeResult = {
      kind: 'unfinished',
      ageMs,
      ...owner,
      message: `queue '${name}' was never finished by its creator (it may have died while creating it); remove it with 'shm-queue rm --force ${name}' and create it again`,
    };
    const magic = got >= 8 ? head.readBigUInt64LE(0) : 0n;
    if (magic !== MAGIC && magic !== 0n)
      return {
        kind: 'not-a-queue',
        ...owner,
        message: `${path} is not a shm-queue segment (bad magic number): something else wrote it; if nothing uses it, remove it with 'shm-queue rm --force ${name}'`,
      };
    if (got < HEADER_PREFIX || head.readUInt32LE(88) !== STATE_READY) {
      // Still being created, or abandoned: only age tells them apart.
      return ageMs > UNFINISHED_AFTER_MS ? unfinished : { ...unfinished, message: `queue '${name}' is being created` };
    }
    const version = head.readUInt32LE(8);
    if (version !== layoutVersion)
      return {
        kind: 'incompatible',
        layoutVersion: version,
        ...owner,
        message: `queue '${name}' uses layout version ${version}, this shm-queue reads version ${layoutVersion}; inspect it with the shm-queue release that created it`,
      };
    const codec = head.toString('latin1', 40, 72).replace(/\0.*$/s, '');
    return {
      kind: 'queue',
      layoutVersion: version,
      joinable: (head.readUInt32LE(36) & 1) !== 0,
      codec,
      ...owner,
      message: `queue '${name}'`,
    };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return {
      kind: 'error',
      code: e.code ?? 'EIO',
      errno: e.errno ?? 0,
      syscall: e.syscall ?? 'read',
      message: `queue '${name}': ${e.message}`,
    };
  } finally {
    closeSync(fd);
  }
}
