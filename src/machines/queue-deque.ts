/**
 * A growable ring-buffer deque and a binary min-heap: the O(1) / O(log n) structures the queue
 * machine keeps its entries in. Both are mutated in place (see queue-store.ts for why).
 */

/** FIFO ring buffer; push and shift are O(1) amortised. */
export class RingDeque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.items = new Array<T | undefined>(size);
  }

  /** Items held (live or not: the store skips dead ones lazily). */
  get length(): number {
    return this.count;
  }

  /** Appends at the tail. */
  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** The head without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Keeps only the items `keep` accepts, in order (O(n); used for amortised compaction). */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (let i = 0; i < this.count; i++) {
      const item = this.items[(this.head + i) & (this.items.length - 1)] as T;
      if (keep(item)) kept.push(item);
    }
    this.items = new Array<T | undefined>(this.items.length);
    this.head = 0;
    this.count = 0;
    for (const item of kept) this.push(item);
  }

  /** A copy holding the same items in the same order. */
  clone(): RingDeque<T> {
    const copy = new RingDeque<T>(this.items.length);
    for (let i = 0; i < this.count; i++)
      copy.push(this.items[(this.head + i) & (this.items.length - 1)] as T);
    return copy;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}

/** Binary min-heap ordered by `less`. */
export class MinHeap<T> {
  private items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Items held. */
  get size(): number {
    return this.items.length;
  }

  /** Adds an item: O(log n). */
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent] as T;
      if (!this.less(item, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  /** The smallest item without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes and returns the smallest item: O(log n). */
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      // Sift `last` down from the root, moving smaller children up into the hole.
      const n = a.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && this.less(a[r] as T, a[l] as T) ? r : l;
        if (!this.less(a[m] as T, last)) break;
        a[i] = a[m] as T;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }

  /** Keeps only the items `keep` accepts (O(n); used for amortised compaction). */
  retain(keep: (item: T) => boolean): void {
    const kept = this.items.filter(keep);
    this.items = [];
    for (const item of kept) this.push(item);
  }

  /** A copy with the same items. */
  clone(): MinHeap<T> {
    const copy = new MinHeap<T>(this.less);
    copy.items = this.items.slice();
    return copy;
  }
}
