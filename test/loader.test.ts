// The loader's failure path: when no native binary fits, importing the package must fail with one
// NativeLoadError (code ERR_SHM_QUEUE_NATIVE_LOAD) that says what to try, for `import` and for
// `require` alike. node-gyp-build's own override, SHM_QUEUE_PREBUILD=<dir>, points the search at
// a folder of our choosing; each case runs in a child process because the addon loads once.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'shm-queue-loader-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Report {
  name: string;
  code: string;
  message: string;
  binary: string | null;
  cause: string;
}

const REPORT = `(err) => { console.log(JSON.stringify({ name: err.name, code: err.code, message: err.message, binary: err.binary ?? null, cause: String(err.cause?.message) })); }`;

function loadWith(prebuildDir: string, via: 'import' | 'require'): Report {
  const env = { ...process.env, SHM_QUEUE_PREBUILD: prebuildDir };
  const args =
    via === 'import'
      ? ['--input-type=module', '-e', `import(${JSON.stringify(DIST)}).then(() => console.log('null'), ${REPORT});`]
      : [
          '-e',
          `try { require(${JSON.stringify(fileURLToPath(DIST))}); console.log('null'); } catch (err) { (${REPORT})(err); }`,
        ];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  const report = JSON.parse(r.stdout.trim()) as Report | null;
  if (report === null) throw new Error('the package loaded, but no binary should have been found');
  return report;
}

describe('native loader', () => {
  it.each(['import', 'require'] as const)('no binary fits: one actionable NativeLoadError (%s)', (via) => {
    const empty = join(scratch, `empty-${via}`);
    mkdirSync(empty);
    const err = loadWith(empty, via);
    expect(err.name).toBe('NativeLoadError');
    expect(err.code).toBe('ERR_SHM_QUEUE_NATIVE_LOAD');
    expect(err.binary).toBeNull();
    // What the system is, and what to do about it.
    expect(err.message).toContain(`${process.platform}-${process.arch}`);
    expect(err.message).toMatch(/\((glibc|musl)[^)]*\)/);
    expect(err.message).toContain(`Node.js ${process.version}`);
    expect(err.message).toContain('npm rebuild shm-queue --build-from-source');
    expect(err.message).toContain('Supported platforms');
    // node-gyp-build's original error is kept as the cause, not printed as the message.
    expect(err.cause).toContain('No native build was found');
  });

  it('a binary that fails to load is named, with the dlopen error as the cause', () => {
    const broken = join(scratch, 'broken');
    const dir = join(broken, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'shm-queue.glibc.node');
    writeFileSync(file, 'not an ELF file');
    writeFileSync(join(dir, 'shm-queue.musl.node'), 'not an ELF file');
    const err = loadWith(broken, 'import');
    expect(err.code).toBe('ERR_SHM_QUEUE_NATIVE_LOAD');
    expect(err.binary).toMatch(/shm-queue\.(glibc|musl)\.node$/);
    expect(err.message).toContain('was found but failed to load');
    expect(err.cause).toMatch(/invalid ELF header|too short/);
  });
});
