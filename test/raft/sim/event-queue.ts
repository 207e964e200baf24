// The simulator's agenda: events ordered by virtual time, ties broken by insertion order so a seed
// always replays the same interleaving. A binary heap.
interface Slot<T> {
  readonly time: number;
  readonly seq: number;
  readonly item: T;
}

export class EventQueue<T> {
  private heap: Slot<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, item: T): void {
    this.heap.push({ time, seq: this.seq++, item });
    this.siftUp(this.heap.length - 1);
  }

  pop(): { time: number; item: T } | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;

    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return { time: top.time, item: top.item };
  }

  private before(a: Slot<T>, b: Slot<T>): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private siftUp(k: number): void {
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.before(this.heap[k], this.heap[parent])) return;
      [this.heap[k], this.heap[parent]] = [this.heap[parent], this.heap[k]];
      k = parent;
    }
  }

  private siftDown(k: number): void {
    for (;;) {
      const left = 2 * k + 1;
      const right = left + 1;
      let best = k;
      if (left < this.heap.length && this.before(this.heap[left], this.heap[best])) best = left;
      if (right < this.heap.length && this.before(this.heap[right], this.heap[best])) best = right;
      if (best === k) return;
      [this.heap[k], this.heap[best]] = [this.heap[best], this.heap[k]];
      k = best;
    }
  }
}
