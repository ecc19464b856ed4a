/**
 * Opening a queue: validates the name and options, creates or opens the native handle, and
 * negotiates the codec and the kind (plain or joinable) with what the segment says.
 *
 * @module
 */
import { type Codec, type CodecName, isBuiltinCodecName, resolveCodec } from '../codecs/index.js';
import { CodecMismatchError, QueueIncompatibleError, invalidArgType, invalidArgValue, nativeError } from '../errors.js';
import { addon, align8, limits, type NativeHandle, type NativeInfo, OpenMode, queueFlags } from '../native/index.js';
import { validateInteger, validateName, validateOptionalBoolean, validateOptions } from '../validate.js';

/** Default ring size in bytes (1 MiB). */
export const DEFAULT_CAPACITY = 1 << 20;

const CREATE_KEYS = ['maxsize', 'capacity', 'codec', 'mode', 'exclusive', 'owner'] as const;
const OPEN_KEYS = ['codec', 'owner'] as const;

/** A handle just opened, with what the queue object is made of. */
export interface Opened<T> {
  handle: NativeHandle;
  codec: Codec<T>;
  info: NativeInfo;
  name: string;
}

/** The options of a create that bear on the segment, validated. */
interface Wanted {
  capacity: number;
  maxsize: number;
  fileMode: number;
  mode: OpenMode;
}

function createOptions(options: Record<string, unknown>, mode: OpenMode): Wanted {
  const wanted: Wanted = { capacity: DEFAULT_CAPACITY, maxsize: 0, fileMode: 0o600, mode };
  if (mode === OpenMode.Open) return wanted;
  if (options['capacity'] !== undefined)
    wanted.capacity = validateInteger(options['capacity'], 'options.capacity', limits.minCapacity, limits.maxCapacity);
  if (options['maxsize'] !== undefined)
    wanted.maxsize = validateInteger(options['maxsize'], 'options.maxsize', 0, limits.maxMaxsize);
  if (options['mode'] !== undefined) wanted.fileMode = validateInteger(options['mode'], 'options.mode', 0, 0o777);
  if (validateOptionalBoolean(options['exclusive'], 'options.exclusive') === false) wanted.mode = OpenMode.CreateOrOpen;
  return wanted;
}

/** The uid of the `owner` option (a uid or a user name), or -1 when absent: trust nobody else. */
function trustedOwner(owner: unknown): number {
  if (owner === undefined) return -1;
  if (typeof owner === 'number') return validateInteger(owner, 'options.owner', 0, 2 ** 32 - 2);
  if (typeof owner !== 'string') throw invalidArgType('options.owner', 'a uid (number) or a user name (string)', owner);
  const uid = addon.lookupUser(owner);
  if (uid === null) throw invalidArgValue('options.owner', `names no user of this system (${JSON.stringify(owner)})`);
  return uid;
}

/**
 * Opens (or creates) queue `name`. `mode` is Create or Open (Create becomes CreateOrOpen with
 * `exclusive: false`); `joinable` is the kind the caller's class is.
 */
export function openQueue<T>(name: unknown, mode: OpenMode, rawOptions: unknown, joinable: boolean): Opened<T> {
  const validName = validateName(name);
  const options = validateOptions(rawOptions, 'options', mode === OpenMode.Open ? OPEN_KEYS : CREATE_KEYS);
  const explicitCodec = options['codec'] !== undefined;
  let codec = resolveCodec(options['codec'] as CodecName | Codec<unknown> | undefined) as Codec<T>;
  const wanted = createOptions(options, mode);
  const owner = trustedOwner(options['owner']);
  let handle: NativeHandle;
  try {
    handle = new addon.QueueHandle(
      wanted.mode,
      validName,
      wanted.capacity,
      wanted.maxsize,
      joinable ? queueFlags.joinable : 0,
      codec.name,
      wanted.fileMode,
      owner,
    );
  } catch (error) {
    throw nativeError(error, { queue: validName, op: 'open' });
  }
  const info = handle.info();
  try {
    if (info.codec !== codec.name) {
      if (!explicitCodec && isBuiltinCodecName(info.codec)) codec = resolveCodec(info.codec) as Codec<T>;
      else throw codecMismatch(validName, info.codec, codec.name);
    }
    const isJoinable = (info.flags & queueFlags.joinable) !== 0;
    if (isJoinable !== joinable) {
      const kind = isJoinable ? 'JoinableQueue' : 'Queue';
      throw new QueueIncompatibleError(
        `queue '${validName}' is a ${isJoinable ? 'JoinableQueue' : 'plain Queue'}; open it with ${kind}.open('${validName}')`,
      );
    }
    if (!info.created && wanted.mode === OpenMode.CreateOrOpen) checkSameOptions(validName, options, wanted, info);
  } catch (error) {
    handle.close();
    throw error;
  }
  return { handle, codec, info, name: validName };
}

function codecMismatch(name: string, stored: string, asked: string): CodecMismatchError {
  return new CodecMismatchError(
    `queue '${name}' uses codec '${stored}', not '${asked}'; ` +
      (isBuiltinCodecName(stored)
        ? `open it with { codec: '${stored}' } or without a codec option`
        : `open it with your custom codec named '${stored}'`),
  );
}

/** A create-or-open that found the queue: options given explicitly must match it. */
function checkSameOptions(name: string, options: Record<string, unknown>, wanted: Wanted, info: NativeInfo): void {
  const capacity = align8(wanted.capacity);
  if (options['capacity'] !== undefined && info.capacity !== capacity) {
    throw new QueueIncompatibleError(
      `queue '${name}' exists with capacity ${info.capacity}, not ${capacity}; use the same options in every process, or Queue.open('${name}')`,
    );
  }
  if (options['maxsize'] !== undefined && info.maxsize !== wanted.maxsize) {
    throw new QueueIncompatibleError(
      `queue '${name}' exists with maxsize ${info.maxsize}, not ${wanted.maxsize}; use the same options in every process, or Queue.open('${name}')`,
    );
  }
}
