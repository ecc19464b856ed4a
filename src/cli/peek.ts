/**
 * `shm-queue peek NAME [-n N]`: the next messages, decoded, without removing them.
 *
 * @module
 */
import { inspect as utilInspect } from 'node:util';
import { type PeekedMessage, peekQueue } from '../inspect/index.js';
import { type CliIO, checkName, EXIT_OK, operational, parse, UsageError } from './common.js';
import { formatBytes, plural, table } from './format.js';
import { help } from './help.js';

const PREVIEW_BYTES = 24;
const PREVIEW_CHARS = 300;

export function bytesPreview(bytes: Buffer): string {
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const hex = [...head].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = head.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  const more = bytes.length > PREVIEW_BYTES ? ' ...' : '';
  return `hex ${hex}${more}  |${text}|${more}`;
}

export function valuePreview(value: unknown): string {
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
export function jsonValue(value: unknown): { value?: unknown } {
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

export function cmdPeek(args: string[], io: CliIO): number {
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
