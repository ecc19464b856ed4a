/**
 * `shm-queue rm NAME... [--force]`: remove queues, refusing while live processes use them.
 *
 * @module
 */
import { listQueues } from '../inspect/index.js';
import { Queue } from '../queue/index.js';
import { type CliIO, checkName, EXIT_FAILURE, EXIT_OK, parse, UsageError } from './common.js';
import { plural, SHORT_REASON } from './format.js';
import { help } from './help.js';

export function cmdRm(args: string[], io: CliIO): number {
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
      // In use: listed processes, or attach locks held by processes the 64-slot table misses (or
      // it cannot be told, which never counts as unused).
      if (s.idleSince === null) {
        const who =
          s.attached.length > 0
            ? `${plural(s.attached.length, 'live process')} (pid ${s.attached.map((a) => a.pid).join(', ')})`
            : 'processes not listed in its table';
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
