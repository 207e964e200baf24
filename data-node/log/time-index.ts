// The sparse time index of one segment. At each offset index entry, if the segment's largest
// timestamp grew since the last time entry, an entry (largest timestamp so far, relative base
// offset of the batch that first reached it) is added; sealing a segment adds a final one. So an
// entry (T, o) promises: every batch before o has a max timestamp below T, the batch at o reaches
// T. A search for the first record with timestamp >= ts may therefore skip to the batch of the
// last entry with T < ts, and the last entry's T is the segment's largest timestamp once sealed.
//
// File format: entries of 12 bytes, big-endian int64 timestamp, int32 relative offset, both
// strictly increasing.
import { invariant } from '../../shared/assert.ts';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private timestamps = new BigInt64Array(16);
  private relativeOffsets = new Int32Array(16);
  private count = 0;

  get entryCount(): number {
    return this.count;
  }

  /** The largest timestamp indexed, or -1 when empty. */
  get lastTimestamp(): bigint {
    return this.count === 0 ? -1n : this.timestamps[this.count - 1];
  }

  get lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1];
  }

  /** Adds an entry when `timestamp` is above the last one; otherwise there is nothing new. */
  maybeAppend(timestamp: bigint, relativeOffset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    invariant(
      relativeOffset > this.lastRelativeOffset,
      `time index offsets must increase: ${relativeOffset} after ${this.lastRelativeOffset}`,
    );

    this.grow();
    this.timestamps[this.count] = timestamp;
    this.relativeOffsets[this.count] = relativeOffset;
    this.count += 1;
  }

  /** The relative offset of the last entry with a timestamp below `timestamp`, or -1. */
  lastOffsetBefore(timestamp: bigint): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;

    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid] < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : this.relativeOffsets[found];
  }

  /** Drops entries pointing at batches at or beyond `relativeOffset`. */
  truncateFrom(relativeOffset: number): void {
    while (this.count > 0 && this.relativeOffsets[this.count - 1] >= relativeOffset) {
      this.count -= 1;
    }
  }

  toBuffer(): Buffer {
    const buf = Buffer.alloc(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeBigInt64BE(this.timestamps[i], i * TIME_INDEX_ENTRY_BYTES);
      buf.writeInt32BE(this.relativeOffsets[i], i * TIME_INDEX_ENTRY_BYTES + 8);
    }
    return buf;
  }

  /** Reads an index file, or returns null when it cannot be trusted. */
  static fromBuffer(buf: Buffer): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex();

    for (let at = 0; at < buf.length; at += TIME_INDEX_ENTRY_BYTES) {
      const timestamp = buf.readBigInt64BE(at);
      const relativeOffset = buf.readInt32BE(at + 8);
      const increasing =
        timestamp > index.lastTimestamp && relativeOffset > index.lastRelativeOffset;

      if (!increasing || relativeOffset < 0) return null;
      index.maybeAppend(timestamp, relativeOffset);
    }
    return index;
  }

  private grow(): void {
    if (this.count < this.timestamps.length) return;
    const timestamps = new BigInt64Array(this.timestamps.length * 2);
    const offsets = new Int32Array(this.relativeOffsets.length * 2);
    timestamps.set(this.timestamps);
    offsets.set(this.relativeOffsets);
    this.timestamps = timestamps;
    this.relativeOffsets = offsets;
  }
}
