/**
 * Every help text of the `shm-queue` command, in one place.
 *
 * @module
 */

export const MAIN_HELP = `Usage: shm-queue <command> [options]

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
  --redis URL                (ls, stat, peek) queues of shm-queue/redis on that Redis server

Exit codes: 0 ok, 1 failure (no such queue, refused, unreadable), 2 usage error.
Every command that prints data accepts --json for stable, machine-readable output.`;

export const HELP: Record<string, string> = {
  ls: `Usage: shm-queue ls [PATTERN...] [--json] [--redis URL]

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
  --redis URL        list the queues of shm-queue/redis on that server instead (redis://host:port,
                     or a unix socket path): NAME, MSGS (waiting), PENDING (delivered, not yet
                     acknowledged), DEAD (dead letters), MAXSIZE, CODEC, KIND, CONSUMERS, AGE, STATUS
  -h, --help         show this help

ls only reads: it does not attach to queues, does not change them, needs no write access.`,
  stat: `Usage: shm-queue stat NAME [--json] [--redis URL]

Print every counter and header fact of queue NAME: messages, bytes, maxsize, codec, kind,
attached processes (pid and handle count; dead processes are left out), waiting consumers
and producers, puts, gets, lock recoveries, shutdown state, creator uid and pid, creation
time, last open and close, file mode and owner, layout version.

Options:
  --json             print the same as one JSON object
  --redis URL        a queue of shm-queue/redis on that server instead (see docs/redis.md)
  -h, --help         show this help

Exit code 1 if the queue does not exist or cannot be read (the message says why).`,
  peek: `Usage: shm-queue peek NAME [-n N] [--json] [--redis URL]

Print the next N messages of queue NAME, oldest first, without removing them. Messages are
decoded with the queue's codec when it is a built-in one (msgpack, v8, json, string); 'raw'
and custom codecs are shown as a hex and ASCII preview of their first bytes.

Options:
  -n, --count N      how many messages (default 10)
  --json             print { name, codec, total, messages: [...] } as JSON
  --redis URL        a queue of shm-queue/redis on that server instead: its next messages waiting
                     for a consumer, read without taking them
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

/** Prints the help of `command` (the main help when undefined or unknown); exit code 0. */
export function help(command: string | undefined, io: { out(text: string): void }): number {
  io.out(command === undefined ? MAIN_HELP : (HELP[command] ?? MAIN_HELP));
  return 0;
}
