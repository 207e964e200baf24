// An in-memory partition log for the simulation: batches in offset order, of which a prefix is
// durable. A crash keeps only that prefix; the leader epoch cache (the log's real class) is then
// rebuilt from the surviving batch headers, as recovery would.
import { LeaderEpochCache } from '../../../data-node/log/leader-epoch-cache.ts';
import { invariant } from '../../../shared/assert.ts';
import type { SimBatch } from './messages.ts';

export function lastOffsetOf(batch: SimBatch): bigint {
  return batch.baseOffset + BigInt(batch.lastOffsetDelta);
}

export class SimLog {
  batches: SimBatch[] = [];
  /** Batches [0, flushedCount) are on disk. */
  flushedCount = 0;
  epochs = new LeaderEpochCache();

  get logEndOffset(): bigint {
    const last = this.batches[this.batches.length - 1];
    return last === undefined ? 0n : lastOffsetOf(last) + 1n;
  }

  get flushedOffset(): bigint {
    const last = this.batches[this.flushedCount - 1];
    return last === undefined ? 0n : lastOffsetOf(last) + 1n;
  }

  get durableBatches(): SimBatch[] {
    return this.batches.slice(0, this.flushedCount);
  }

  append(batch: SimBatch): void {
    invariant(batch.baseOffset === this.logEndOffset, 'append must start at the log end offset');
    invariant(
      batch.leaderEpoch >= this.epochs.latestEpoch,
      'a log never goes back to older epochs',
    );
    this.epochs.assign(batch.leaderEpoch, batch.baseOffset);
    this.batches.push(batch);
  }

  /** Makes `count` more batches durable (at least one when any is unflushed). */
  flush(count: number): void {
    this.flushedCount = Math.min(this.batches.length, this.flushedCount + Math.max(1, count));
  }

  /** Removes every batch at or past `offset` (a batch boundary); returns the removed ones. */
  truncateTo(offset: bigint): SimBatch[] {
    const keep = this.batches.findIndex((b) => lastOffsetOf(b) >= offset);
    if (keep === -1) {
      this.epochs.truncateFromEnd(offset);
      return [];
    }
    invariant(this.batches[keep].baseOffset === offset, `truncation at ${offset} inside a batch`);

    const removed = this.batches.splice(keep);
    this.flushedCount = Math.min(this.flushedCount, this.batches.length);
    this.epochs.truncateFromEnd(offset);
    return removed;
  }

  crash(): void {
    this.batches = this.durableBatches;
    this.epochs = new LeaderEpochCache();
    for (const batch of this.batches) this.epochs.assign(batch.leaderEpoch, batch.baseOffset);
  }

  /** The batch starting at `offset`, if one does. */
  batchAt(offset: bigint): SimBatch | undefined {
    let low = 0;
    let high = this.batches.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const batch = this.batches[mid];
      if (batch.baseOffset === offset) return batch;
      if (batch.baseOffset < offset) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }

  /** Up to `max` whole batches from the one holding `offset`. */
  readFrom(offset: bigint, max: number): SimBatch[] {
    const first = this.batches.findIndex((b) => lastOffsetOf(b) >= offset);
    return first === -1 ? [] : this.batches.slice(first, first + max);
  }
}
