/**
 * The queue classes and their public constants.
 *
 * @module
 */
export { JoinableQueue } from './joinable.js';
export { DEFAULT_CAPACITY, MAX_CAPACITY, MAX_MAXSIZE, MIN_CAPACITY, Queue } from './queue.js';
