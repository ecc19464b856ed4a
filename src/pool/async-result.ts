/**
 * `AsyncResult<T>`: what `applyAsync` returns, after Python's `multiprocessing.pool.AsyncResult`
 * (`ready()`, `successful()`, `wait(timeout)`, `get(timeout)`), and a thenable, so `await` works.
 *
 * @module
 */
import { validateTimeout } from './deps.js';
import { ResultTimeoutError } from './errors.js';

type State = 'pending' | 'fulfilled' | 'rejected';

/**
 * The future result of one task. A failed AsyncResult that nobody awaits does not raise an
 * unhandled rejection (as in Python, an unread failure is silent): read it with `get()`,
 * `await`, or check `successful()`.
 */
export class AsyncResult<T = unknown> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  #state: State = 'pending';
  #value: T | undefined;
  #error: unknown;

  /** @internal Made by `ProcessPool.applyAsync`. */
  constructor(promise: Promise<T>) {
    this.#promise = promise;
    promise.then(
      (value) => {
        this.#state = 'fulfilled';
        this.#value = value;
      },
      (error: unknown) => {
        this.#state = 'rejected';
        this.#error = error;
      },
    );
  }

  /** `true` once the task has settled (succeeded or failed). */
  ready(): boolean {
    return this.#state !== 'pending';
  }

  /** `true` when the task has settled and succeeded; `false` while pending or after a failure. */
  successful(): boolean {
    return this.#state === 'fulfilled';
  }

  /**
   * Waits until the task settles, at most `timeout` ms (default: forever). Resolves to
   * {@link ready}: `true` when it settled, `false` when the timeout passed first. Never rejects
   * because the task failed.
   */
  wait(timeout?: number): Promise<boolean> {
    const ms = validateTimeout(timeout, 'timeout');
    if (this.#state !== 'pending') return Promise.resolve(true);
    const settled = this.#promise.then(
      () => true,
      () => true,
    );
    if (ms < 0) return settled;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      settled.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * The task's value, waiting at most `timeout` ms (default: forever). Rejects with the task's
   * error, or with `ResultTimeoutError` (`ERR_RESULT_TIMEOUT`) when the timeout passes first; the
   * task goes on running (use the call's `timeout`/`signal` options to stop it).
   */
  async get(timeout?: number): Promise<T> {
    const ms = validateTimeout(timeout, 'timeout');
    if (this.#state === 'fulfilled') return this.#value as T;
    if (this.#state === 'rejected') throw this.#error;
    if (ms >= 0 && !(await this.wait(ms))) {
      throw new ResultTimeoutError(`the task did not finish within ${ms} ms (it goes on running)`);
    }
    return this.#promise;
  }

  // biome-ignore lint/suspicious/noThenProperty: an AsyncResult is meant to be awaited
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }
}
