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
import { inspect as utilInspect, parseArgs } from 'node:util';
import {
  inspectQueue,
  listQueues,
  peekQueue,
  type PeekedMessage,
  type QueueInspection,
  type QueueListEntry,
  type UnreadableReason,
} from './inspect.js';
import { Queue } from './queue.js';
import { NAME_PATTERN } from './validate.js';

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

const defaultIO: CliIO = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  now: () => Date.now(),
};

/** A bad command line: reported with a pointer to --help, exit code 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Usage texts.

const MAIN_HELP = `Usage: shm-queue <command> [options]

See, inspect and clean up shm-queue queues (POSIX shared memory under /dev/shm).

Commands:
  ls [PATTERN...]            list every queue: messages, bytes, processes, age
  stat NAME                  all counters and header facts of one queue
  peek NAME [-n N]           show the next N messages without removing them
  rm NAME... [--force]       remove queues; refuses while live processes use them
  gc [--older-than 1h]       remove queues that no live process has used for a while
  help [COMMAND]             show help for a command

Options:
  -h, --help                 show help (also after a command: shm-queue ls --help)
  -V, --version              print the shm-queue version

Exit codes: 0 ok, 1 failure (no such queue, refused, unreadable), 2 usage error.
Every command that prints data accepts --json for stable, machine-readable output.`;

const HELP: Record<string, string> = {
  ls: `Usage: shm-queue ls [PATTERN...] [--json]

List every queue under /dev/shm, one line each, sorted by name. PATTERNs are shell-style
globs on the queue name (* and ?); quote them so the shell does not expand them.

Columns: NAME, MSGS (messages queued), USED/CAPACITY (ring bytes), MAXSIZE (message limit,
'-' = bounded by bytes only), CODEC, PROCS (live processes that have it open), WAIT-GET and
WAIT-PUT (threads blocked in a get / a put), AGE (since creation), IDLE (since the last
open or close when no live process has it open, else '-'), STATUS:
  ok                 in use by at least one live process
  orphan             no live process has it open (candidate for 'shm-queue gc')
  +shutdown          shutdown() was called on it
  unreadable: WHY    not readable: permission denied, corrupt, not a shm-queue segment,
                     other layout version, unfinished (its creator died while creating it)

Options:
  --json             print a JSON array of entries instead (see README for the fields)
  -h, --help         show this help

ls only reads: it does not attach to queues, does not change them, needs no write access.`,
  stat: `Usage: shm-queue stat NAME [--json]

Print every counter and header fact of queue NAME: messages, bytes, maxsize, codec, kind,
attached processes (pid and handle count; dead processes are left out), waiting consumers
and producers, puts, gets, lock recoveries, shutdown state, creator uid and pid, creation
time, last open and close, file mode and owner, layout version.

Options:
  --json             print the same as one JSON object
  -h, --help         show this help

Exit code 1 if the queue does not exist or cannot be read (the message says why).`,
  peek: `Usage: shm-queue peek NAME [-n N] [--json]

Print the next N messages of queue NAME, oldest first, without removing them. Messages are
decoded with the queue's codec when it is a built-in one (msgpack, v8, json, string); 'raw'
and custom codecs are shown as a hex and ASCII preview of their first bytes.

Options:
  -n, --count N      how many messages (default 10)
  --json             print { name, codec, total, messages: [...] } as JSON
  -h, --help         show this help

peek takes the queue's lock for one short copy, so it needs read-write access and briefly
opens the queue like a consumer (this updates its last open/close times).`,
  rm: `Usage: shm-queue rm NAME... [--force]

Remove queues by name (like unlink: processes that have a queue open keep using it, but
nobody can open it any more; the memory is freed when the last one closes it).

rm refuses a queue that live processes have open, and a segment it cannot read (so cannot
tell who uses it), unless --force is given. Names are checked before anything is removed.

Options:
  -f, --force        remove even when processes have it open or it cannot be read
  -h, --help         show this help

Exit code 1 if any queue could not be removed (the others are still removed).`,
  gc: `Usage: shm-queue gc [PATTERN...] [--older-than DURATION] [--dry-run] [--include-nonempty] [--json]

Remove queues that no live process has had open for longer than DURATION.

A queue is idle since the latest of its creation, its last open and its last close by any
process. A process killed without closing its handles is noticed at once (its pid and start
time no longer match a live process) but never records a close, so its queue counts as idle
from the last open or close before its death.

Queues that still hold messages are kept unless --include-nonempty is given: their messages
may be the only copy of work that a restarted consumer will want. Unreadable segments are
never removed by gc (use 'shm-queue rm --force NAME').

Options:
  --older-than D     idle longer than D: 30s, 10m, 1h (default), 2d, 1w, 500ms
  --dry-run          only print what would be removed
  --include-nonempty also remove idle queues that still hold messages
  --json             print a JSON array with the decision for every queue
  -h, --help         show this help

PATTERNs (shell-style globs on the name) limit gc to matching queues.
gc checks each queue again right before removing it; a process that opens it in that instant
keeps a working handle, but the name is gone.`,
};
HELP['help'] = MAIN_HELP;

// ---------------------------------------------------------------------------------------------
// Formatting.

/** Bytes in IEC units: 512 B, 1.5 KiB, 1 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
  return `${s.replace(/\.0$/, '')} ${units[i]}`;
}

/** A duration as its largest unit: 45s, 12m, 3h, 2d (rounded down). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `30s`, `10m`, `1h`, `2d`, `1w`, `500ms`, `1.5h` into milliseconds; throws UsageError. */
export function parseDuration(text: string, option: string, command?: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `${option} must be a number followed by a unit (ms, s, m, h, d, w), like 30s, 10m, 1h or 2d. Received '${text}'`,
      command,
    );
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] as number));
}

/** Shell-style glob (only `*` and `?`) to a RegExp over queue names. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function matcher(patterns: string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map(globToRegExp);
  return (name) => res.some((r) => r.test(name));
}

type Align = 'left' | 'right';

/** Renders rows as columns separated by two spaces; the last column is not padded. */
function table(header: string[], rows: string[][], align: Align[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => {
          if (c === r.length - 1) return align[c] === 'right' ? cell.padStart(widths[c] as number) : cell;
          return align[c] === 'right' ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const SHORT_REASON: Record<UnreadableReason, string> = {
  'permission-denied': 'permission denied',
  'not-a-queue': 'not a shm-queue segment',
  incompatible: 'other layout version',
  unfinished: 'unfinished (creator died while creating it?)',
  corrupt: 'corrupt',
  'invalid-name': 'invalid queue name',
  error: 'error',
};

function statusOf(s: QueueInspection): string {
  const parts = [s.attached.length > 0 ? 'ok' : 'orphan'];
  if (s.shutdown !== 'none') parts.push('shutdown');
  return parts.join('+');
}

function time(ms: number, now: number): string {
  if (!ms) return 'never';
  return `${new Date(ms).toISOString()} (${formatDuration(now - ms)} ago)`;
}

function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word}${/(s|ss|sh|ch|x)$/.test(word) ? 'es' : 's'}`;
}

function attachedText(s: QueueInspection): string {
  if (s.attached.length === 0) return 'none';
  return s.attached.map((p) => `pid ${p.pid} (${plural(p.handles, 'handle')})`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Commands.

interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse(command: string, args: string[], options: OptionSpec): Parsed | 'help' {
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

function checkName(name: string, command: string): string {
  if (!NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw new UsageError(`'${name}' is not a valid queue name (1-200 characters of A-Z a-z 0-9 _ . -)`, command);
  }
  return name;
}

function cmdLs(args: string[], io: CliIO): number {
  const p = parse('ls', args, { json: { type: 'boolean' } });
  if (p === 'help') return help('ls', io);
  const entries = listQueues({ filter: matcher(p.positionals) });
  if (p.values['json']) {
    io.out(JSON.stringify(entries, null, 2));
    return EXIT_OK;
  }
  if (entries.length === 0) {
    io.err(p.positionals.length > 0 ? 'no queue matches' : 'no queues in /dev/shm');
    return EXIT_OK;
  }
  const now = io.now();
  const rows = entries.map((e: QueueListEntry): string[] => {
    if (!e.ok) return [e.name, '-', '-', '-', '-', '-', '-', '-', '-', '-', `unreadable: ${SHORT_REASON[e.reason]}`];
    const s = e.stats;
    return [
      e.name,
      String(s.messages),
      `${formatBytes(s.bytesUsed)}/${formatBytes(s.capacity)}`,
      s.maxsize === 0 ? '-' : String(s.maxsize),
      s.codec,
      String(s.attached.length),
      String(s.waitingConsumers),
      String(s.waitingProducers),
      formatDuration(now - s.createdAt),
      s.idleSince === null ? '-' : formatDuration(now - s.idleSince),
      statusOf(s),
    ];
  });
  const header = [
    'NAME',
    'MSGS',
    'USED/CAPACITY',
    'MAXSIZE',
    'CODEC',
    'PROCS',
    'WAIT-GET',
    'WAIT-PUT',
    'AGE',
    'IDLE',
    'STATUS',
  ];
  const align: Align[] = [
    'left',
    'right',
    'right',
    'right',
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'left',
  ];
  io.out(table(header, rows, align));
  return EXIT_OK;
}

/** Runs `fn` and turns the typed errors of inspect/peek into a message and exit code 1. */
function operational(command: string, name: string, io: CliIO, fn: () => number): number {
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

function cmdStat(args: string[], io: CliIO): number {
  const p = parse('stat', args, { json: { type: 'boolean' } });
  if (p === 'help') return help('stat', io);
  if (p.positionals.length !== 1)
    throw new UsageError(p.positionals.length === 0 ? 'missing queue NAME' : 'stat takes exactly one NAME', 'stat');
  const name = checkName(p.positionals[0] as string, 'stat');
  return operational('stat', name, io, () => {
    const s = inspectQueue(name);
    if (p.values['json']) {
      io.out(JSON.stringify(s, null, 2));
      return EXIT_OK;
    }
    const now = io.now();
    const pct = s.capacity > 0 ? `, ${((100 * s.bytesUsed) / s.capacity).toFixed(1)}%` : '';
    const rows: [string, string][] = [
      ['queue', s.name],
      ['path', s.path],
      ['kind', s.joinable ? `JoinableQueue (${s.unfinishedTasks} unfinished tasks)` : 'Queue'],
      ['codec', s.codec],
      [
        'messages',
        s.maxsize === 0 ? `${s.messages} (no maxsize: bounded by bytes)` : `${s.messages} of maxsize ${s.maxsize}`,
      ],
      [
        'bytes used',
        `${s.bytesUsed} of ${s.capacity} (${formatBytes(s.bytesUsed)} of ${formatBytes(s.capacity)}${pct})`,
      ],
      ['puts / gets', `${s.puts} / ${s.gets}`],
      ['attached', `${attachedText(s)}${s.attached.length > 0 ? '' : ' (orphan: no live process has it open)'}`],
      ['waiting', `${plural(s.waitingConsumers, 'consumer')}, ${plural(s.waitingProducers, 'producer')}`],
      [
        'idle',
        s.idleSince === null
          ? '-'
          : `${formatDuration(now - s.idleSince)} (since ${new Date(s.idleSince).toISOString()})`,
      ],
      ['shutdown', s.shutdown],
      ['recoveries', `${s.recoveries} (locks recovered from processes that died holding them)`],
      ['created', `${time(s.createdAt, now)} by pid ${s.creatorPid}, uid ${s.creatorUid}`],
      ['last open', time(s.lastAttachAt, now)],
      ['last close', time(s.lastDetachAt, now)],
      ['file', `mode ${s.fileMode.toString(8).padStart(4, '0')}, owner uid ${s.fileUid}, ${s.segmentSize} bytes`],
      ['layout', `version ${s.layoutVersion}`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    io.out(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
    return EXIT_OK;
  });
}

const PREVIEW_BYTES = 24;
const PREVIEW_CHARS = 300;

function bytesPreview(bytes: Buffer): string {
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const hex = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  const more = bytes.length > PREVIEW_BYTES ? ' ...' : '';
  return `hex ${hex}${more}  |${text}|${more}`;
}

function valuePreview(value: unknown): string {
  const s = utilInspect(value, {
    depth: 4,
    breakLength: Infinity,
    compact: true,
    maxArrayLength: 20,
    maxStringLength: 200,
    colors: false,
  });
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS - 3)}...` : s;
}

/** The decoded value as JSON: BigInt as a string, Map as [key, value] pairs, Set as an array. */
function jsonValue(value: unknown): { value?: unknown } {
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return [...v.entries()];
      if (v instanceof Set) return [...v.values()];
      return v;
    });
    return text === undefined ? { value: null } : { value: JSON.parse(text) as unknown };
  } catch {
    return {}; // cyclic: only the inspect text
  }
}

function cmdPeek(args: string[], io: CliIO): number {
  const p = parse('peek', args, { json: { type: 'boolean' }, count: { type: 'string', short: 'n' } });
  if (p === 'help') return help('peek', io);
  if (p.positionals.length !== 1)
    throw new UsageError(p.positionals.length === 0 ? 'missing queue NAME' : 'peek takes exactly one NAME', 'peek');
  const name = checkName(p.positionals[0] as string, 'peek');
  const countText = (p.values['count'] as string | undefined) ?? '10';
  if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 100_000) {
    throw new UsageError(`-n must be a whole number from 1 to 100000. Received '${countText}'`, 'peek');
  }
  const max = Number(countText);
  return operational('peek', name, io, () => {
    const r = peekQueue(name, { max });
    const showBytes = (m: PeekedMessage): boolean => !m.decoded || Buffer.isBuffer(m.value);
    if (p.values['json']) {
      const messages = r.messages.map((m, i) => ({
        index: i + 1,
        size: m.size,
        decoded: m.decoded,
        ...(m.decoded ? { ...jsonValue(m.value), inspect: valuePreview(m.value) } : {}),
        ...(m.error ? { decodeError: m.error.message } : {}),
        base64: m.bytes.toString('base64'),
      }));
      io.out(JSON.stringify({ name: r.name, codec: r.codec, total: r.total, messages }, null, 2));
      return EXIT_OK;
    }
    const custom = r.messages.some((m) => !m.decoded && !m.error);
    let title = `queue '${r.name}', codec ${r.codec}: `;
    title +=
      r.messages.length === 0
        ? 'empty'
        : `the first ${r.messages.length} of ${plural(r.total, 'message')}, oldest first (nothing was removed)`;
    io.out(title);
    if (custom)
      io.out(
        `note: '${r.codec}' is a custom codec this command cannot decode; showing the first ${PREVIEW_BYTES} bytes of each message`,
      );
    const rows = r.messages.map((m, i) => [
      `#${i + 1}`,
      formatBytes(m.size),
      m.error
        ? `undecodable (${m.error.message}): ${bytesPreview(m.bytes)}`
        : showBytes(m)
          ? bytesPreview(m.bytes)
          : valuePreview(m.value),
    ]);
    if (rows.length > 0) io.out(table(['#', 'SIZE', 'MESSAGE'], rows, ['right', 'right', 'left']));
    return EXIT_OK;
  });
}

function cmdRm(args: string[], io: CliIO): number {
  const p = parse('rm', args, { force: { type: 'boolean', short: 'f' } });
  if (p === 'help') return help('rm', io);
  if (p.positionals.length === 0) throw new UsageError('missing queue NAME', 'rm');
  const names = p.positionals.map((n) => checkName(n, 'rm'));
  const force = p.values['force'] === true;
  let failed = false;
  for (const name of names) {
    let note = '';
    // Listing this one name classifies an unreadable segment instead of throwing.
    const entry = listQueues({ filter: (n) => n === name })[0];
    if (entry === undefined) {
      io.err(`shm-queue rm: no queue '${name}'`);
      failed = true;
      continue;
    }
    if (entry.ok) {
      const s = entry.stats;
      if (s.attached.length > 0) {
        const who = `${plural(s.attached.length, 'live process')} (pid ${s.attached.map((a) => a.pid).join(', ')})`;
        if (!force) {
          io.err(
            `shm-queue rm: refusing to remove '${name}': ${who} ha${s.attached.length === 1 ? 's' : 've'} it open. Use --force to remove it anyway (they keep working on it, but nobody can open it again).`,
          );
          failed = true;
          continue;
        }
        note = ` (${who} still ha${s.attached.length === 1 ? 's' : 've'} it open)`;
      }
    } else {
      const why = SHORT_REASON[entry.reason];
      if (!force) {
        io.err(
          `shm-queue rm: refusing to remove '${name}': it cannot be read (${why}), so whether processes use it is unknown. Use --force to remove it anyway.`,
        );
        failed = true;
        continue;
      }
      note = ` (unreadable: ${why})`;
    }
    try {
      if (Queue.unlink(name)) io.out(`removed ${name}${note}`);
      else {
        io.err(`shm-queue rm: no queue '${name}'`);
        failed = true;
      }
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const why =
        e.code === 'EACCES' || e.code === 'EPERM'
          ? `${e.code}: permission denied; only its owner (or root) may remove it from /dev/shm`
          : e.message;
      io.err(`shm-queue rm: cannot remove '${name}': ${why}`);
      failed = true;
    }
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** A gc decision, as printed by `gc --json`. */
interface GcDecision {
  name: string;
  action: 'removed' | 'would-remove' | 'kept-nonempty' | 'in-use' | 'recent' | 'unreadable' | 'failed';
  messages?: number;
  idleMs?: number;
  /** With 'unreadable': the {@link UnreadableReason}. */
  reason?: UnreadableReason;
  /** With 'unreadable' and 'failed': what went wrong. */
  message?: string;
}

function cmdGc(args: string[], io: CliIO): number {
  const p = parse('gc', args, {
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean' },
    'include-nonempty': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (p === 'help') return help('gc', io);
  const olderThanText = (p.values['older-than'] as string | undefined) ?? '1h';
  const olderThan = parseDuration(olderThanText, '--older-than', 'gc');
  const dryRun = p.values['dry-run'] === true;
  const includeNonempty = p.values['include-nonempty'] === true;
  const json = p.values['json'] === true;
  const match = matcher(p.positionals);
  const decisions: GcDecision[] = [];
  const consider = (s: QueueInspection, now: number): GcDecision => {
    if (s.idleSince === null) return { name: s.name, action: 'in-use', messages: s.messages };
    const idleMs = now - s.idleSince;
    if (idleMs <= olderThan) return { name: s.name, action: 'recent', messages: s.messages, idleMs };
    if (s.messages > 0 && !includeNonempty)
      return { name: s.name, action: 'kept-nonempty', messages: s.messages, idleMs };
    return { name: s.name, action: dryRun ? 'would-remove' : 'removed', messages: s.messages, idleMs };
  };
  for (const entry of listQueues({ filter: match })) {
    if (!entry.ok) {
      decisions.push({ name: entry.name, action: 'unreadable', reason: entry.reason, message: entry.message });
      continue;
    }
    let d = consider(entry.stats, io.now());
    if (d.action === 'removed') {
      // Look again right before removing: a process may have opened it since the listing.
      try {
        d = consider(inspectQueue(entry.name), io.now());
        if (d.action === 'removed' && !Queue.unlink(entry.name)) continue; // someone else removed it
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (e.code === 'ERR_QUEUE_NOT_FOUND') continue;
        d = { name: entry.name, action: 'failed', message: e.message };
      }
    }
    decisions.push(d);
  }
  if (json) {
    io.out(JSON.stringify(decisions, null, 2));
  } else {
    const ago = (d: GcDecision): string => (d.idleMs === undefined ? '' : `idle ${formatDuration(d.idleMs)}`);
    for (const d of decisions) {
      if (d.action === 'removed' || d.action === 'would-remove') {
        io.out(
          `${d.action === 'removed' ? 'removed' : 'would remove'} ${d.name} (${ago(d)}, ${plural(d.messages ?? 0, 'message')})`,
        );
      } else if (d.action === 'kept-nonempty') {
        io.out(
          `kept ${d.name} (${ago(d)}, but it holds ${plural(d.messages ?? 0, 'message')}; --include-nonempty removes it)`,
        );
      } else if (d.action === 'unreadable') {
        const why = d.reason ? SHORT_REASON[d.reason] : 'unreadable';
        io.out(
          `skipped ${d.name} (unreadable: ${why}; 'shm-queue stat ${d.name}' says more, 'shm-queue rm --force ${d.name}' removes it)`,
        );
      } else if (d.action === 'failed') {
        io.err(`shm-queue gc: cannot remove '${d.name}': ${d.message}`);
      }
    }
    const count = (a: GcDecision['action']): number => decisions.filter((d) => d.action === a).length;
    const removed = dryRun ? count('would-remove') : count('removed');
    io.out(
      `gc: ${dryRun ? 'would remove' : 'removed'} ${plural(removed, 'queue')} idle longer than ${olderThanText}; ` +
        `kept ${count('kept-nonempty')} with messages, ${count('in-use')} in use, ${count('recent')} idle for less, ${count('unreadable')} unreadable`,
    );
  }
  return decisions.some((d) => d.action === 'failed') ? EXIT_FAILURE : EXIT_OK;
}

function help(command: string | undefined, io: CliIO): number {
  io.out(command === undefined ? MAIN_HELP : (HELP[command] ?? MAIN_HELP));
  return EXIT_OK;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
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

/**
 * Runs the command line `args` (without `node` and the script) and returns the exit code.
 * Never throws for a bad command line or an unusable queue: those are reported on `io.err`.
 */
export function run(args: string[], io: CliIO = defaultIO): number {
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
    const fn = COMMANDS[command];
    if (!fn)
      throw new UsageError(command.startsWith('-') ? `unknown option '${command}'` : `unknown command '${command}'`);
    return fn(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const where = error.command ? `shm-queue ${error.command}` : 'shm-queue';
      io.err(`${where}: ${error.message}\nRun '${where} --help' for usage.`);
      return EXIT_USAGE;
    }
    io.err(`shm-queue: ${(error as Error)?.message ?? String(error)}`);
    return EXIT_FAILURE;
  }
}

/** Entry point when run as a program: exit code in process.exitCode, so output is flushed. */
export function main(): void {
  // `shm-queue ls | head -1` closes the pipe early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = run(process.argv.slice(2));
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
