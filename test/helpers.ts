import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll } from 'vitest';
import { Queue } from '../src/index.js';
import { TEST_PREFIX } from './global-setup.js';

/** file:// URL of the built package entry, for child processes (they run plain node, no TS). */
export const DIST = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

let counter = 0;
const created = new Set<string>();

/** A queue name unique to this test run; unlinked after the file's tests, pass or fail. */
export function uniqueName(label = 'q'): string {
  const name = `${TEST_PREFIX}${label}-${process.pid}-${++counter}`;
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
  return spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/** Runs `code` (see {@link spawnNode}) to completion; kills it after `timeoutMs`. */
export function runNode(code: string, args: unknown = null, timeoutMs = 30_000): Promise<ChildResult> {
  const child = spawnNode(code, args);
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 30_000): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained; 'close' follows once they are.
      child.on('close', () => resolve({ code, signal, stdout, stderr }));
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Reads newline-delimited JSON lines from a child's stdout, one at a time. */
export function lineReader(child: ChildProcess): () => Promise<unknown> {
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      const onExit = (): void => reject(new Error('child exited before writing a line'));
      child.once('exit', onExit);
      waiting.push((l) => {
        child.off('exit', onExit);
        resolve(JSON.parse(l));
      });
    });
}

/** Asserts a child ended cleanly and returns its stdout parsed as JSON (last line). */
export function okJson(r: ChildResult): unknown {
  if (r.code !== 0) throw new Error(`child failed (code ${r.code}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string);
}
