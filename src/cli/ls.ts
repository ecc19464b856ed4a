/**
 * `shm-queue ls [PATTERN...]`: every queue on the machine, one line each.
 *
 * @module
 */
import { listQueues, type QueueListEntry } from '../inspect/index.js';
import { addon } from '../native/index.js';
import { type CliIO, EXIT_OK, parse } from './common.js';
import { type Align, formatBytes, formatDuration, matcher, SHORT_REASON, statusOf, table } from './format.js';
import { help } from './help.js';

export function cmdLs(args: string[], io: CliIO): number {
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
    if (!e.ok) {
      const why =
        e.reason === 'incompatible' && e.layoutVersion !== undefined
          ? `layout version ${e.layoutVersion} (this release reads ${addon.layoutVersion})`
          : SHORT_REASON[e.reason];
      return [e.name, '-', '-', '-', '-', '-', '-', '-', '-', '-', `unreadable: ${why}`];
    }
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
