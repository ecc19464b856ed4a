// Helpers shared by the orchestrator (bench/run.mjs) and every benchmark process.
//
// Clock: process.hrtime() is CLOCK_MONOTONIC, which is one clock for the whole machine, so the
// orchestrator hands every process the same absolute instants (warm-up end, run end) and each
// process compares its own hrtime with them. BENCH_CLOCK_BASE (ns, a decimal string) keeps the
// numbers small enough for doubles.
import { setTimeout as sleep } from 'node:timers/promises';

const BASE = BigInt(process.env.BENCH_CLOCK_BASE ?? String(process.hrtime.bigint()));
export const CLOCK_BASE = String(BASE);

/** Milliseconds since the shared clock base (sub-microsecond resolution). */
export function now() {
  return Number(process.hrtime.bigint() - BASE) / 1e6;
}

export { sleep };

/** A rate for a table: 1.23M, 45.6k, 336k; '—' for none. */
export function si(v) {
  if (!(v > 0)) return '—';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 1 : 2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e5 ? 0 : 1)}k`;
  return v.toFixed(0);
}

/** The median of the finite values of `xs` (NaN when there are none). */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Command-line parsing shared by the bench scripts: `--help` prints `usage` and exits 0; the
 * returned `positive(value, name, fallback)` reads an option that must be a positive integer
 * (exit 2 with the usage otherwise).
 */
export function commandLine(opts, usage) {
  if (opts.help) {
    console.log(usage);
    process.exit(0);
  }
  return {
    positive(v, name, fallback) {
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        console.error(`--${name} must be a positive integer\n\n${usage}`);
        process.exit(2);
      }
      return n;
    },
  };
}

/** The sequence number a byte message carries in its first 4 bytes (little-endian). */
export function seqOf(bytes) {
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
}

/** Writes `seq` into the first 4 bytes and, for messages of 8 bytes or more, the last 4. */
export function stamp(bytes, seq) {
  bytes[0] = seq;
  bytes[1] = seq >>> 8;
  bytes[2] = seq >>> 16;
  bytes[3] = seq >>> 24;
  const n = bytes.length;
  if (n >= 8) {
    bytes[n - 4] = seq;
    bytes[n - 3] = seq >>> 8;
    bytes[n - 2] = seq >>> 16;
    bytes[n - 1] = seq >>> 24;
  }
}

/** {@link stamp} for the `size`-byte message at `off` inside a larger buffer (no view needed). */
export function stampAt(buf, off, size, seq) {
  buf[off] = seq;
  buf[off + 1] = seq >>> 8;
  buf[off + 2] = seq >>> 16;
  buf[off + 3] = seq >>> 24;
  if (size >= 8) {
    const e = off + size - 4;
    buf[e] = seq;
    buf[e + 1] = seq >>> 8;
    buf[e + 2] = seq >>> 16;
    buf[e + 3] = seq >>> 24;
  }
}

/** The cheap content check of a byte message: its size and both copies of its sequence number. */
export function checkBytes(bytes, seq, size) {
  if (bytes.length !== size || seqOf(bytes) !== seq) return false;
  if (size < 8) return true;
  const n = size - 4;
  return (bytes[n] | (bytes[n + 1] << 8) | (bytes[n + 2] << 16) | (bytes[n + 3] << 24)) >>> 0 === seq;
}

// A byte-transport end marker: 12 bytes, "END!" then the count (u64 LE). Data messages in these
// benchmarks are 64 bytes or 1 MiB, so the length alone tells them apart.
export const END_SIZE = 12;
export function endBytes(count) {
  const b = Buffer.alloc(END_SIZE);
  b.write('END!', 0, 'latin1');
  b.writeUInt32LE(count >>> 0, 4);
  b.writeUInt32LE(Math.floor(count / 2 ** 32), 8);
  return b;
}
/** The count an end marker carries, or -1 for a data message. */
export function endCount(bytes) {
  if (bytes.length !== END_SIZE || bytes[0] !== 0x45 || bytes[3] !== 0x21) return -1;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b.readUInt32LE(4) + b.readUInt32LE(8) * 2 ** 32;
}

/** The S2 message: a small object, as in the issue. */
export function makeObject(i) {
  return { id: i, name: `item-${i}`, tags: ['a', 'b'], value: i * 1.5 };
}
export function checkObject(o, i) {
  return o.id === i && o.value === i * 1.5 && o.tags.length === 2 && o.name.length === 5 + String(i).length;
}

/** A 64-character string message for transports that carry strings ('json' IPC): 10 digits + fill. */
const FILL = 'x'.repeat(1024);
export function makeString(seq, size) {
  return String(seq).padStart(10, '0') + FILL.slice(0, size - 10);
}
export function checkString(s, seq, size) {
  return s.length === size && Number(s.slice(0, 10)) === seq;
}

/** A tiny deterministic marker to say a process of role R hit a content error. */
export class ContentError extends Error {
  constructor(what, got, want) {
    super(`${what}: message ${got} arrived where ${want} was expected (lost, reordered or corrupted)`);
  }
}

/**
 * Throughput accounting on the receiving side. Call `tick()` every `stride` messages (the caller
 * counts); it reads the clock until the warm-up instant passes and then never again, so the hot
 * loop pays one comparison. `finish(count)` closes the window when the end marker arrives.
 */
export class Window {
  constructor(tWarm) {
    this.tWarm = tWarm;
    this.c0 = -1;
    this.t0 = 0;
  }
  /** `received` messages so far. Returns true once the measured window has started. */
  tick(received) {
    if (this.c0 >= 0) return true;
    const t = now();
    if (t < this.tWarm) return false;
    this.c0 = received;
    this.t0 = t;
    return true;
  }
  finish(received, bytesPerMessage = 0) {
    const t1 = now();
    if (this.c0 < 0) {
      // The whole run fit in the warm-up (a very slow transport): measure nothing rather than lie.
      return { received, measured: 0, seconds: 0, t0: t1, t1 };
    }
    const measured = received - this.c0;
    return { received, measured, seconds: (t1 - this.t0) / 1000, t0: this.t0, t1, bytes: measured * bytesPerMessage };
  }
}

/** Latency samples (ns) of a ping-pong client; summarised into percentiles in µs. */
export class Samples {
  constructor() {
    this.buf = new Float64Array(1 << 16);
    this.n = 0;
  }
  add(v) {
    if (this.n === this.buf.length) {
      const more = new Float64Array(this.buf.length * 2);
      more.set(this.buf);
      this.buf = more;
    }
    this.buf[this.n++] = v;
  }
  summary() {
    const s = this.buf.subarray(0, this.n).sort();
    const at = (p) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))] / 1000);
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[i];
    return {
      samples: s.length,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      mean: s.length ? sum / s.length / 1000 : NaN,
    };
  }
}

/** ns timestamp for latency samples (hrtime, as a double). */
export function nowNs() {
  return Number(process.hrtime.bigint() - BASE);
}
