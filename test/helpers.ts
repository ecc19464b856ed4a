import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, inject } from 'vitest';
import { Queue } from '../src/index.js';

/** file:// URL of the built package entry, for child processes (they run plain node, no TS). */
export const DIST = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

let counter = 0;
const created = new Set<string>();

/** A queue name unique to this test run; unlinked after the file's tests, pass or fail. */
export function uniqueName(label = 'q'): string {
  const name = `${inject('testPrefix')}${label}-${process.pid}-${++counter}`;
  created.add(name);
  return name;
}

afterAll(() => {
  for (const name of created) Queue.unlink(name);
  created.clear();
});

export function segmentExists(name: string): boolean {
  return existsSync(`/dev/shm/shm-queue.${name}`);
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `code` as an ES module in a separate `node` process. `Queue`, `JoinableQueue` and every
 * other export are in scope (imported from dist). `args` arrive as the JSON value `ARGS`.
 */
export function spawnNode(code: string, args: unknown = null, options: { stdin?: boolean } = {}): ChildProcess {
  const source = `import * as shm from ${JSON.stringify(DIST)};\nconst { Queue, JoinableQueue } = shm;\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  track(child);
  return child;
}

interface Tracked {
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: string;
  stderr: string;
}
const tracked = new WeakMap<ChildProcess, Tracked>();

/** Records a child's output and end from the moment it is spawned, so that a later `collect()`
 *  never waits for an 'exit' event that has already been emitted. */
function track(child: ChildProcess): Tracked {
  let t = tracked.get(child);
  if (t) return t;
  const state: Tracked = { stdout: '', stderr: '', closed: Promise.resolve({ code: null, signal: null }) };
  child.stdout?.on('data', (d: Buffer | string) => (state.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer | string) => (state.stderr += d.toString()));
  state.closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  tracked.set(child, state);
  t = state;
  return t;
}

/** Runs `code` (see {@link spawnNode}) to completion; kills it after `timeoutMs`. */
export function runNode(code: string, args: unknown = null, timeoutMs = 30_000): Promise<ChildResult> {
  const child = spawnNode(code, args);
  return collect(child, timeoutMs);
}

/** Waits for a child to end (kills it after `timeoutMs`) and returns its whole output. */
export async function collect(child: ChildProcess, timeoutMs = 30_000): Promise<ChildResult> {
  const t = track(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await t.closed;
  clearTimeout(timer);
  return { code, signal, stdout: t.stdout, stderr: t.stderr };
}

/** Reads newline-delimited JSON lines from a child's stdout, one at a time. Rejects (with the
 *  child's exit status and stderr) instead of hanging when the child ends without the line. */
export function lineReader(child: ChildProcess): () => Promise<unknown> {
  let buffer = '';
  let stderr = '';
  let ended: string | null = null;
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const lines: string[] = [];
  child.stderr?.on('data', (d: Buffer | string) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer | string) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.on('close', (code, signal) => {
    ended = `child ended (code ${code}, signal ${signal}) before writing a line; stderr:\n${stderr}`;
    for (const w of waiting.splice(0)) w.reject(new Error(ended));
  });
  return () =>
    new Promise((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      if (ended !== null) return reject(new Error(ended));
      waiting.push({ resolve: (l) => resolve(JSON.parse(l)), reject });
    });
}

/** Asserts a child ended cleanly and returns its stdout parsed as JSON (last line). */
export function okJson(r: ChildResult): unknown {
  if (r.code !== 0) throw new Error(`child failed (code ${r.code}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string);
}

/** A payload whose bytes 0..19 are the SHA-1 of the rest: a torn copy cannot pass {@link intact}. */
export function sealed(size: number): Buffer {
  const b = randomFillSync(Buffer.allocUnsafe(size));
  createHash('sha1').update(b.subarray(20)).digest().copy(b, 0);
  return b;
}

/** Whether a {@link sealed} payload arrived whole. */
export const intact = (b: Buffer): boolean =>
  createHash('sha1').update(b.subarray(20)).digest().equals(b.subarray(0, 20));

/** Polls `what` every 5 ms until it holds; throws after `ms`. */
export async function waitFor(what: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!what()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
