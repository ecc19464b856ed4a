// Shared by the codec tests and the queue property tests: a comparer and an arbitrary for values
// that structured clone (and so the default codec) must carry exactly.
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Structural comparison under structured-clone semantics that cannot miss what vitest's equality
 * treats loosely: -0 vs 0 (Object.is on every number), holes, exact prototypes (a null-prototype
 * object is expected back as a plain object), typed array kinds and bytes. Returns the path of
 * the first difference, or null.
 */
export function difference(
  actual: unknown,
  expected: unknown,
  path = 'value',
  seen = new Map<object, unknown>(),
): string | null {
  if (typeof expected !== 'object' || expected === null) {
    return Object.is(actual, expected) ? null : `${path}: ${String(actual)} !== ${String(expected)}`;
  }
  if (typeof actual !== 'object' || actual === null) return `${path}: not an object`;
  if (seen.has(expected)) return seen.get(expected) === actual ? null : `${path}: reference identity differs`;
  seen.set(expected, actual);
  const proto = Object.getPrototypeOf(expected) ?? Object.prototype;
  if (Object.getPrototypeOf(actual) !== proto) return `${path}: prototype differs`;
  if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) {
    const bytes = (v: ArrayBufferView | ArrayBuffer) =>
      v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return bytes(actual as ArrayBufferView).equals(bytes(expected)) ? null : `${path}: bytes differ`;
  }
  if (expected instanceof Date)
    return Object.is((actual as Date).getTime(), expected.getTime()) ? null : `${path}: date differs`;
  if (expected instanceof RegExp) return String(actual) === String(expected) ? null : `${path}: regexp differs`;
  if (expected instanceof Map || expected instanceof Set) {
    const a = [...(actual as Map<unknown, unknown>)];
    const e = [...expected];
    if (a.length !== e.length) return `${path}: size differs`;
    for (let i = 0; i < e.length; i++) {
      const d = difference(a[i], e[i], `${path}[entry ${i}]`, seen);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (a.length !== expected.length) return `${path}: length differs`;
    for (let i = 0; i < expected.length; i++) {
      if (i in a !== i in expected) return `${path}[${i}]: hole differs`;
    }
  }
  const keys = Object.keys(expected);
  if (Object.keys(actual).join('\0') !== keys.join('\0')) return `${path}: keys differ`;
  for (const key of keys) {
    const d = difference(
      (actual as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      `${path}.${key}`,
      seen,
    );
    if (d) return d;
  }
  return null;
}

/** Fails the test with the path of the first structural difference. */
export function expectSame(actual: unknown, expected: unknown): void {
  expect(difference(actual, expected)).toBeNull();
}

/** fast-check arbitrary of structured-clone-able values: primitives incl. -0, NaN and BigInt, dates,
 *  typed arrays, strings with lone surrogates, sparse arrays, objects, Maps and Sets, nested. */
export const { tree: structuredTree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('node')),
  leaf: fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.constantFrom(-0, NaN, Infinity, 2 ** 53),
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array(),
    fc.int16Array(),
    fc.float64Array(),
    fc.bigInt64Array(),
    fc.float32Array(),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    fc.array(tie('tree'), { maxLength: 5 }),
    fc.sparseArray(tie('tree'), { maxLength: 6 }),
    fc.dictionary(fc.string(), tie('tree'), { maxKeys: 5 }),
    fc.array(fc.tuple(tie('tree'), tie('tree')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(tie('tree'), { maxLength: 4 }).map((items) => new Set(items)),
  ),
}));
