// Helpers of the hostile tests (test/hostile-*.test.ts): another local user, child processes run
// under prlimit / in a private mount namespace / as that user, and the test-hook build.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { inject } from 'vitest';
import { DIST, collect } from './helpers.js';

export const isRoot = process.getuid?.() === 0;

/** The local user the hostile tests act as (created when missing). */
export const HOSTILE_USER = 'shmq-hostile';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

let cached: TestUser | string | undefined;

/** The hostile user, created with useradd if missing; or why the machine refuses (printed). */
export function hostileUser(): TestUser | string {
  if (cached !== undefined) return cached;
  const lookup = (): TestUser => {
    const uid = Number(execFileSync('id', ['-u', HOSTILE_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', HOSTILE_USER], { encoding: 'utf8' }).trim());
    return { name: HOSTILE_USER, uid, gid };
  };
  if (!isRoot) {
    cached = 'not root: cannot create or switch to another user';
  } else {
    try {
      cached = lookup();
    } catch {
      try {
        execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', HOSTILE_USER], {
          stdio: 'pipe',
        });
        cached = lookup();
      } catch (error) {
        cached = `useradd ${HOSTILE_USER} failed: ${(error as Error).message}`;
      }
    }
  }
  if (typeof cached === 'string') console.warn(`hostile tests that need another user are skipped: ${cached}`);
  return cached;
}

/** Can this machine make a private mount namespace with a tmpfs in it? ('' yes, else why not.) */
export function mountNamespaceRefusal(): string {
  if (!isRoot) return 'not root';
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], {
      stdio: 'pipe',
    });
    return '';
  } catch (error) {
    return `unshare -m / mount refused: ${(error as Error).message}`;
  }
}

export interface SpawnOptions {
  /** Run as this user (uid/gid switch by spawn). */
  user?: TestUser;
  /** A command (and its arguments) that runs node: e.g. ['prlimit', '--nproc=40', '--']. */
  wrapper?: string[];
  env?: NodeJS.ProcessEnv;
  stdin?: boolean;
  /** Load the test-hook build of the addon (testLockAndTear, testHoldLock) as `addon`. */
  hooks?: boolean;
}

/**
 * Runs `code` as an ES module in a separate `node` process, like helpers.spawnNode: the package's
 * exports are in scope as `shm` (and `Queue`, `JoinableQueue`), `ARGS` is `args`, and with
 * `hooks` the raw test-hook addon is `addon`.
 */
export function spawnHostile(code: string, args: unknown, options: SpawnOptions = {}): ChildProcess {
  const binding = new URL('../dist/native/index.js', import.meta.url).href;
  const source =
    `import * as shm from ${JSON.stringify(DIST)};\n` +
    (options.hooks ? `import { addon } from ${JSON.stringify(binding)};\n` : '') +
    `const { Queue, JoinableQueue } = shm;\nconst ARGS = ${JSON.stringify(args)};\n${code}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.hooks) {
    env['SHM_QUEUE_ADDON'] = inject('hookAddon');
    env['SHM_QUEUE_TEST_HOOKS'] = '1';
  }
  const argv = [process.execPath, '--input-type=module', '-e', source];
  const [cmd, ...rest] = [...(options.wrapper ?? []), ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
  });
  // Start recording its output and end now (helpers.collect), so that a later collect() of a child
  // that has already ended does not wait for a 'close' event that was emitted before it asked.
  void collect(child, 10 * 60_000);
  return child;
}

/** A wrapper that runs node in a private mount namespace after `setup` (shell commands, as root),
 *  optionally switching to `user` afterwards (runuser). */
export function inMountNamespace(setup: string, user?: TestUser): string[] {
  const run = user ? `exec runuser -u ${user.name} -- "$@"` : 'exec "$@"';
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${setup} && ${run}`, 'sh'];
}

/** Milliseconds `f` took. */
export function timed<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}
