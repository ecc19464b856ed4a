/**
 * A first-in first-out line of waiting operations: one runs at a time, the others wait their turn,
 * so that the waits of one handle are served in the order they were made (a later get never
 * overtakes an earlier one). While an operation waits for its turn, its timeout and its abort
 * signal still apply.
 *
 * @module
 */

interface Waiter {
  start(): void;
}

/** Options of {@link Fifo.run}: what ends a wait for one's turn. */
export interface TurnOptions {
  signal: AbortSignal | undefined;
  /** `performance.now()` time after which the wait fails with `onTimeout()`; Infinity for none. */
  deadline: number;
  onTimeout: () => Error;
  /** Makes the rejection for an abort (default: the signal's reason). */
  onAbort?: (reason: unknown) => unknown;
}

export class Fifo {
  #line: Waiter[] = [];
  #busy = false;

  /** `true` when nothing runs and nothing waits. */
  get idle(): boolean {
    return !this.#busy && this.#line.length === 0;
  }

  /** Runs `fn` when it is this call's turn; `fn` handles its own timeout and signal once running. */
  async run<R>(fn: () => Promise<R>, options: TurnOptions): Promise<R> {
    if (this.#busy) await this.#wait(options);
    else this.#busy = true;
    try {
      return await fn();
    } finally {
      const next = this.#line.shift();
      if (next) next.start();
      else this.#busy = false;
    }
  }

  /** Rejects every operation still waiting for its turn with `error`. */
  rejectAll(error: Error): void {
    const line = this.#line;
    this.#line = [];
    for (const w of line) (w as Waiter & { fail(e: unknown): void }).fail(error);
  }

  #wait(options: TurnOptions): Promise<void> {
    const { signal, deadline } = options;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (): boolean => {
        const i = this.#line.indexOf(waiter);
        if (i < 0) return false;
        this.#line.splice(i, 1);
        return true;
      };
      const waiter: Waiter & { fail(e: unknown): void } = {
        // The turn passes straight from the previous operation: #busy stays true.
        start: () => {
          cleanup();
          resolve();
        },
        fail: (e) => {
          cleanup();
          reject(e);
        },
      };
      const onAbort = (): void => {
        if (!leave()) return;
        cleanup();
        reject(options.onAbort ? options.onAbort(signal?.reason) : signal?.reason);
      };
      if (signal) {
        if (signal.aborted) return reject(options.onAbort ? options.onAbort(signal.reason) : signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const ms = Math.max(0, deadline - performance.now());
      // Longer than a Node timer can wait (24.8 days) counts as forever.
      if (ms <= 2 ** 31 - 1) {
        timer = setTimeout(() => {
          if (!leave()) return;
          cleanup();
          reject(options.onTimeout());
        }, ms);
      }
      this.#line.push(waiter);
    });
  }
}
