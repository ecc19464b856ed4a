/**
 * Argument validation shared by the public API. Everything here runs before any system call, so a
 * bad argument never touches shared memory.
 *
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { addon, limits } from './native/index.js';

/**
 * True when `name` is a valid queue name. The rule itself lives in the native core
 * (`addon.isValidName`: 1-200 of [A-Za-z0-9_.-], not '.' or '..'); it makes no system call.
 */
export function isValidName(name: string): boolean {
  return addon.isValidName(name);
}

/** What a valid queue name is, in words, for error messages. */
export const NAME_RULE = `1-${limits.maxNameLength} characters of A-Z, a-z, 0-9, '_', '.' or '-' (and not '.' or '..')`;

/** Throws unless `name` is a valid queue name. */
export function validateName(name: unknown, argName = 'name'): string {
  if (typeof name !== 'string') throw invalidArgType(argName, 'of type string', name);
  if (!addon.isValidName(name)) {
    throw invalidArgValue(
      argName,
      `must be ${NAME_RULE}. Received ${JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name)}`,
    );
  }
  return name;
}

/** Throws unless `value` is undefined or a boolean. */
export function validateOptionalBoolean(value: unknown, argName: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw invalidArgType(argName, 'of type boolean', value);
  return value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function validateInteger(value: unknown, argName: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(argName, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(argName, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

/** Throws unless `value` is undefined or a plain options object; returns it as a record. */
export function validateOptions(value: unknown, argName: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(argName, 'of type object', value);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      const close = known.find((k) => k.toLowerCase() === key.toLowerCase());
      throw invalidArgValue(
        `${argName}.${key}`,
        `is not a known option${close ? `; did you mean "${close}"?` : `. Known options: ${known.join(', ')}`}`,
      );
    }
  }
  return record;
}

/**
 * Converts a `timeout` option to the native convention: undefined or Infinity waits forever (-1);
 * a finite number of milliseconds >= 0 is rounded up to whole milliseconds.
 */
export function validateTimeout(value: unknown, argName = 'options.timeout'): number {
  if (value === undefined || value === null || value === Infinity) return -1;
  if (typeof value !== 'number') throw invalidArgType(argName, 'of type number (milliseconds) or undefined', value);
  if (Number.isNaN(value) || value < 0)
    throw outOfRange(argName, 'a number of milliseconds >= 0, or undefined to wait forever', value);
  return Math.ceil(value);
}

/** Throws unless `value` is undefined or an AbortSignal. */
export function validateSignal(value: unknown, argName = 'options.signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgType(argName, 'an instance of AbortSignal', value);
  return value;
}
