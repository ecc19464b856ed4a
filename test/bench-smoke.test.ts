// Keeps the benchmark harness (bench/) from rotting: one scenario, one shm-queue case and one
// peer, with a tiny time budget, then the shape of results.json and results.svg. It checks that
// the harness runs, not how fast anything is: benchmarks never run from `npm test`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeRedis } from './redis-server.js';

const RUN = fileURLToPath(new URL('../bench/run.mjs', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'shm-queue-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs a bench script (node `script` `args`); resolves with its exit code and output. */
function node(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: timeoutMs }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs bench/run.mjs with `args` (and `--out dir`). */
const bench = (args: string[], dir: string) => node(RUN, [...args, '--out', dir], 14_000);

describe('bench harness (smoke)', () => {
  it('runs one scenario with one peer and writes results.json and results.svg', async () => {
    const args = ['--only', 'S1', '--cases', 'shm-sync,fork-json', '--runs', '1', '--warm', '50', '--time', '150'];
    const { code, stdout, stderr } = await bench([...args, '--no-micro'], out);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('### S1');
    expect(stdout).toContain('target S1');

    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(report).toMatchObject({ mode: 'full', timing: { runs: 1, warmMs: 50, measureMs: 150 } });
    expect(report.machine).toEqual(
      expect.objectContaining({
        cpu: expect.any(String),
        cores: expect.any(Number),
        kernel: expect.any(String),
        node: process.version,
      }),
    );
    expect(report.scenarios).toHaveLength(1);
    const [s1] = report.scenarios;
    expect(s1).toMatchObject({ id: 'S1', metric: 'msgs', unit: 'msgs/s' });
    expect(s1.cases.map((c: { id: string }) => c.id)).toEqual(['shm-sync', 'fork-json']);
    for (const c of s1.cases) {
      expect(c.value).toBeGreaterThan(0);
      expect(c.runs).toHaveLength(1);
      expect(c.runs[0]).toEqual(expect.objectContaining({ msgsPerSec: c.value, sent: expect.any(Number) }));
      expect(c.runs[0].messages).toBeGreaterThan(0);
    }
    expect(s1.ratios).toEqual([
      { shm: 'shm-sync', peer: 'fork-json', better: expect.any(Number), perRound: [expect.any(Number)] },
    ]);
    expect(s1.ratios[0].better).toBeGreaterThan(0);
    expect(s1.targets[0]).toEqual(
      expect.objectContaining({ shm: 'shm-sync', peer: 'fork-json', met: expect.any(Boolean) }),
    );

    const svg = readFileSync(join(out, 'results.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('S1: 64-byte messages');
    expect(svg.match(/<rect [^>]*class="(shm|peer)"/g)).toHaveLength(2);
  }, 15_000);
});

describeRedis('bench harness, Redis scenario (smoke)', () => {
  it('measures the CPU time per message of the server and of the clients', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shm-queue-bench-smoke-redis-'));
    try {
      const args = ['--only', 'R1', '--cases', 'redis,lpush', '--runs', '1', '--warm', '100', '--time', '400'];
      const { code, stdout, stderr } = await bench([...args, '--no-micro'], dir);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('server CPU µs/msg');
      const [r1] = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).scenarios;
      expect(r1.cases.map((c: { id: string }) => c.id)).toEqual(['redis', 'lpush']);
      for (const c of r1.cases) {
        // Both sides do work for every message: neither figure can be zero or missing.
        expect(c.serverUsPerMsg).toBeGreaterThan(0);
        expect(c.clientUsPerMsg).toBeGreaterThan(0);
        expect(c.runs[0]).toEqual(
          expect.objectContaining({ serverUsPerMsg: c.serverUsPerMsg, clientUsPerMsg: c.clientUsPerMsg }),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 15_000);

  it('bench:redis-bounds runs each direction alone beside the pair, for RedisQueue and BullMQ', async () => {
    const bounds = fileURLToPath(new URL('../bench/redis-bounds.mjs', import.meta.url));
    const { code, stdout, stderr } = await node(bounds, ['--runs', '1', '--warm', '100', '--time', '300'], 55_000);
    expect(code, stderr).toBe(0);
    // One row per case, each with a rate, both CPU figures and a ratio to BullMQ's pair.
    const rows = stdout.split('\n').filter((l) => /^\| (\*\*)?(RedisQueue|BullMQ)/.test(l));
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toMatch(/\| [\d.]+k? \|.*\| [\d.]+ \| [\d.]+ \| [\d.]+x \|$/);
    expect(stdout).toMatch(
      /cannot beat its slower direction alone: at most [\d.]+k? msgs\/s here, [\d.]+x BullMQ's pair/,
    );
  }, 60_000);
});
