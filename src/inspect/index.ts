/**
 * Looking at queues from the outside: list every queue on the machine, read one queue's header
 * and counters, and peek at its next messages. This is what the `shm-queue` command is built on,
 * exported for programs that want the same facts (a health check, a dashboard, a cleanup job).
 *
 * {@link listQueues} and {@link inspectQueue} open segments in the native *inspect* mode: mapped
 * read-only and not attached, so they change nothing in the queue (not even its last-attach
 * time) and need only read permission. {@link peekQueue} has to take the queue's lock, so it opens
 * the queue like any consumer does (read-write, attached for the duration of the call).
 *
 * @module
 */
export { inspectQueue, listQueues } from './list.js';
export { peekQueue } from './peek.js';
export { segmentPath } from './segment.js';
export type * from './types.js';
