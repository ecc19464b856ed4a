/**
 * Formatting for the `shm-queue` command: sizes, durations, globs, tables and status words.
 *
 * @module
 */
import type { QueueInspection, UnreadableReason } from '../inspect/index.js';
import { UsageError } from './common.js';

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

export function matcher(patterns: string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map(globToRegExp);
  return (name) => res.some((r) => r.test(name));
}

export type Align = 'left' | 'right';

/** Renders rows as columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][], align: Align[]): string {
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

export const SHORT_REASON: Record<UnreadableReason, string> = {
  'permission-denied': 'permission denied',
  'not-a-queue': 'not a shm-queue segment',
  incompatible: 'other layout version',
  unfinished: 'unfinished (creator died while creating it?)',
  corrupt: 'corrupt',
  'invalid-name': 'invalid queue name',
  error: 'error',
};

export function statusOf(s: QueueInspection): string {
  const parts = [s.idleSince === null ? 'ok' : 'orphan'];
  if (s.shutdown !== 'none') parts.push('shutdown');
  return parts.join('+');
}

export function time(ms: number, now: number): string {
  if (!ms) return 'never';
  return `${new Date(ms).toISOString()} (${formatDuration(now - ms)} ago)`;
}

export function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word}${/(s|ss|sh|ch|x)$/.test(word) ? 'es' : 's'}`;
}

export function attachedText(s: QueueInspection): string {
  // The table lists at most 64 processes; the attach locks (inUse) count them all.
  const unlisted = s.inUse === true ? 'processes not in the 64-slot table' : 'unknown processes';
  if (s.attached.length === 0) return s.idleSince === null ? `in use by ${unlisted}` : 'none';
  return s.attached.map((p) => `pid ${p.pid} (${plural(p.handles, 'handle')})`).join(', ');
}
