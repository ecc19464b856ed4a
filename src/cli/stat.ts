/**
 * `shm-queue stat NAME`: one queue's counters and header facts.
 *
 * @module
 */
import { inspectQueue } from '../inspect/index.js';
import { type CliIO, checkName, EXIT_OK, operational, parse, UsageError } from './common.js';
import { attachedText, formatBytes, formatDuration, plural, time } from './format.js';
import { help } from './help.js';

export function cmdStat(args: string[], io: CliIO): number {
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
      ['attached', `${attachedText(s)}${s.idleSince === null ? '' : ' (orphan: no live process has it open)'}`],
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
