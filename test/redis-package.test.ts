// How the Redis backend ships: the `shm-queue/redis` sub-path (ESM import and CommonJS require,
// through package.json `exports`), ioredis loaded only by that sub-path, and one clear error when
// ioredis is not installed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST, DIST_REDIS } from './redis-server.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'shmq-redis-pkg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function node(args: string[], cwd = repo): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env['NODE_PATH'];
  const r = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the shm-queue/redis sub-path', () => {
  it('importing the main entry never loads ioredis; importing the sub-path does', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const require = createRequire(import.meta.url);
       const ioredisLoaded = () => Object.keys(require.cache).some((p) => p.includes('/node_modules/ioredis/'));
       await import(${JSON.stringify(DIST)});
       const afterMain = ioredisLoaded();
       await import(${JSON.stringify(DIST_REDIS)});
       console.log(JSON.stringify({ afterMain, afterRedis: ioredisLoaded() }));`,
    ]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ afterMain: false, afterRedis: true });
  });

  it('resolves by package name from ESM and CommonJS (require of the ES module)', () => {
    const esm = node([
      '--input-type=module',
      '-e',
      `import * as r from 'shm-queue/redis'; console.log(typeof r.RedisQueue.create, typeof r.RedisJoinableQueue.open);`,
    ]);
    expect(esm.stdout.trim()).toBe('function function');
    const cjs = node([
      '-e',
      `const r = require('shm-queue/redis'); console.log(typeof r.RedisQueue.create, r.QueueFullError === require('shm-queue').QueueFullError);`,
    ]);
    expect(cjs.stderr.replace(/.*ExperimentalWarning.*\n?|.*--trace-warnings.*\n?/g, '')).toBe('');
    expect(cjs.stdout.trim()).toBe('function true');
  });

  it('without ioredis installed, importing it throws one error that says what to install', () => {
    // A project that has shm-queue (and its own dependency msgpackr) but not ioredis.
    const project = join(scratch, 'project');
    const pkg = join(project, 'node_modules', 'shm-queue');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
    cpSync(join(repo, 'dist'), join(pkg, 'dist'), { recursive: true });
    symlinkSync(join(repo, 'node_modules', 'msgpackr'), join(project, 'node_modules', 'msgpackr'));
    writeFileSync(join(project, 'package.json'), '{ "name": "app", "private": true, "type": "module" }');
    const r = node(
      [
        '--input-type=module',
        '-e',
        `try { await import('shm-queue/redis'); console.log('loaded'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`,
      ],
      project,
    );
    const e = JSON.parse(r.stdout) as { name: string; code: string; message: string };
    expect(e).toMatchObject({ name: 'RedisClientMissingError', code: 'ERR_SHM_QUEUE_REDIS_MISSING' });
    expect(e.message).toContain('npm install ioredis');
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('package.json declares ioredis as an optional peer dependency and exports ./redis with types', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    expect(pkg.peerDependenciesMeta.ioredis.optional).toBe(true);
    expect(pkg.peerDependencies.ioredis).toBeTruthy();
    expect(pkg.dependencies.ioredis).toBeUndefined();
    expect(pkg.exports['./redis']).toEqual({ types: './dist/redis/index.d.ts', default: './dist/redis/index.js' });
  });
});
