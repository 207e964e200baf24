// The sparse offset index of one segment: every index.interval.bytes of batches, an entry maps
// the base offset of a batch (relative to the segment's base offset) to the batch's file position.
// A read looks up the last entry at or below the offset it wants and walks batch headers from
// there. Entries live in memory; the `.index` file is written whole when a segment is sealed and
// rebuilt from the segment when missing or implausible.
//
// File format: entries of 8 bytes, big-endian int32 relative offset, int32 position, both strictly
// increasing.
import { invariant } from '../../shared/assert.ts';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private relativeOffsets = new Int32Array(64);
  private positions = new Int32Array(64);
  private count = 0;

  get entryCount(): number {
    return this.count;
  }

  /** The relative offset of the last entry, or -1. */
  get lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1];
  }

  /** The position of the last entry, or 0 (the segment start) when there is none. */
  get lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1];
  }

  append(relativeOffset: number, position: number): void {
    const last = this.count - 1;
    invariant(
      this.count === 0 ||
        (relativeOffset > this.relativeOffsets[last] && position > this.positions[last]),
      `offset index entries must increase: ${relativeOffset}@${position}`,
    );

    this.grow();
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count += 1;
  }

  /** The file position to start walking from to find `relativeOffset`. */
  lookup(relativeOffset: number): number {
    const i = this.lastIndexAtOrBelow(relativeOffset);
    return i < 0 ? 0 : this.positions[i];
  }

  /** Drops the entries of batches at or beyond `relativeOffset` (the log was cut there). */
  truncateFrom(relativeOffset: number): void {
    this.count = this.lastIndexAtOrBelow(relativeOffset - 1) + 1;
  }

  toBuffer(): Buffer {
    const buf = Buffer.alloc(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.count; i++) {
      buf.writeInt32BE(this.relativeOffsets[i], i * OFFSET_INDEX_ENTRY_BYTES);
      buf.writeInt32BE(this.positions[i], i * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    return buf;
  }

  /**
   * Reads an index file, or returns null when it cannot be trusted: a partial entry, entries that
   * do not increase, or positions beyond the segment's size.
   */
  static fromBuffer(buf: Buffer, segmentBytes: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex();

    for (let at = 0; at < buf.length; at += OFFSET_INDEX_ENTRY_BYTES) {
      const relativeOffset = buf.readInt32BE(at);
      const position = buf.readInt32BE(at + 4);
      const last = index.count - 1;
      const increasing =
        index.count === 0 ||
        (relativeOffset > index.relativeOffsets[last] && position > index.positions[last]);

      if (!increasing || relativeOffset < 0 || position < 0 || position >= segmentBytes) {
        return null;
      }
      index.append(relativeOffset, position);
    }
    return index;
  }

  /** Binary search: the last entry whose relative offset is <= target, or -1. */
  private lastIndexAtOrBelow(target: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;

    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relativeOffsets[mid] <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private grow(): void {
    if (this.count < this.relativeOffsets.length) return;
    const offsets = new Int32Array(this.relativeOffsets.length * 2);
    const positions = new Int32Array(this.positions.length * 2);
    offsets.set(this.relativeOffsets);
    positions.set(this.positions);
    this.relativeOffsets = offsets;
    this.positions = positions;
  }
}
