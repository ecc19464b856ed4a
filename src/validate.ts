/**
 * Argument validation shared by the public API. Everything here runs before any system call, so a
 * bad argument never touches shared memory.
 *
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';

/** Queue names: what fits safely in a /dev/shm file name. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;

/** Throws unless `name` is a valid queue name. */
export function validateName(name: unknown, argName = 'name'): string {
  if (typeof name !== 'string') throw invalidArgType(argName, 'of type string', name);
  if (!NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw invalidArgValue(
      argName,
      `must be 1-200 characters of A-Z, a-z, 0-9, '_', '.' or '-' (and not '.' or '..'). Received ${JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name)}`,
    );
  }
  return name;
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
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidArgType(argName, 'of type object', value);
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
