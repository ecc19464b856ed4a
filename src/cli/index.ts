#!/usr/bin/env node
/**
 * The `shm-queue` command: see, inspect and clean up queues from the shell.
 *
 * ```
 * shm-queue ls [PATTERN...]        every queue on the machine, one line each
 * shm-queue stat NAME              one queue's counters and header facts
 * shm-queue peek NAME [-n 10]      the next messages, decoded, without removing them
 * shm-queue rm NAME... [--force]   remove queues (refuses while live processes use them)
 * shm-queue gc [--older-than 1h]   remove queues no live process has used for a while
 * ```
 *
 * Exit codes: 0 success, 1 operational failure (no such queue, refused, unreadable, permission
 * denied), 2 usage error. Every command that prints data takes `--json` for scripts.
 *
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CliIO, defaultIO, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './common.js';
import { cmdGc } from './gc.js';
import { HELP, help, MAIN_HELP } from './help.js';
import { cmdLs } from './ls.js';
import { cmdPeek } from './peek.js';
import { REDIS_COMMANDS, runRedis, wantsRedis } from './redis.js';
import { cmdRm } from './rm.js';
import { cmdStat } from './stat.js';

export { type CliIO, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './common.js';
export { formatBytes, formatDuration, parseDuration } from './format.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMANDS: Record<string, (args: string[], io: CliIO) => number> = {
  ls: cmdLs,
  list: cmdLs,
  stat: cmdStat,
  peek: cmdPeek,
  rm: cmdRm,
  gc: cmdGc,
};

/** Reports what ended a command: a usage error (exit code 2) or a failure (1). */
function failed(error: unknown, io: CliIO): number {
  if (error instanceof UsageError) {
    const where = error.command ? `shm-queue ${error.command}` : 'shm-queue';
    io.err(`${where}: ${error.message}\nRun '${where} --help' for usage.`);
    return EXIT_USAGE;
  }
  io.err(`shm-queue: ${(error as Error)?.message ?? String(error)}`);
  return EXIT_FAILURE;
}

/**
 * Runs the command line `args` (without `node` and the script) and returns the exit code (a
 * promise of it for `--redis`, which talks to a server). Never throws for a bad command line or an
 * unusable queue: those are reported on `io.err`.
 */
export function run(args: string[], io: CliIO = defaultIO): number | Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) {
      io.err(MAIN_HELP);
      return EXIT_USAGE;
    }
    if (command === '-h' || command === '--help') return help(undefined, io);
    if (command === '-V' || command === '--version') {
      io.out(version());
      return EXIT_OK;
    }
    if (command === 'help') {
      const topic = rest[0];
      if (topic !== undefined && HELP[topic] === undefined) throw new UsageError(`unknown command '${topic}'`);
      return help(topic, io);
    }
    if (REDIS_COMMANDS.includes(command) && wantsRedis(rest))
      return runRedis(command, rest, io).catch((error: unknown) => failed(error, io));
    const fn = COMMANDS[command];
    if (!fn)
      throw new UsageError(command.startsWith('-') ? `unknown option '${command}'` : `unknown command '${command}'`);
    return fn(rest, io);
  } catch (error) {
    return failed(error, io);
  }
}

/** Entry point when run as a program: exit code in process.exitCode, so output is flushed. */
export function main(): void {
  // `shm-queue ls | head -1` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const code = run(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
  else void code.then((c) => (process.exitCode = c));
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) main();
