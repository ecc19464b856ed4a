import v8 from 'node:v8';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { CODEC_NAMES, resolveCodec, type Codec, type CodecName } from '../src/codecs/index.js';
import { expectSame, structuredTree as tree } from './structured.js';

/** What the queue does: copy the encoded bytes into a reused slab, decode from the slab. */
const slab = new Uint8Array(1 << 20);
function viaSlab(codec: Codec<unknown>, value: unknown): unknown {
  const bytes = codec.encode(value);
  slab.set(bytes, 0);
  return codec.decode(slab.subarray(0, bytes.length));
}
function garbage(): void {
  slab.fill(0xa5);
}
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'did not throw';
}

const msgpack = resolveCodec('msgpack');
const v8c = resolveCodec('v8');
const json = resolveCodec('json');
const str = resolveCodec('string');
const raw = resolveCodec('raw');

describe('resolveCodec built-ins', () => {
  it('lists and resolves every built-in name, msgpack by default', () => {
    expect(CODEC_NAMES).toEqual(['msgpack', 'v8', 'json', 'string', 'raw']);
    for (const name of CODEC_NAMES) expect(resolveCodec(name).name).toBe(name);
    expect(resolveCodec(undefined)).toBe(msgpack);
    expect(resolveCodec(msgpack)).toBe(msgpack); // a built-in object passes as itself
    expect(raw.borrowsInput).toBe(true);
    expect(msgpack.borrowsInput).toBe(false);
  });
});

// -------------------------------------------------------------------------------------------------
// Round trips

const sharedTail = { shared: true };
const typedArrays = [
  new Int8Array([-1, 2]),
  new Uint8Array([1, 255]),
  new Uint8ClampedArray([0, 255]),
  new Int16Array([-300, 300]),
  new Uint16Array([65535]),
  new Int32Array([-(2 ** 31)]),
  new Uint32Array([2 ** 32 - 1]),
  new Float32Array([1.5, NaN]),
  new Float64Array([-0, Math.PI]),
  new BigInt64Array([-(2n ** 63n)]),
  new BigUint64Array([2n ** 64n - 1n]),
];
const structuredValues: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['int', 42],
  ['negative', -7],
  ['float', 1.5],
  ['NaN', NaN],
  ['-0', -0],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['2^53', 2 ** 53],
  ['small bigint', 5n],
  ['negative bigint', -5n],
  ['bigint 2^64', 2n ** 64n],
  ['bigint -2^64', -(2n ** 64n)],
  ['huge bigint', 3n ** 500n],
  ['huge negative bigint', -(7n ** 300n)],
  ['empty string', ''],
  ['unicode', 'héllo wörld ✓ 🎉'],
  ['long string', `${'x'.repeat(5000)}é`],
  ['lone high surrogate', 'a\ud800b'],
  ['lone low surrogate (long)', `${'y'.repeat(100)}\udc00`],
  ['date', new Date(1_700_000_000_123)],
  ['old date', new Date(-1500)],
  ['invalid date', new Date(NaN)],
  ['max date', new Date(8.64e15)],
  ['regexp', /a\s+b/giu],
  [
    'map',
    new Map<unknown, unknown>([
      [1, 'a'],
      ['k', { x: 1 }],
      [{}, [2]],
    ]),
  ],
  ['set', new Set([1, 'a', 2n])],
  ['array', [1, 'two', [3]]],
  // biome-ignore lint/suspicious/noSparseArray: the hole is what is carried
  ['holes', [1, , 3]],
  ['object', { a: 1, b: { c: [true, null] }, 'weird key': 2, 1: 'num' }],
  ['odd keys', JSON.parse('{"__proto__": 1, "__keys__": 2, "constructor": 3, "hasOwnProperty": 4}')],
  ['null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
  ['buffer', Buffer.from('buf')],
  ['empty buffer', Buffer.alloc(0)],
  ['array buffer', new Uint8Array([9, 8, 7]).buffer],
  ['data view', new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)],
  ['typed arrays', typedArrays],
  ['offset typed array', new Uint16Array(new ArrayBuffer(16), 4, 2)],
  ['error', new Error('boom')],
  ['range error with cause', new RangeError('r', { cause: { why: 1 } })],
  ['boxed primitives', [new Number(3), new String('s'), new Boolean(false)]],
  [
    'mixed',
    {
      items: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
      when: new Date(0),
      tags: new Set(['x']),
      tail: sharedTail,
    },
  ],
];

describe("'msgpack' codec", () => {
  it.each(structuredValues)('round-trips %s', (_label, value) => {
    const decoded = viaSlab(msgpack, value);
    if (value instanceof Error) {
      expect(decoded).toBeInstanceOf(value.constructor);
      const e = decoded as Error;
      expect([e.name, e.message, e.stack, e.cause]).toStrictEqual([
        value.name,
        value.message,
        value.stack,
        value.cause,
      ]);
      return;
    }
    expectSame(decoded, value);
  });

  it('keeps Object.is identity for -0 and NaN, and exact types', () => {
    const [z, n] = viaSlab(msgpack, [-0, NaN]) as number[];
    expect(Object.is(z, -0)).toBe(true);
    expect(Number.isNaN(n)).toBe(true);
    const decoded = viaSlab(msgpack, {
      b: Buffer.from('x'),
      u: new Uint8Array([1]),
      m: new Map(),
      s: new Set(),
      d: new Date(5),
    }) as Record<string, unknown>;
    expect(Buffer.isBuffer(decoded.b)).toBe(true);
    expect(Buffer.isBuffer(decoded.u)).toBe(false);
    expect(Object.getPrototypeOf(decoded.u)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(decoded.m)).toBe(Map.prototype);
    expect(Object.getPrototypeOf(decoded.s)).toBe(Set.prototype);
    expect(Object.getPrototypeOf(decoded.d)).toBe(Date.prototype);
    const arrays = viaSlab(msgpack, typedArrays) as ArrayBufferView[];
    for (const [i, a] of arrays.entries()) expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(typedArrays[i]));
  });

  it('keeps holes as holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is carried
    const decoded = viaSlab(msgpack, [1, , 3]) as unknown[];
    expect(decoded).toHaveLength(3);
    expect(1 in decoded).toBe(false);
  });

  it('packs a value with no object in it twice exactly as structured clone would (it skips its reference map)', () => {
    // The codec packs such values without msgpackr's structured clone, which for them only costs a
    // Map of every object; the bytes must stay those of the structured-clone packer it decodes with.
    const reference = new Packr({
      structuredClone: true,
      moreTypes: true,
      largeBigIntToFloat: false,
      encodeUndefinedAsNil: false,
    });
    const isFallback = (b: Uint8Array) => b[0] === 0xc9 && b[5] === 0x56;
    fc.assert(
      fc.property(tree, (value) => {
        const bytes = Buffer.from(msgpack.encode(value));
        if (!isFallback(bytes)) expect(bytes.equals(reference.pack(value))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('preserves shared and cyclic references', () => {
    const shared = { s: 1 };
    const root: Record<string, unknown> = { a: shared, b: shared, list: [shared] };
    root.self = root;
    root.map = new Map([[shared, root]]);
    root.set = new Set([root]);
    const bytes = new Uint8Array(64);
    root.u1 = bytes;
    root.u2 = bytes;
    const d = viaSlab(msgpack, root) as Record<string, unknown> & {
      list: unknown[];
      map: Map<unknown, unknown>;
      set: Set<unknown>;
    };
    expect(d.self).toBe(d);
    expect(d.a).toBe(d.b);
    expect(d.list[0]).toBe(d.a);
    expect(d.map.get(d.a)).toBe(d);
    expect(d.set.has(d)).toBe(true);
    expect(d.u1).toBe(d.u2);
  });

  it('carries class instances as plain objects (as structured clone does)', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      toJSON(): string {
        return 'not used';
      }
    }
    const d = viaSlab(msgpack, { p: new Point(1, 2) }) as { p: unknown };
    expect(d.p).toStrictEqual({ x: 1, y: 2 });
    expect(Object.getPrototypeOf(d.p)).toBe(Object.prototype);
  });

  it('is decodable by a separate process (fresh module state)', async () => {
    // Records (msgpackr object shapes) must be self-contained in every message.
    const { Unpackr } = await import('msgpackr');
    const other = new Unpackr({ structuredClone: true, moreTypes: true, copyBuffers: true });
    const messages = [
      { a: 1, b: 2 },
      { x: 'y' },
      { a: 3, b: 4 },
      [
        { a: 5, b: 6 },
        { a: 7, b: 8 },
      ],
    ].map((v) => new Uint8Array(msgpack.encode(v)));
    expect(messages.reverse().map((m) => other.unpack(m))).toStrictEqual([
      [
        { a: 5, b: 6 },
        { a: 7, b: 8 },
      ],
      { a: 3, b: 4 },
      { x: 'y' },
      { a: 1, b: 2 },
    ]);
  });
});

describe("'v8' codec", () => {
  it.each(structuredValues)('round-trips %s', (_label, value) => {
    const decoded = viaSlab(v8c, value);
    if (value instanceof Error) {
      expect((decoded as Error).message).toBe(value.message);
      return;
    }
    expectSame(decoded, value);
  });
});

describe("'json' codec", () => {
  it.each<[string, unknown]>([
    ['object', { a: 1, b: [true, null, 'x'], c: { d: 'é🎉' } }],
    ['string', 'hi'],
    ['number', 1.5],
    ['null', null],
    ['array', [1, [2, [3]]]],
    ['lone surrogate', '\ud800'],
    ['long', { s: 'z'.repeat(100_000) }],
  ])('round-trips %s', (_label, value) => {
    expect(viaSlab(json, value)).toStrictEqual(value);
  });

  it('follows JSON.stringify semantics', () => {
    expect(viaSlab(json, { d: new Date(0), u: undefined, f: () => 1, n: NaN, z: -0 })).toStrictEqual({
      d: '1970-01-01T00:00:00.000Z',
      n: null,
      z: 0,
    });
    expect(viaSlab(json, { toJSON: () => [1] })).toStrictEqual([1]);
  });

  it('refuses values JSON cannot carry', () => {
    for (const bad of [undefined, () => 1, Symbol('s'), 1n, { big: 1n }]) {
      expect(codeOf(() => json.encode(bad))).toBe('ERR_INVALID_ARG_VALUE');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => json.encode(cyclic))).toBe('ERR_INVALID_ARG_VALUE');
    expect(viaSlab(json, { ok: 1 })).toStrictEqual({ ok: 1 });
  });
});

describe("'string' and 'raw' codecs", () => {
  it('string: round-trips UTF-8, refuses non-strings and lone surrogates', () => {
    for (const s of ['', 'abc', 'é✓🎉', 'q'.repeat(70_000)]) expect(viaSlab(str, s)).toBe(s);
    for (const bad of [1, null, undefined, {}, Buffer.from('x')])
      expect(codeOf(() => str.encode(bad))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => str.encode('a\udc00'))).toBe('ERR_INVALID_ARG_VALUE');
    expect(str.decode(str.encode('after'))).toBe('after');
  });

  it('raw: encodes views without copying and decodes to a Buffer over the input', () => {
    const u8 = new Uint8Array([1, 2, 3]);
    expect(raw.encode(u8)).toBe(u8);
    const buf = Buffer.from('xyz');
    expect(raw.encode(buf)).toBe(buf);
    const ab = new ArrayBuffer(8);
    const u16 = new Uint16Array(ab, 2, 2);
    const enc = raw.encode(u16);
    expect(enc.buffer).toBe(ab);
    expect([enc.byteOffset, enc.byteLength]).toEqual([2, 4]);
    expect(raw.encode(ab).buffer).toBe(ab);
    expect(raw.encode(new DataView(ab, 1, 3)).byteLength).toBe(3);
    const region = new Uint8Array([7, 8, 9]);
    const out = raw.decode(region) as Buffer;
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.buffer).toBe(region.buffer);
    expect([...out]).toEqual([7, 8, 9]);
    for (const bad of ['s', 1, null, undefined, [1, 2], {}])
      expect(codeOf(() => raw.encode(bad))).toBe('ERR_INVALID_ARG_TYPE');
  });
});

// -------------------------------------------------------------------------------------------------
// Refusals

const refusedValues: Array<[string, () => unknown]> = [
  ['function', () => () => 1],
  ['class', () => class {}],
  ['symbol', () => Symbol('s')],
  ['WeakMap', () => new WeakMap()],
  ['WeakSet', () => new WeakSet()],
  ['WeakRef', () => new WeakRef({})],
  ['Promise', () => Promise.resolve(1)],
  ['Proxy', () => new Proxy({ a: 1 }, {})],
  ['SharedArrayBuffer', () => new SharedArrayBuffer(8)],
  ['generator', () => (function* gen() {})()],
  ['Blob', () => new Blob(['x'])],
];

describe.each<[string, Codec<unknown>]>([
  ['msgpack', msgpack],
  ['v8', v8c],
])('%s refusals', (_name, codec) => {
  it.each(refusedValues)('refuses %s at top level and nested, leaving no state behind', (_label, make) => {
    for (const value of [
      make(),
      { a: 1, nested: { deep: [1, make()] } },
      new Map([['k', make()]]),
      new Set([make()]),
      [make()],
    ]) {
      let error: unknown;
      try {
        codec.encode(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_VALUE');
      expect((error as Error).message).toMatch(/could not be cloned|cannot be encoded|Unserializable/);
      expect(viaSlab(codec, { ok: [1, 2], s: 'fine' })).toStrictEqual({ ok: [1, 2], s: 'fine' });
    }
  });

  it('refuses an object with a method, and symbol values inside objects', () => {
    expect(codeOf(() => codec.encode({ a: 1, m() {} }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => codec.encode({ s: Symbol.iterator }))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

it('msgpack refuses an Error whose cause cycles back (v8 could not decode it)', () => {
  const error = new Error('loop');
  error.cause = { back: error };
  expect(codeOf(() => msgpack.encode({ x: -0, e: error }))).toBe('ERR_INVALID_ARG_VALUE');
  expect(codeOf(() => msgpack.encode(error))).toBe('ERR_INVALID_ARG_VALUE');
  expect(viaSlab(msgpack, 1)).toBe(1);
});

it('v8 refusals carry the DataCloneError as cause', () => {
  try {
    v8c.encode({ f: () => 1 });
    expect.unreachable();
  } catch (error) {
    expect((error as Error).cause).toBeInstanceOf(Error);
  }
});

// -------------------------------------------------------------------------------------------------
// No aliasing of the decode input

describe('decode does not alias its input', () => {
  it.each<[CodecName, unknown]>([
    [
      'msgpack',
      {
        b: Buffer.from('keep'),
        u: new Uint8Array([1, 2, 3]),
        f: new Float64Array([1.5]),
        ab: new Uint8Array([4]).buffer,
        s: 'str',
        n: [1, 2],
      },
    ],
    ['msgpack', { z: -0, b: Buffer.from('keep'), u: new Uint8Array([1, 2, 3]) }], // the v8 fallback path
    ['v8', { b: Buffer.from('keep'), u: new Uint8Array([1, 2, 3]), f: new Float64Array([1.5]) }],
    ['json', { s: 'text', n: [1, 2] }],
    ['string', 'some text'],
  ])('%s', (name, value) => {
    const codec = resolveCodec(name);
    const decoded = viaSlab(codec, value);
    const snapshot = v8.serialize(decoded);
    garbage();
    expect(v8.serialize(decoded).equals(snapshot)).toBe(true);
    expectSame(decoded, value);
  });
});

// -------------------------------------------------------------------------------------------------
// Property tests

describe('properties', () => {
  it("'msgpack' decode(encode(x)) equals x for structured-clone-able values", () => {
    fc.assert(
      fc.property(tree, (value) => {
        expectSame(viaSlab(msgpack, value), value);
      }),
      { numRuns: 400 },
    );
  });

  it("'v8' decode(encode(x)) equals x", () => {
    fc.assert(
      fc.property(tree, (value) => {
        expectSame(viaSlab(v8c, value), value);
      }),
      { numRuns: 200 },
    );
  });

  it("'json' decode(encode(x)) equals x for JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // JSON writes -0 as 0, the only value fc.jsonValue() makes that JSON does not keep as is.
        const decoded = viaSlab(json, value);
        expect(JSON.stringify(decoded)).toBe(JSON.stringify(value));
        expectSame(decoded, JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
// Custom codecs

describe('resolveCodec validation', () => {
  const ok = {
    name: 'mine',
    encode: (v: unknown) => Buffer.from(String(v)),
    decode: (b: Uint8Array) => Buffer.from(b).toString(),
  };

  it('rejects unknown names and non-objects', () => {
    expect(codeOf(() => resolveCodec('yaml' as CodecName))).toBe('ERR_INVALID_ARG_VALUE');
    expect(() => resolveCodec('yaml' as CodecName)).toThrow(/options\.codec/);
    for (const bad of [null, 1, true, () => 1]) {
      expect(codeOf(() => resolveCodec(bad as unknown as Codec))).toBe('ERR_INVALID_ARG_TYPE');
      expect(() => resolveCodec(bad as unknown as Codec)).toThrow(/options\.codec/);
    }
  });

  it('validates custom codec fields', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...ok, name: undefined }, 'ERR_INVALID_ARG_TYPE'],
      [{ ...ok, name: 7 }, 'ERR_INVALID_ARG_TYPE'],
      [{ ...ok, name: '' }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, name: 'x'.repeat(32) }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, name: 'has space' }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, name: 'ünï' }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, name: 'msgpack' }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, name: 'raw' }, 'ERR_INVALID_ARG_VALUE'],
      [{ ...ok, encode: undefined }, 'ERR_INVALID_ARG_TYPE'],
      [{ ...ok, decode: 'no' }, 'ERR_INVALID_ARG_TYPE'],
      [{ ...ok, borrowsInput: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [codec, code] of cases) {
      expect(codeOf(() => resolveCodec(codec as unknown as Codec))).toBe(code);
      expect(() => resolveCodec(codec as unknown as Codec)).toThrow(/options\.codec/);
    }
    expect(resolveCodec({ ...ok, name: 'x'.repeat(31) }).name).toHaveLength(31);
    expect(resolveCodec({ ...ok, name: 'a-b_c.d:1' }).name).toBe('a-b_c.d:1');
  });

  it('wraps a custom codec: borrowsInput defaults to true, encode result is checked', () => {
    const wrapped = resolveCodec(ok);
    expect(wrapped).not.toBe(ok);
    expect(wrapped.name).toBe('mine');
    expect(wrapped.borrowsInput).toBe(true);
    expect(resolveCodec({ ...ok, borrowsInput: false }).borrowsInput).toBe(false);
    expect(wrapped.decode(wrapped.encode('hi'))).toBe('hi');

    for (const result of ['str', [1], new Uint16Array(2), new ArrayBuffer(2), undefined]) {
      const bad = resolveCodec({ name: 'bad', encode: () => result as unknown as Uint8Array, decode: () => 1 });
      let error: unknown;
      try {
        bad.encode(1);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
      expect((error as Error).message).toContain('"bad"');
    }
  });

  it('calls custom encode/decode with the codec as this', () => {
    const codec = {
      name: 'withThis',
      prefix: 'p:',
      encode(this: { prefix: string }, v: unknown): Uint8Array {
        return Buffer.from(this.prefix + String(v));
      },
      decode(this: { prefix: string }, b: Uint8Array): unknown {
        return Buffer.from(b).toString().slice(this.prefix.length);
      },
    };
    const wrapped = resolveCodec(codec as Codec);
    expect(wrapped.decode(wrapped.encode('v'))).toBe('v');
  });
});
