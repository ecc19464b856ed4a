/**
 * Loads the native addon through node-gyp-build: the local build in `build/Release` when there is
 * one (a source checkout, or an install that compiled), else the prebuilt binary in
 * `prebuilds/<platform>-<arch>/` that fits this platform and libc. Internal: not exported.
 *
 * When nothing loads, importing the package throws one {@link NativeLoadError} that says what this
 * system is and what to try, instead of a bare `dlopen` or "No native build" stack trace.
 *
 * Loading is synchronous and there is no top-level await anywhere in the package, so
 * `require('shm-queue')` (require(esm), Node >= 20.19 / 22.12) works as well as `import`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './types.js';

/** The stable `code` of a {@link NativeLoadError}. */
export const NATIVE_LOAD_ERROR_CODE = 'ERR_SHM_QUEUE_NATIVE_LOAD';

/**
 * The native addon could not be loaded: no binary fits this system, or the one found failed to
 * load. Thrown while importing the package. `cause` keeps node-gyp-build's or `dlopen`'s error.
 */
export class NativeLoadError extends Error {
  readonly code: typeof NATIVE_LOAD_ERROR_CODE = NATIVE_LOAD_ERROR_CODE;
  /** The binary that was found but failed to load, when there was one. */
  readonly binary: string | undefined;

  constructor(message: string, options: { cause: unknown; binary?: string | undefined }) {
    super(message, { cause: options.cause });
    this.name = 'NativeLoadError';
    this.binary = options.binary;
  }
}

/** The package root: this file is dist/native/loader.js. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface NodeGypBuild {
  (dir: string): unknown;
  path(dir: string): string;
}

/** The libc node-gyp-build looks for (same rule: `LIBC`, else Alpine means musl), with glibc's version when known. */
function describeLibc(): string {
  if (process.platform !== 'linux') return 'n/a';
  const libc = process.env['LIBC'] || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  if (libc !== 'glibc') return libc;
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'glibc';
  } catch {
    return 'glibc';
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.trim() || text;
}

/** Builds the one message a user sees when the addon cannot load; every line says what to do. */
function loadFailure(cause: unknown, binary: string | undefined): NativeLoadError {
  const system = `${process.platform}-${process.arch} (${describeLibc()}), Node.js ${process.version} (N-API ${process.versions.napi ?? '?'})`;
  const lines = [`shm-queue could not load its native addon on ${system}.`];
  if (binary !== undefined) {
    lines.push(`  The binary ${binary} was found but failed to load: ${firstLine(cause)}`);
  } else {
    lines.push('  No binary in prebuilds/ fits this system, and no compiled build/Release/shm_queue.node exists.');
  }
  if (process.platform !== 'linux') {
    lines.push(`  shm-queue needs Linux (POSIX shared memory and futexes); ${process.platform} is not supported.`);
  } else {
    lines.push(
      'What to try:',
      '  - Compile it from the shipped C++ sources: npm rebuild shm-queue --build-from-source',
      '    (needs python3, make and a C++17 compiler: apt-get install python3 make g++, or apk add python3 make g++ on Alpine).',
      '  - If you installed with --ignore-scripts on a system without a prebuilt binary, nothing was compiled: run the rebuild above.',
      '  - Prebuilt binaries cover linux-x64 and linux-arm64 on glibc and musl; other Linux CPUs compile from source.',
      '    See "Supported platforms" in the shm-queue README.',
    );
  }
  return new NativeLoadError(lines.join('\n'), { cause, binary });
}

/** Loads the addon once; a binary of another shm-queue version (one without `probe`) is refused. */
export function loadAddon(): NativeAddon {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as NodeGypBuild;
  let binary: string;
  try {
    // Development only: `npm run test:sanitize` / `test:valgrind` point SHM_QUEUE_ADDON at an
    // instrumented build of the same sources (see scripts/sanitize.sh).
    binary = process.env['SHM_QUEUE_ADDON'] || nodeGypBuild.path(packageRoot);
  } catch (err) {
    throw loadFailure(err, undefined);
  }
  let addon: NativeAddon;
  try {
    addon = require(binary) as NativeAddon;
  } catch (err) {
    throw loadFailure(err, binary);
  }
  if (typeof addon?.QueueHandle !== 'function' || typeof addon.probe !== 'function') {
    throw loadFailure(
      new Error("the module does not export QueueHandle and probe: it is not this version of shm-queue's addon"),
      binary,
    );
  }
  return addon;
}
