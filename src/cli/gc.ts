/**
 * `shm-queue gc [--older-than 1h]`: remove queues no live process has used for a while.
 *
 * @module
 */
import { inspectQueue, listQueues, type QueueInspection, type UnreadableReason } from '../inspect/index.js';
import { Queue } from '../queue/index.js';
import { type CliIO, EXIT_FAILURE, EXIT_OK, parse } from './common.js';
import { formatDuration, matcher, parseDuration, plural, SHORT_REASON } from './format.js';
import { help } from './help.js';

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

export function cmdGc(args: string[], io: CliIO): number {
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
