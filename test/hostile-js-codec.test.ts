// Issue 11, items 13 and 14, for the default 'msgpack' codec, across two processes.
// - 13: the exactness walk before packing costs what a value holds, not its length: on 0.1
//   `a = []; a[1e8 - 1] = 1; q.putSync(a)` blocked for ~6 s while v8.serialize(a) takes ~0.1 ms.
// - 14: an array's named properties are carried (through the v8 fallback), not silently dropped.
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/index.js';
import { okJson, runNode, uniqueName } from './helpers.js';

/** Another process gets one value and reports what it received, described as JSON. */
async function receiveElsewhere(name: string, describe: string): Promise<unknown> {
  return okJson(
    await runNode(
      `const q = Queue.open(ARGS.name);
       const v = q.getSync({ timeout: 5000 });
       q.close();
       console.log(JSON.stringify((${describe})(v)));`,
      { name },
    ),
  );
}

describe('item 13: the walk follows the contents of a sparse array, not its length', () => {
  it('a[1e8 - 1] = 1: putSync is about as fast as v8.serialize, and the other process gets it exactly', async () => {
    const name = uniqueName('sparse');
    const q = Queue.create(name, { capacity: 1 << 16 });
    try {
      const a: number[] = [];
      a[1e8 - 1] = 1;
      let t = performance.now();
      v8.serialize(a);
      const baseline = performance.now() - t;
      t = performance.now();
      q.putSync(a);
      const put = performance.now() - t;
      console.log(
        `putSync of a sparse array of length 1e8: ${put.toFixed(2)} ms (v8.serialize: ${baseline.toFixed(2)} ms)`,
      );
      // Generous: 0.1 took ~6,000 ms. A walk over every index would take far more than this.
      expect(put).toBeLessThan(200 + 50 * baseline);
      const got = await receiveElsewhere(
        name,
        '(v) => ({ isArray: Array.isArray(v), length: v.length, keys: Object.keys(v), last: v[1e8 - 1] })',
      );
      expect(got).toEqual({ isArray: true, length: 1e8, keys: ['99999999'], last: 1 });
    } finally {
      q.close();
    }
  });

  it('a sparse array with an Error and nested values deep inside arrives whole', async () => {
    const name = uniqueName('sparse2');
    const q = Queue.create(name, { capacity: 1 << 16 });
    try {
      const a: unknown[] = [];
      // biome-ignore lint/suspicious/noSparseArray: a hole, deep inside
      a[5] = { deep: [1, , 3] };
      a[2 ** 31] = new RangeError('far', { cause: 'x' });
      const t = performance.now();
      q.putSync(a);
      expect(performance.now() - t).toBeLessThan(500);
      const got = await receiveElsewhere(
        name,
        `(v) => ({ length: v.length, keys: Object.keys(v), deep: 1 in v[5].deep, err: v[2 ** 31] instanceof RangeError, message: v[2 ** 31].message, cause: v[2 ** 31].cause })`,
      );
      expect(got).toEqual({
        length: 2 ** 31 + 1,
        keys: ['5', '2147483648'],
        deep: false,
        err: true,
        message: 'far',
        cause: 'x',
      });
    } finally {
      q.close();
    }
  });
});

describe("item 14: an array's named properties are not dropped", () => {
  it.each([
    ['a short array', () => Object.assign([1, 2], { extra: 'x' })],
    // biome-ignore lint/suspicious/noSparseArray: holes and a named property together
    ['an array with holes', () => Object.assign([1, , 3], { extra: 'x' })],
    [
      'a long array (> 4096 elements)',
      () =>
        Object.assign(
          Array.from({ length: 5000 }, (_, i) => i),
          { extra: 'x' },
        ),
    ],
    ['an array nested in an object', () => ({ list: Object.assign(['a'], { extra: 'x' }) })],
  ])('%s arrives with its named property, in another process', async (_, make) => {
    const name = uniqueName('named');
    const q = Queue.create(name, { capacity: 1 << 17 });
    try {
      const value = make();
      q.putSync(value);
      const got = await receiveElsewhere(
        name,
        `(v) => { const a = Array.isArray(v) ? v : v.list; return { isArray: Array.isArray(a), keys: Object.keys(a).slice(-2), extra: a.extra, length: a.length }; }`,
      );
      const a = (Array.isArray(value) ? value : value.list) as unknown[];
      expect(got).toEqual({ isArray: true, keys: Object.keys(a).slice(-2), extra: 'x', length: a.length });
    } finally {
      q.close();
    }
  });

  it('a named property holding an Error or a Map keeps its type', () => {
    const name = uniqueName('named2');
    const q = Queue.create(name, { capacity: 1 << 16 });
    try {
      const value = Object.assign([1], { err: new TypeError('t'), map: new Map([[1, 'one']]) });
      q.putSync(value);
      const got = q.getSync({ timeout: 1000 }) as typeof value;
      expect(got.err).toBeInstanceOf(TypeError);
      expect(got.err.message).toBe('t');
      expect(got.map).toEqual(new Map([[1, 'one']]));
      expect([...got]).toEqual([1]);
    } finally {
      q.close();
    }
  });
});
