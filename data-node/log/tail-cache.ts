// The newest batches of the active segment, kept in memory as the buffers they were appended
// from. Followers and caught-up consumers fetch what was just appended; serving them from here
// costs no read syscall and, when one append's buffer answers the fetch, no copy either. The
// answer is the same as reading the segment file: whole batches from the one holding the fetch
// offset, within the byte limit (the first batch whole with minOneBatch) and below maxOffset.
//
// The cache holds references to appended buffers: their owners must not change them afterwards.
import { BatchView, batches } from '../../shared/record-batch.ts';

interface CachedAppend {
  baseOffset: bigint;
  nextOffset: bigint;
  records: Buffer;
}

export class TailCache {
  private entries: CachedAppend[] = [];
  private bytes = 0;

  constructor(private readonly capacityBytes: number) {}

  /** Adds an append that continues the cached ones; anything else starts the cache afresh. */
  append(records: Buffer, baseOffset: bigint, nextOffset: bigint): void {
    const last = this.entries[this.entries.length - 1];
    if (last && last.nextOffset !== baseOffset) this.clear();
    if (records.length > this.capacityBytes) return this.clear();

    this.entries.push({ baseOffset, nextOffset, records });
    this.bytes += records.length;
    while (this.bytes > this.capacityBytes) this.bytes -= this.entries.shift()!.records.length;
  }

  clear(): void {
    this.entries = [];
    this.bytes = 0;
  }

  /** Whole batches as a segment read gives them, or null when the offset is not cached. */
  read(fetchOffset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch: boolean) {
    const first = this.entries.findIndex((e) => e.nextOffset > fetchOffset);
    if (first < 0 || this.entries[0].baseOffset > fetchOffset) return null;

    const picked: BatchView[] = [];
    let bytes = 0;
    for (const entry of this.entries.slice(first)) {
      for (const batch of batches(entry.records)) {
        if (batch.lastOffset < fetchOffset) continue;
        const fits = bytes + batch.sizeBytes <= maxBytes || (picked.length === 0 && minOneBatch);
        if (batch.lastOffset >= maxOffset || !fits) return join(picked);

        picked.push(batch);
        bytes += batch.sizeBytes;
      }
    }
    return join(picked);
  }
}

/** One buffer for the picked batches: a slice when they are adjacent in one buffer. */
function join(picked: BatchView[]): Buffer {
  if (picked.length === 0) return Buffer.alloc(0);
  const first = picked[0];
  const last = picked[picked.length - 1];
  if (first.buffer === last.buffer) return first.buffer.subarray(first.position, last.end);
  return Buffer.concat(picked.map((b) => b.bytes()));
}
