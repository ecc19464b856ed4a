/**
 * The set of objects a value walk has visited (cycles and shared references are seen once). Used
 * by the msgpack exactness walk and by the pool's search for queues inside task arguments.
 *
 * @module
 */

/**
 * A reusable visited-set for one walk at a time: a short array scanned linearly, promoted to a
 * Set past 32 entries, because `Set#clear()` after every small walk cost more than the walk.
 */
export class VisitedObjects {
  readonly #list: object[] = [];
  #set: Set<object> | null = null;

  /** Marks `obj` as visited; `true` when it already was. */
  seen(obj: object): boolean {
    const set = this.#set;
    if (set !== null) {
      if (set.has(obj)) return true;
      set.add(obj);
      return false;
    }
    const list = this.#list;
    if (list.includes(obj)) return true;
    list.push(obj);
    if (list.length > 32) this.#set = new Set(list);
    return false;
  }

  /** Forgets every object, for the next walk. */
  clear(): void {
    this.#list.length = 0;
    this.#set = null;
  }
}
