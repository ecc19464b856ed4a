/**
 * Pending asynchronous operations of one handle: a FIFO per kind (gets, puts, joins), served in
 * order when the native waiter thread reports that the queue changed.
 *
 * Settling is O(1) per operation, whichever way it settles. Each FIFO is a doubly linked list,
 * so an operation leaves it in O(1) from the head (completed) or from anywhere in the middle
 * (timed out, aborted); an array with indexOf + splice made aborting n waiting gets O(n^2). And
 * every AbortSignal gets one listener per handle, however many operations share it: Node's
 * EventTarget checks for duplicates on each addEventListener, so n listeners on one signal cost
 * O(n^2) to add.
 *
 * While any operation is pending the handle is ref'ed (keeps the process alive) and its queue is
 * held strongly; an idle handle is neither, so a forgotten queue can be garbage-collected.
 *
 * @module
 */
import { type NativeHandle, NativeEvent, status as S } from '../native/index.js';

/** Kinds of pending operations, one FIFO each. */
export type PendingKind = 'get' | 'put' | 'join';

/** What one try of a pending operation found. */
export type Attempt<V> = { done: false } | { done: true; value: V } | { done: true; error: unknown };

/** What the owner of the pending operations provides. */
export interface PendingHost {
  /** The open native handle, or null once closed. */
  handle(): NativeHandle | null;
  /** The error a get or put that waited `timeout` ms in vain (or met a corrupt queue) rejects with. */
  statusError(status: number, kind: 'get' | 'put', timeout: number): Error;
}

/** One pending operation: a node of its kind's list. */
export class PendingOperation {
  prev: PendingOperation | null = null;
  next: PendingOperation | null = null;
  /** The list it is in; null once it left (settled). */
  list: OperationList | null = null;
  /** Bytes the head put needs room for (NotFull waits only). */
  needed: number;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly kind: PendingKind,
    needed: number,
    readonly signal: AbortSignal | undefined,
    /** Tries to complete the operation now; true when it settled (resolved or rejected). */
    readonly attempt: () => boolean,
    readonly reject: (error: unknown) => void,
    /** The rejection when `signal` aborts. */
    readonly abortError: (reason: unknown) => unknown,
  ) {
    this.needed = needed;
  }
}

/** The one abort listener of a handle on one signal, and the operations waiting on it (in FIFO order). */
interface SignalWatch {
  readonly ops: Set<PendingOperation>;
  readonly listener: () => void;
}

/** A FIFO of pending operations with O(1) push, remove and head. */
class OperationList {
  head: PendingOperation | null = null;
  tail: PendingOperation | null = null;
  length = 0;

  push(op: PendingOperation): void {
    op.list = this;
    op.prev = this.tail;
    op.next = null;
    if (this.tail) this.tail.next = op;
    else this.head = op;
    this.tail = op;
    this.length++;
  }

  /** Unlinks `op`; false when it was not in this list (already settled). */
  remove(op: PendingOperation): boolean {
    if (op.list !== this) return false;
    if (op.prev) op.prev.next = op.next;
    else this.head = op.next;
    if (op.next) op.next.prev = op.prev;
    else this.tail = op.prev;
    op.prev = op.next = null;
    op.list = null;
    this.length--;
    return true;
  }

  /** Empties the list and returns its operations in order. */
  takeAll(): PendingOperation[] {
    const out: PendingOperation[] = [];
    for (let op = this.head; op !== null; ) {
      const next = op.next;
      op.prev = op.next = null;
      op.list = null;
      out.push(op);
      op = next;
    }
    this.head = this.tail = null;
    this.length = 0;
    return out;
  }
}

/** Queues with pending async operations: kept alive until those settle (the native waiter only
 *  holds its queue weakly, so a forgotten idle handle can be garbage-collected and cleaned up). */
const busy = new Set<object>();

/** Longest delay one Node timer takes; longer async timeouts are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const EVENT_OF: Readonly<Record<PendingKind, NativeEvent>> = {
  get: NativeEvent.NotEmpty,
  put: NativeEvent.NotFull,
  join: NativeEvent.AllDone,
};
const KIND_OF: readonly PendingKind[] = ['get', 'put', 'join']; // indexed by NativeEvent

/** The pending operations of one handle. */
export class PendingOperations {
  readonly #lists: Readonly<Record<PendingKind, OperationList>> = {
    get: new OperationList(),
    put: new OperationList(),
    join: new OperationList(),
  };
  readonly #signals = new Map<AbortSignal, SignalWatch>();
  #count = 0;
  #watching = false;

  constructor(
    /** Held strongly while anything is pending. */
    private readonly owner: object,
    private readonly host: PendingHost,
  ) {}

  /** True when operations of `kind` wait (a new one must queue behind them to keep FIFO order). */
  has(kind: PendingKind): boolean {
    return this.#lists[kind].length > 0;
  }

  /**
   * Adds a pending operation to its FIFO. `attempt` tries it without waiting; `onTimeout` makes
   * the value or error to settle with when `timeout` ms pass (< 0: never); `onAbortError` the
   * rejection when `signal` aborts (default: the signal's reason).
   */
  enqueue<V>(
    kind: PendingKind,
    timeout: number,
    signal: AbortSignal | undefined,
    needed: number,
    resolve: (v: V) => void,
    reject: (e: unknown) => void,
    attempt: () => Attempt<V>,
    onTimeout?: () => V | Error,
    onAbortError?: (reason: unknown) => unknown,
  ): PendingOperation {
    const list = this.#lists[kind];
    const op: PendingOperation = new PendingOperation(
      kind,
      needed,
      signal,
      () => {
        const r = attempt();
        if (!r.done) return false;
        this.#remove(op);
        if ('error' in r) reject(r.error);
        else resolve(r.value);
        return true;
      },
      reject,
      onAbortError ?? ((reason) => reason),
    );
    if (timeout >= 0) {
      const fire = (): void => {
        if (!this.#remove(op)) return;
        const r = onTimeout
          ? onTimeout()
          : this.host.statusError(kind === 'get' ? S.empty : S.full, kind === 'get' ? 'get' : 'put', timeout);
        if (r instanceof Error) reject(r);
        else resolve(r);
        if (kind === 'put') this.service('put'); // the next put may need less room
      };
      // Node timers overflow past 2^31-1 ms (they would fire at once): chain them.
      const schedule = (left: number): void => {
        op.timer =
          left > MAX_TIMER_MS ? setTimeout(() => schedule(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fire, left);
      };
      schedule(timeout);
    }
    if (signal) this.#watchSignal(op, signal);
    list.push(op);
    this.#changed(+1);
    if (list.head === op) this.#arm(kind); // behind a head, the waiter is armed for the head already
    return op;
  }

  /** Completes pending operations of `kind` in FIFO order while they can complete, then re-arms. */
  service(kind: PendingKind): void {
    const list = this.#lists[kind];
    while (list.head !== null && this.host.handle() !== null) {
      if (!list.head.attempt()) break;
    }
    if (list.head !== null) this.#arm(kind);
  }

  /** Settles every pending operation of `kind` with `error`. */
  rejectAll(kind: PendingKind, error: Error): void {
    const ops = this.#lists[kind].takeAll();
    this.#changed(-ops.length);
    for (const op of ops) {
      this.#cleanup(op);
      op.reject(error);
    }
  }

  /** For close(): rejects everything with `error` and lets the queue go. */
  closeAll(error: Error): void {
    for (const kind of KIND_OF) this.rejectAll(kind, error);
    busy.delete(this.owner);
  }

  #remove(op: PendingOperation): boolean {
    if (!this.#lists[op.kind].remove(op)) return false;
    this.#changed(-1);
    this.#cleanup(op);
    return true;
  }

  /** Stops an operation's timer and takes it off its signal's watch. */
  #cleanup(op: PendingOperation): void {
    if (op.timer !== undefined) clearTimeout(op.timer);
    const signal = op.signal;
    if (signal === undefined) return;
    const watch = this.#signals.get(signal);
    if (watch === undefined || !watch.ops.delete(op) || watch.ops.size > 0) return;
    this.#signals.delete(signal);
    signal.removeEventListener('abort', watch.listener);
  }

  #watchSignal(op: PendingOperation, signal: AbortSignal): void {
    let watch = this.#signals.get(signal);
    if (watch === undefined) {
      const listener = (): void => this.#aborted(signal);
      watch = { ops: new Set(), listener };
      this.#signals.set(signal, watch);
      signal.addEventListener('abort', listener, { once: true });
    }
    watch.ops.add(op);
  }

  /** `signal` aborted: rejects every operation waiting on it, oldest first. */
  #aborted(signal: AbortSignal): void {
    const watch = this.#signals.get(signal);
    if (watch === undefined) return;
    this.#signals.delete(signal); // the listener was `once`: nothing to remove
    let puts = false;
    for (const op of watch.ops) {
      if (!this.#lists[op.kind].remove(op)) continue;
      this.#changed(-1);
      if (op.timer !== undefined) clearTimeout(op.timer);
      op.reject(op.abortError(signal.reason));
      if (op.kind === 'put') puts = true;
    }
    if (puts) this.service('put'); // the next put may need less room
  }

  #changed(delta: number): void {
    const before = this.#count;
    this.#count += delta;
    const h = this.host.handle();
    if (!h) return;
    if (before === 0 && this.#count > 0) {
      busy.add(this.owner);
      h.ref();
    } else if (before > 0 && this.#count === 0) {
      busy.delete(this.owner);
      h.unref();
    }
  }

  #arm(kind: PendingKind): void {
    const h = this.host.handle();
    const head = this.#lists[kind].head;
    if (!h || !head) return;
    if (!this.#watching) {
      // Weakly: the TSFN keeps this callback alive for as long as the handle lives, and a strong
      // reference would keep a forgotten queue (its thread, mapping and attach slot) forever.
      const self = new WeakRef(this);
      try {
        h.watch((event, code) => {
          const pending = self.deref();
          if (pending) pending.#onEvent(event, code);
        });
      } catch (error) {
        // No waiter thread (EAGAIN/ENOMEM from pthread_create: RLIMIT_NPROC, a pids cgroup): what
        // waits cannot be woken, so it fails with that system error; a later wait tries again.
        for (const k of KIND_OF) this.rejectAll(k, error as Error);
        return;
      }
      this.#watching = true;
      if (this.#count > 0) h.ref();
    }
    h.arm(EVENT_OF[kind], head.needed);
  }

  #onEvent(event: NativeEvent, code: number): void {
    if (this.host.handle() === null) return;
    const kind = KIND_OF[event] ?? 'join';
    if (code === S.corrupt || code === S.lockStalled) this.rejectAll(kind, this.host.statusError(code, 'get', 0));
    else this.service(kind);
  }
}
