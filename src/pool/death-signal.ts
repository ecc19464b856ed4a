/**
 * The kernel's parent-death signal for the pool's workers: `prctl(PR_SET_PDEATHSIG, SIGKILL)` set
 * in the worker between fork and exec, by util-linux's `setpriv --pdeathsig KILL`. Node's `spawn`
 * cannot set it, and a worker cannot set it on itself from JavaScript.
 *
 * Why: a worker learns that the pool's process died from end-of-file on its stdin, which needs
 * the worker's own JavaScript to run. A worker stuck before that (Node 20 blocks forever in its
 * platform start-up when it cannot create its threads, a preload that never returns) would
 * outlive a pool's process that was killed (SIGKILL, or a signal it does not handle, so its exit
 * handler never ran). The kernel kills it instead.
 *
 * Where `setpriv` is missing or cannot set the signal (an old util-linux, a seccomp filter), the
 * workers start without it and the stdin rule is all there is.
 *
 * Internal to the pool: not exported from the package.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const FALLBACK_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

let prefix: readonly string[] | undefined;

function findSetpriv(): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d.startsWith('/')), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const file = join(dir, 'setpriv');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * The command words to put before `node` so that the worker is SIGKILLed when the thread that
 * spawned it (the pool's event loop thread) dies; empty when this machine cannot. Probed once per
 * process (one short `setpriv` run).
 */
export function deathSignalPrefix(): readonly string[] {
  if (prefix !== undefined) return prefix;
  prefix = [];
  if (process.platform !== 'linux') return prefix;
  const setpriv = findSetpriv();
  if (setpriv === null) return prefix;
  const words = [setpriv, '--pdeathsig', 'KILL', '--'];
  const probe = spawnSync(setpriv, [...words.slice(1), setpriv, '--version'], { stdio: 'ignore', timeout: 10_000 });
  if (probe.status === 0) prefix = Object.freeze(words);
  // No process to spare right now (RLIMIT_NPROC): ask again for the next pool.
  else if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'EAGAIN') {
    prefix = undefined;
    return [];
  }
  return prefix;
}
