// The package as users get it: build the prebuild, pack the tarball, install it into a scratch
// project whose PATH holds only `node` and `npm` (no cc, c++, make or python), with and without
// install scripts, and prove the installed copy loads the prebuild (nothing was compiled) and moves
// a value between two node processes that import it by name, one with `import`, one with `require`.
//
// Everything happens in a staged copy under the temp dir: prebuildify runs `node-gyp rebuild`, and
// doing that in the checkout would delete build/ under the other test files' feet.
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './helpers.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'shm-queue-pack-'));
const stage = join(work, 'stage');
const onlyNodeBin = join(work, 'bin');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Math.round(performance.now() - start) });
      },
    );
  });
}

function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** This process's environment without npm's run-script variables (npm_config_local_prefix, ...), which would point npm back at the checkout. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|NODE_OPTIONS$|PREBUILDS_ONLY$|SHM_QUEUE_PREBUILD$|VITEST)/i.test(k)) env[k] = v;
  }
  return env;
}

/**
 * For building: node-gyp must not download headers (nodejs.org is out of reach here). The running
 * node's own headers (`<prefix>/include/node`) serve every N-API build: NAPI_VERSION=8 in
 * binding.gyp limits the API to what the 20.19.0 floor has, whatever the headers' version.
 */
function buildEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv();
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env['npm_config_nodedir'] = prefix;
  return env;
}

/** What a user without build tools has: a PATH with `node`, `npm` and `sh` only. HOME keeps npm's cache and config. */
function compilerFreeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: onlyNodeBin, HOME: process.env['HOME'], LANG: 'C.UTF-8' };
  if (process.env['TMPDIR']) env['TMPDIR'] = process.env['TMPDIR'];
  return env;
}

function npmCli(): string {
  // The npm that runs this suite (or the one beside node), resolved to its real file.
  const candidates = [process.env['npm_execpath'], join(dirname(process.execPath), 'npm')].filter(
    (p): p is string => !!p && existsSync(p),
  );
  if (candidates.length === 0) throw new Error('npm not found');
  return realpathSync(candidates[0] as string);
}

/**
 * Release mode (release.yml's publish job sets SHM_QUEUE_TEST_RELEASE=1): pack the prebuilds the
 * matrix built, already in the checkout's prebuilds/, instead of building this machine's one.
 */
const releaseMode = process.env['SHM_QUEUE_TEST_RELEASE'] === '1';
const RELEASE_PREBUILDS = [
  'linux-arm64/shm-queue.glibc.node',
  'linux-arm64/shm-queue.musl.node',
  'linux-x64/shm-queue.glibc.node',
  'linux-x64/shm-queue.musl.node',
].map((p) => `prebuilds/${p}`);

const target = `${process.platform}-${process.arch}`;
const libc = process.env['LIBC'] || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
const prebuild = `prebuilds/${target}/shm-queue.${libc}.node`;

let tarball = '';
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
const timings: Record<string, number> = {};

beforeAll(async () => {
  // Stage the files a release checkout has (the tarball's inputs), sharing node_modules.
  mkdirSync(stage);
  for (const entry of [
    'package.json',
    'README.md',
    'LICENSE',
    'binding.gyp',
    'tsconfig.build.json',
    'native',
    'src',
    'scripts',
    'bin',
  ]) {
    cpSync(join(repo, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');

  const npm = npmCli();
  if (releaseMode) {
    cpSync(join(repo, 'prebuilds'), join(stage, 'prebuilds'), { recursive: true });
    ok(
      await run(process.execPath, [npm, 'run', 'verify:prebuilds', '--', '--release'], stage, buildEnv()),
      'npm run verify:prebuilds -- --release',
    );
  } else {
    const build = ok(
      await run(process.execPath, [npm, 'run', 'prebuildify'], stage, buildEnv()),
      'npm run prebuildify',
    );
    timings['prebuildify'] = build.ms;
    ok(await run(process.execPath, [npm, 'run', 'verify:prebuilds'], stage, buildEnv()), 'npm run verify:prebuilds');
  }
  // A real pack: runs `prepare` (tsc into dist/), as `npm publish` does.
  const pack = ok(
    await run(process.execPath, [npm, 'pack', '--json', '--pack-destination', work], stage, buildEnv()),
    'npm pack',
  );
  timings['pack'] = pack.ms;
  const info = JSON.parse(pack.stdout) as [
    { filename: string; size: number; unpackedSize: number; files: { path: string }[] },
  ];
  packed = info[0];
  tarball = join(work, packed.filename);

  // The compiler-free PATH: symlinks to node and npm, plus `sh`, which npm needs to run any
  // lifecycle script (every machine has one; it compiles nothing). npm's `#!/usr/bin/env node`
  // finds node here too.
  mkdirSync(onlyNodeBin);
  symlinkSync(realpathSync(process.execPath), join(onlyNodeBin, 'node'));
  symlinkSync(npm, join(onlyNodeBin, 'npm'));
  symlinkSync(realpathSync('/bin/sh'), join(onlyNodeBin, 'sh'));
}, 150_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (Object.keys(timings).length > 0)
    console.log(
      `package test timings (ms): ${JSON.stringify(timings)}; tarball ${packed?.size} B packed, ${packed?.unpackedSize} B unpacked`,
    );
});

describe('the packed tarball', () => {
  it('holds dist, types, native sources and the prebuild, and nothing else', async () => {
    const r = ok(
      await run(process.execPath, [npmCli(), 'pack', '--dry-run', '--json', '--ignore-scripts'], stage, buildEnv()),
      'npm pack --dry-run',
    );
    const files = (JSON.parse(r.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path).sort();
    for (const expected of [
      'package.json',
      'README.md',
      'binding.gyp',
      'native/layout.h',
      'native/queue.cc',
      'native/binding/init.cc',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/native/loader.js',
      'dist/native/loader.d.ts',
      'dist/cli/index.js',
      prebuild,
    ]) {
      expect(files).toContain(expected);
    }
    // src/**/*.ts ships on purpose: dist's source maps and declaration maps point at it.
    expect(files).toContain('src/index.ts');
    for (const file of files) {
      expect(file).toMatch(
        /^(package\.json|README\.md|LICENSE|binding\.gyp|native\/([a-z_]+\/)?[a-z_]+\.(cc|h)|dist\/([a-z]+\/)?[a-z0-9_-]+\.(js|d\.ts)(\.map)?|src\/([a-z]+\/)?[a-z0-9_-]+\.ts|bin\/shm-queue\.js|prebuilds\/[a-z0-9]+-[a-z0-9]+\/shm-queue\.(glibc|musl)\.node)$/,
      );
    }
    expect(files.filter((f) => f.startsWith('prebuilds/'))).toEqual(releaseMode ? RELEASE_PREBUILDS : [prebuild]);
    // Same list as the real pack.
    expect(packed.files.map((f) => f.path).sort()).toEqual(files);
  });

  it('passes publint --strict', async () => {
    const publint = join(repo, 'node_modules', 'publint', 'src', 'cli.js');
    const r = ok(await run(process.execPath, [publint, '--strict'], stage, buildEnv()), 'publint');
    expect(r.stdout).toContain('All good!');
  });
});

describe.each([
  { label: 'with install scripts', flags: [] as string[] },
  { label: 'with --ignore-scripts', flags: ['--ignore-scripts'] },
])('installed from the tarball with no compiler, $label', ({ label, flags }) => {
  const project = join(work, label.replace(/\W+/g, '-'));

  beforeAll(async () => {
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    // Nothing to compile with: the install must not need it.
    const tools = await run(
      '/bin/sh',
      ['-c', 'for t in cc c++ gcc g++ make python python3; do command -v $t; done; exit 0'],
      project,
      compilerFreeEnv(),
    );
    expect(tools.stdout.trim()).toBe('');

    const r = await run(
      join(onlyNodeBin, 'npm'),
      ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...flags],
      project,
      compilerFreeEnv(),
    );
    timings[`install ${label}`] = r.ms;
    ok(r, `npm install ${flags.join(' ')}`);
    if (flags.length === 0) {
      // The install script ran (node-gyp-build found the prebuild and stopped there).
      expect(r.stdout + r.stderr).toMatch(/shm-queue@[^ ]+ install[\s\S]*node-gyp-build/);
    }
    expect(r.stdout + r.stderr).not.toMatch(/gyp info|node-gyp rebuild/);
  }, 120_000);

  it('loads the prebuild: nothing was compiled', async () => {
    const installed = join(project, 'node_modules', 'shm-queue');
    expect(existsSync(join(installed, 'package.json'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false);
    const r = ok(
      await run(
        `${onlyNodeBin}/node`,
        ['-p', `require('node-gyp-build').path(${JSON.stringify(installed)})`],
        project,
        compilerFreeEnv(),
      ),
      'node-gyp-build path',
    );
    expect(r.stdout.trim()).toBe(join(installed, prebuild));
  });

  it('moves a value between two processes: import in one, require in the other', async () => {
    const name = uniqueName(`pack${flags.length}`);
    const producer = `import { Queue } from 'shm-queue';
      const q = Queue.create(${JSON.stringify(name)}, { maxsize: 4 });
      q.putSync({ from: 'esm', pid: process.pid, at: new Date(0), big: 2n ** 70n });
      q.close();`;
    const consumer = `const { Queue } = require('shm-queue');
      const q = Queue.open(${JSON.stringify(name)});
      const v = q.getSync({ timeout: 5000 });
      q.close();
      Queue.unlink(${JSON.stringify(name)});
      console.log(JSON.stringify({ from: v.from, pid: v.pid, date: v.at instanceof Date, big: String(v.big), me: process.pid }));`;
    try {
      ok(
        await run(`${onlyNodeBin}/node`, ['--input-type=module', '-e', producer], project, compilerFreeEnv()),
        'ESM producer',
      );
      const r = ok(await run(`${onlyNodeBin}/node`, ['-e', consumer], project, compilerFreeEnv()), 'CommonJS consumer');
      const got = JSON.parse(r.stdout.trim()) as { from: string; pid: number; date: boolean; big: string; me: number };
      expect(got).toMatchObject({ from: 'esm', date: true, big: String(2n ** 70n) });
      expect(got.pid).not.toBe(got.me);
    } finally {
      rmSync(`/dev/shm/shm-queue.${name}`, { force: true });
    }
  });
});

// The fallback: the tarball carries what a compile needs (binding.gyp, native sources,
// node-addon-api as a dependency), and --build-from-source forces it even though a prebuild fits.
describe('installed from the tarball with --build-from-source (build tools present)', () => {
  const project = join(work, 'from-source');

  it('compiles build/Release and loads it instead of the prebuild', async () => {
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    const r = await run(
      process.execPath,
      [
        npmCli(),
        'install',
        tarball,
        '--build-from-source',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--foreground-scripts',
      ],
      project,
      buildEnv(),
    );
    timings['install --build-from-source'] = r.ms;
    ok(r, 'npm install --build-from-source');
    const installed = join(project, 'node_modules', 'shm-queue');
    const binary = join(installed, 'build', 'Release', 'shm_queue.node');
    expect(existsSync(binary)).toBe(true);
    const loaded = ok(
      await run(
        process.execPath,
        [
          '-e',
          `const { Queue } = require('shm-queue'); console.log(typeof Queue.create, require('node-gyp-build').path(${JSON.stringify(installed)}))`,
        ],
        project,
        cleanEnv(),
      ),
      'load the compiled addon',
    );
    expect(loaded.stdout.trim()).toBe(`function ${binary}`);
  }, 120_000);
});

// Keep the staged inputs honest: each entry of package.json "files" must exist in the stage.
it('stages every entry of package.json "files"', () => {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of pkg.files) expect(existsSync(join(stage, entry.split('*')[0] as string)), entry).toBe(true);
});
