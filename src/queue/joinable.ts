/**
 * `JoinableQueue<T>`: a {@link Queue} that also counts unfinished tasks across processes.
 *
 * @module
 */
import { NativeEvent, OpenMode, status as S } from '../native/index.js';
import type { CreateOptions, OpenOptions, SyncWaitOptions, WaitOptions } from '../types.js';
import { openQueue } from './open.js';
import { asyncOptions, syncTimeout } from './options.js';
import { construct, internalsOf, Queue, type QueueConstructor, type QueueInternals } from './queue.js';
import { sliced } from './sync-wait.js';

/**
 * A {@link Queue} that also counts unfinished tasks across processes, like Python's
 * `JoinableQueue`: every put adds one, every {@link JoinableQueue.taskDone} removes one, and
 * {@link JoinableQueue.join} waits until the count is zero.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** Creates the joinable queue `name` (same options as {@link Queue.create}). */
  static override create<T = unknown, Q extends Queue<T> = JoinableQueue<T>>(
    this: QueueConstructor<Q>,
    name: string,
    options?: CreateOptions<T>,
  ): Q {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class called, so a subclass gets its own instances
    return construct(this, openQueue<T>(name, OpenMode.Create, options, true));
  }

  /** Opens the existing joinable queue `name`. */
  static override open<T = unknown, Q extends Queue<T> = JoinableQueue<T>>(
    this: QueueConstructor<Q>,
    name: string,
    options?: OpenOptions<T>,
  ): Q {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class called, so a subclass gets its own instances
    return construct(this, openQueue<T>(name, OpenMode.Open, options, true));
  }

  /** Marks one task (an item taken with a get) as done. Throws `TaskDoneError` if more were marked done than put. */
  taskDone(): void {
    const internals: QueueInternals = internalsOf(this);
    const st = internals.live().taskDone();
    if (st !== S.ok) internals.fail(st, 'get', 0);
  }

  /** Items put and not yet marked done, across all processes. */
  unfinishedTasks(): number {
    return internalsOf(this).live().unfinished();
  }

  /**
   * Blocks the calling thread until every item put has been marked done (by any process), or
   * `timeout` ms pass. Returns `true` when all are done, `false` on timeout.
   */
  joinSync(options?: SyncWaitOptions): boolean {
    const timeout = syncTimeout(options);
    const internals: QueueInternals = internalsOf(this);
    const handle = internals.live();
    const st = sliced(timeout, (slice) => handle.wait(NativeEvent.AllDone, 0, slice), S.timedOut);
    if (st === S.ok) return true;
    if (st === S.timedOut) return false;
    internals.fail(st, 'get', 0);
  }

  /**
   * Resolves `true` once every item put has been marked done (by any process), or `false` when
   * `timeout` ms pass first. Never blocks the event loop; rejects with `signal.reason` on abort.
   */
  async join(options?: WaitOptions): Promise<boolean> {
    const { timeout, signal } = asyncOptions(options);
    signal?.throwIfAborted();
    const internals: QueueInternals = internalsOf(this);
    const handle = internals.live();
    return internals.waitEvent('join', timeout, signal, () => handle.wait(NativeEvent.AllDone, 0, 0) === S.ok);
  }
}
