/**
 * Waiting for the server's replies with a bound, so that a server that stops answering (stopped
 * with SIGSTOP or in a debugger, overloaded, or cut off while the TCP connection still looks open)
 * cannot hang a call: the wait ends at the call's own timeout (or on its abort signal), and at
 * the latest `replyTimeout` after the command was sent.
 *
 * A reply that comes after its wait ended is still read in order on the connection (nothing gets
 * out of step); what it carries goes to the caller's `late` handler, e.g. to give back messages
 * the server delivered to a get that had already given up.
 *
 * One timer per handle, armed at the earliest expiry, serves every wait: a wait costs a promise
 * and a set entry, not a timer of its own.
 *
 * @module
 */
import { QueueNoReplyError, invalidArgType } from '../errors.js';
import { validateInteger } from '../validate.js';
import { connect, isCommandTimeout, type RedisClient, type RedisConnection } from './client.js';

/** Default `replyTimeout`: 15 s (as long as a shared-memory queue waits for a stalled lock). */
export const DEFAULT_REPLY_TIMEOUT = 15_000;

/**
 * The least time a command already sent is given for its reply when the call's own timeout is
 * nearer (unless `replyTimeout` is smaller): a call with a short timeout on a slow network then
 * still gets the answer to the command it sent instead of giving up on every try.
 */
export const REPLY_GRACE_MS = 250;

/** The `replyTimeout` option of `options` (validated), or the default. */
export function replyTimeoutOption(options: Record<string, unknown>): number {
  const ms = options['replyTimeout'];
  return ms === undefined ? DEFAULT_REPLY_TIMEOUT : validateInteger(ms, 'options.replyTimeout', 1, 2 ** 31 - 1);
}

/**
 * What a command whose reply did not come may still do: `'may'` (the server may carry it out when
 * it reads it: a put, a shutdown), `'take'` (a get's: it takes nothing, what the server hands over
 * later is given back) or `'none'` (a read).
 */
export type ReplyEffect = 'may' | 'take' | 'none';

const CONSEQUENCE: Record<ReplyEffect, string> = {
  may: 'it may still be carried out when the server reads it: check before doing it again',
  take: 'nothing was taken (a message the server hands over later is given back to the queue)',
  none: 'nothing was changed',
};

/**
 * The error of a call whose command got no reply in time. `what`: the call ("a put"); `handle`:
 * whether it was a call on an open handle (which works on once the server answers).
 */
export function noReplyError(queue: string | null, what: string, effect: ReplyEffect, handle = true): NoReply {
  return (waitedMs) =>
    new QueueNoReplyError(
      `${queue === null ? '' : `queue '${queue}': `}the Redis server did not answer ${what} within ${waitedMs} ms (stopped, overloaded or cut off); ${CONSEQUENCE[effect]}${handle ? '. The handle works again once the server answers' : ''}`,
      effect === 'may',
      waitedMs,
    );
}

/** What ends the wait for one reply besides `replyTimeout`. */
export interface ReplyBound {
  /** `performance.now()` time by which the call must end; `Infinity` when it has no timeout. */
  readonly deadline: number;
  /**
   * Ends the wait at once with the signal's reason. Gets pass their signal (what a late reply
   * delivers is given back); puts do not (their command is on its way and may still be carried out).
   */
  readonly signal?: AbortSignal | undefined;
}

/** A bound with no timeout of the call's own: only `replyTimeout` applies. */
export const NO_DEADLINE: ReplyBound = Object.freeze({ deadline: Number.POSITIVE_INFINITY });

interface Watched {
  readonly expiresAt: number;
  expire(): void;
}

/** Makes the error of a wait that ended without a reply, given how long it waited. */
export type NoReply = (waitedMs: number) => QueueNoReplyError;

/** Bounded waits for the replies of one handle's commands. */
export class ReplyWatch {
  /** Longest wait for one reply, in ms. */
  readonly replyTimeout: number;
  readonly #watched = new Set<Watched>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(replyTimeout: number) {
    this.replyTimeout = replyTimeout;
  }

  /**
   * Settles as `reply` does, unless the bound passes first (rejects with `noReply(waitedMs)`) or
   * its signal aborts (rejects with the signal's reason). A value `reply` resolves with after
   * that goes to `late`. `serverMs`: how long the server may take by design (a blocking read's
   * BLOCK time), added before any of the bounds start to count.
   */
  wait<R>(reply: Promise<R>, bound: ReplyBound, noReply: NoReply, late?: (value: R) => void, serverMs = 0): Promise<R> {
    const sentAt = performance.now();
    const answerBy = sentAt + serverMs;
    const expiresAt = Math.min(
      answerBy + this.replyTimeout,
      Math.max(bound.deadline, answerBy + Math.min(REPLY_GRACE_MS, this.replyTimeout)),
    );
    const signal = bound.signal;
    return new Promise<R>((resolve, reject) => {
      let open = true;
      const end = (): void => {
        open = false;
        this.#watched.delete(watched);
        signal?.removeEventListener('abort', onAbort);
      };
      const watched: Watched = {
        expiresAt,
        expire: () => {
          end();
          reject(noReply(Math.round(performance.now() - sentAt)));
        },
      };
      const onAbort = (): void => {
        end();
        reject(signal?.reason);
      };
      reply.then(
        (value) => {
          if (open) {
            end();
            resolve(value);
          } else if (late) {
            try {
              late(value);
            } catch {
              // A late handler has nobody to report to.
            }
          }
        },
        (error: unknown) => {
          if (!open) return;
          end();
          reject(error);
        },
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#watched.add(watched);
      this.#arm(expiresAt);
    });
  }

  #arm(at: number): void {
    if (at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    // Longer than a Node timer can wait (24.8 days) is looked at again then.
    this.#timer = setTimeout(() => this.#check(), Math.min(Math.max(0, at - performance.now()), 2 ** 31 - 1));
    // The connection a reply is awaited on keeps the process alive; this timer need not.
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const w of [...this.#watched]) {
      if (w.expiresAt <= now) w.expire();
      else if (w.expiresAt < next) next = w.expiresAt;
    }
    if (next < Number.POSITIVE_INFINITY) this.#arm(next);
  }
}

/**
 * Runs `fn` on a short-lived connection to `target` (unlink, list, inspect, peek): every command not
 * answered within the `replyTimeout` option rejects the call with `QueueNoReplyError` (`queue`,
 * `what` and `effect` for its message; `queue` null: every queue). The connection is closed after.
 */
export async function oneOffCall<R>(
  target: RedisConnection,
  options: Record<string, unknown>,
  call: { queue: string | null; what: string; effect: ReplyEffect },
  fn: (client: RedisClient) => Promise<R>,
): Promise<R> {
  const replyTimeout = replyTimeoutOption(options);
  const client = connect(target, replyTimeout);
  try {
    return await fn(client);
  } catch (error) {
    throw isCommandTimeout(error) ? noReplyError(call.queue, call.what, call.effect, false)(replyTimeout) : error;
  } finally {
    client.disconnect();
  }
}

/**
 * The `redis` option of `options`, checked: every call that connects needs one (no default server).
 * Not in client.ts: that module must load nothing before ioredis, so that a missing ioredis is the
 * error an import without it reports.
 */
export function requireRedis(options: Record<string, unknown>): RedisConnection {
  const r = options['redis'];
  if (r === undefined || r === null) {
    throw invalidArgType(
      'options.redis',
      "a Redis URL, a unix socket path, ioredis options, { cluster: nodes } or an ioredis client (e.g. { redis: 'redis://localhost:6379' })",
      r,
    );
  }
  if (typeof r !== 'string' && typeof r !== 'object') throw invalidArgType('options.redis', 'a string or an object', r);
  return r as RedisConnection;
}
