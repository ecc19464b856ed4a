/**
 * What every command shares: output, exit codes, usage errors and argument parsing (node:util
 * parseArgs, strict).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { isValidName, NAME_RULE } from '../validate.js';

/** Exit codes scripts can rely on. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Where the command writes; replaceable for tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  now(): number;
}

export const defaultIO: CliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  now: () => Date.now(),
};

/** A bad command line: reported with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parse(command: string, args: string[], options: OptionSpec): Parsed | 'help' {
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      const unknown = /^Unknown option '([^']*)'/.exec(e.message);
      throw new UsageError(unknown ? `unknown option '${unknown[1]}'` : e.message, command);
    }
    throw error;
  }
  return parsed.values['help'] ? 'help' : parsed;
}

export function checkName(name: string, command: string): string {
  if (!isValidName(name)) {
    throw new UsageError(`'${name}' is not a valid queue name (${NAME_RULE})`, command);
  }
  return name;
}

/** Runs `fn` and turns the typed errors of inspect/peek into a message and exit code 1. */
export function operational(command: string, name: string, io: CliIO, fn: () => number): number {
  try {
    return fn();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_QUEUE_NOT_FOUND')
      io.err(`shm-queue ${command}: no queue '${name}' (no /dev/shm/shm-queue.${name})`);
    else if (e.code === 'ERR_QUEUE_CORRUPT')
      io.err(`shm-queue ${command}: ${e.message}. Remove it with 'shm-queue rm --force ${name}'.`);
    else if (e instanceof TypeError || e instanceof RangeError) throw error;
    else io.err(`shm-queue ${command}: ${e.message}`);
    return EXIT_FAILURE;
  }
}
