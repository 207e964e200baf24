// One segment of a partition log: a file of whole record batches, named by the base offset of its
// first batch, with its sparse offset and time indexes in memory. The active (last) segment takes
// appends; a sealed segment is immutable and has its indexes written beside it (`.index`,
// `.timeindex`), which is also how recovery tells a sealed segment from one it must scan.
//
// Invariants: the file holds whole valid batches up to `sizeBytes`, with contiguous offsets from
// `baseOffset` to `nextOffset`; index entries point inside that range. Readers see `sizeBytes` as
// it was when they started: bytes are only ever appended, or cut by a truncation.
import { type FileHandle, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { invariant } from '../../shared/assert.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  BATCH_HEADER_BYTES,
  BatchView,
  LOG_OVERHEAD,
  checkBatch,
  decodeRecords,
} from '../../shared/record-batch.ts';
import { writeCheckpoint } from './checkpoint-file.ts';
import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

/**
 * A header walk reads a small window first (small reads come from Node's pre-allocated pool,
 * so they touch no new memory pages), then doubles it up to the largest.
 */
const HEADER_WINDOW_FIRST_BYTES = 4000;
const HEADER_WINDOW_MAX_BYTES = 64 * 1024;
/** How much a recovery scan reads at a time (more when one batch is larger). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD;

/** `00000000000000000042` for base offset 42: names sort as offsets do. */
export function segmentName(baseOffset: bigint): string {
  return baseOffset.toString().padStart(20, '0');
}

export interface ScanOutcome {
  /** Bytes cut from the end of the file because they were not whole valid batches. */
  truncatedBytes: number;
  /** Why the scan stopped before the end of the file, when it did. */
  reason: string | null;
}

export interface TimestampMatch {
  offset: bigint;
  timestamp: bigint;
}

export class Segment {
  /** Bytes of whole batches visible to readers. */
  sizeBytes = 0;
  /** The offset after the last batch; the base offset while empty. */
  nextOffset: bigint;
  /** The largest batch max timestamp in this segment, -1 while none. */
  maxTimestamp = -1n;
  /** Broker clock at the first append since the segment was created or opened. */
  rollStartMs: number | null = null;
  sealed = false;

  private baseOffsetOfMaxTimestamp: bigint;
  private bytesSinceIndexEntry = 0;
  private offsetIndex = new OffsetIndex();
  private timeIndex = new TimeIndex();
  private readers = 0;
  private closeWhenIdle = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly baseOffset: bigint,
    private readonly file: FileHandle,
    private readonly indexIntervalBytes: number,
  ) {
    this.nextOffset = baseOffset;
    this.baseOffsetOfMaxTimestamp = baseOffset;
  }

  get path(): string {
    return join(this.dir, segmentName(this.baseOffset) + LOG_SUFFIX);
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /** Creates an empty segment file, replacing any stale file of the same name. */
  static async create(dir: string, baseOffset: bigint, indexIntervalBytes: number) {
    const path = join(dir, segmentName(baseOffset) + LOG_SUFFIX);
    const file = await open(path, 'w+');
    const segment = new Segment(dir, baseOffset, file, indexIntervalBytes);
    await segment.removeIndexFiles();
    return segment;
  }

  /** Opens an existing file; the caller then loads its indexes or scans it. */
  static async open(dir: string, baseOffset: bigint, indexIntervalBytes: number) {
    const path = join(dir, segmentName(baseOffset) + LOG_SUFFIX);
    const file = await open(path, 'r+');
    return new Segment(dir, baseOffset, file, indexIntervalBytes);
  }

  /**
   * Trusts a sealed segment whose index files are present and plausible, given the base offset of
   * the segment after it. Returns false when they are not: the caller scans instead.
   */
  async loadSealed(nextOffset: bigint): Promise<boolean> {
    const fileBytes = (await this.file.stat()).size;
    const offsetFile = await this.readIndexFile(INDEX_SUFFIX);
    const timeFile = await this.readIndexFile(TIME_INDEX_SUFFIX);
    if (!offsetFile || !timeFile || fileBytes === 0) return false;

    const offsetIndex = OffsetIndex.fromBuffer(offsetFile, fileBytes);
    const timeIndex = TimeIndex.fromBuffer(timeFile);
    const offsetSpan = Number(nextOffset - this.baseOffset);
    if (!offsetIndex || !timeIndex) return false;
    if (
      offsetIndex.lastRelativeOffset >= offsetSpan ||
      timeIndex.lastRelativeOffset >= offsetSpan
    ) {
      return false;
    }

    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.sizeBytes = fileBytes;
    this.nextOffset = nextOffset;
    this.maxTimestamp = timeIndex.lastTimestamp;
    this.baseOffsetOfMaxTimestamp = this.baseOffset + BigInt(timeIndex.lastRelativeOffset);
    this.sealed = true;
    return true;
  }

  /**
   * Recovery: walks the file from its start, keeping whole batches with a good CRC and offsets
   * contiguous from the base offset; cuts the file at the first that is not. Rebuilds the
   * indexes on the way. `onBatch` sees each kept batch (the log rebuilds leader epochs from them).
   */
  async recover(onBatch: (batch: BatchView) => void): Promise<ScanOutcome> {
    this.resetIndexes();
    const fileBytes = (await this.file.stat()).size;
    const { end, reason } = await this.scan(0, fileBytes, (batch) => {
      // The segment's age for segment.ms survives a restart through its first batch's time.
      if (this.rollStartMs === null && batch.maxTimestamp >= 0n) {
        this.rollStartMs = Number(batch.maxTimestamp);
      }
      onBatch(batch);
    });

    if (end < fileBytes) {
      await this.file.truncate(end);
      await this.file.datasync();
    }
    return { truncatedBytes: fileBytes - end, reason: end < fileBytes ? reason : null };
  }

  /** Writes batches (already stamped) at the end of the file, then makes them visible. */
  async append(chunks: Buffer[], nowMs: number): Promise<void> {
    invariant(!this.sealed, 'a sealed segment takes no appends');
    const position = this.sizeBytes;
    await this.writeFully(chunks, position);

    let at = position;
    for (const chunk of chunks) {
      for (let pos = 0; pos < chunk.length;) {
        const batch = new BatchView(chunk, pos);
        this.indexBatch(batch, at);
        at += batch.sizeBytes;
        pos = batch.end;
      }
    }

    this.sizeBytes = at;
    this.rollStartMs ??= nowMs;
  }

  /** Makes appended bytes durable. */
  async sync(): Promise<void> {
    if (!this.closed) await this.file.datasync();
  }

  /**
   * No more appends: flushes the data, adds the final time index entry (so the last entry holds
   * the largest timestamp) and writes both indexes atomically.
   */
  async seal(): Promise<void> {
    if (this.sealed) return;
    this.timeIndex.maybeAppend(this.maxTimestamp, this.relative(this.baseOffsetOfMaxTimestamp));

    await this.file.datasync();
    const name = segmentName(this.baseOffset);
    await writeCheckpoint(this.dir, name + INDEX_SUFFIX, this.offsetIndex.toBuffer());
    await writeCheckpoint(this.dir, name + TIME_INDEX_SUFFIX, this.timeIndex.toBuffer());
    this.sealed = true;
  }

  /**
   * Cuts the segment before the batch holding `offset` (a batch is never split), so the new next
   * offset is at or below `offset`. The segment becomes the active one again.
   */
  async truncateTo(offset: bigint): Promise<bigint> {
    if (offset >= this.nextOffset) return this.nextOffset;
    const found = await this.findBatch(offset, this.sizeBytes);
    invariant(found !== null, `offset ${offset} below ${this.nextOffset} has a batch`);

    await this.file.truncate(found.position);
    await this.file.datasync();
    await this.removeIndexFiles();
    this.sealed = false;

    this.offsetIndex.truncateFrom(this.relative(found.baseOffset));
    this.timeIndex.truncateFrom(this.relative(found.baseOffset));
    await this.rescanFromLastIndexEntry(found.position);
    return this.nextOffset;
  }

  /**
   * Reads whole batches starting with the one holding `startOffset`: as many as fit in
   * `maxBytes`, all below `maxOffset`. With `minOneBatch`, the first batch comes whole even when it
   * is larger than `maxBytes`; without, such a batch gives an empty result.
   */
  async read(startOffset: bigint, maxBytes: number, maxOffset: bigint, minOneBatch: boolean) {
    const limit = this.sizeBytes;
    this.readers += 1;
    try {
      const first = await this.findBatch(startOffset, limit);
      if (!first || first.lastOffset >= maxOffset) return Buffer.alloc(0);
      if (first.sizeBytes > maxBytes && !minOneBatch) return Buffer.alloc(0);

      const budget = Math.max(maxBytes, first.sizeBytes);
      const bytes = await this.readAt(first.position, Math.min(budget, limit - first.position));
      return bytes.subarray(0, wholeBatchesBelow(bytes, maxOffset));
    } finally {
      this.released();
    }
  }

  /**
   * The first record with a timestamp at or above `timestamp` and an offset in
   * [minOffset, maxOffset), looking inside batches; null when this segment has none.
   */
  async findByTimestamp(timestamp: bigint, minOffset: bigint, maxOffset: bigint) {
    const limit = this.sizeBytes;
    this.readers += 1;
    try {
      const start = await this.timeSearchStart(timestamp, limit);
      for await (const { batch, position } of this.headers(start, limit)) {
        if (batch.baseOffset >= maxOffset) return null;
        if (batch.maxTimestamp < timestamp || batch.lastOffset < minOffset) continue;

        const match = await this.matchInside(position, batch.sizeBytes, timestamp, minOffset);
        if (match && match.offset < maxOffset) return match;
        if (match) return null;
      }
      return null;
    } finally {
      this.released();
    }
  }

  /** Walks every batch header in order (to rebuild leader epochs); views live for the call. */
  async forEachHeader(visit: (batch: BatchView) => void): Promise<void> {
    for await (const { batch } of this.headers(0, this.sizeBytes)) visit(batch);
  }

  /** Closes the file now, or once the reads in flight finish. */
  async close(): Promise<void> {
    this.closeWhenIdle = true;
    if (this.readers === 0) await this.closeFile();
  }

  /** Removes the segment's files; reads in flight finish on the unlinked file. */
  async delete(): Promise<void> {
    await this.close();
    await unlinkIfPresent(this.path);
    await this.removeIndexFiles();
  }

  private async closeFile(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  private released(): void {
    this.readers -= 1;
    if (this.readers === 0 && this.closeWhenIdle) void this.closeFile();
  }

  private relative(offset: bigint): number {
    return Number(offset - this.baseOffset);
  }

  /** The per-batch bookkeeping shared by appends and scans. */
  private indexBatch(batch: BatchView, position: number): void {
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp;
      this.baseOffsetOfMaxTimestamp = batch.baseOffset;
    }

    if (this.bytesSinceIndexEntry > this.indexIntervalBytes) {
      this.offsetIndex.append(this.relative(batch.baseOffset), position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.relative(this.baseOffsetOfMaxTimestamp));
      this.bytesSinceIndexEntry = 0;
    }

    this.bytesSinceIndexEntry += batch.sizeBytes;
    this.nextOffset = batch.nextOffset;
  }

  private resetIndexes(): void {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1n;
    this.baseOffsetOfMaxTimestamp = this.baseOffset;
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    this.sizeBytes = 0;
  }

  /**
   * After a cut at `end`, the in-memory state is rebuilt from the last offset index entry left:
   * the time index already accounts for every batch before it, so only the stretch after it is
   * read again. The bookkeeping then continues exactly as if those batches were appended now.
   */
  private async rescanFromLastIndexEntry(end: number): Promise<void> {
    const from = this.offsetIndex.lastPosition;
    this.maxTimestamp = this.timeIndex.lastTimestamp;
    this.baseOffsetOfMaxTimestamp =
      this.baseOffset + BigInt(Math.max(0, this.timeIndex.lastRelativeOffset));
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;

    if (from > 0) {
      const header = new BatchView(await this.readAt(from, BATCH_HEADER_BYTES), 0);
      this.nextOffset = header.baseOffset;
    }
    this.sizeBytes = from;

    const { end: scanned } = await this.scan(from, end, () => {});
    invariant(scanned === end, `rescan of a valid segment stopped at ${scanned}, not ${end}`);
    this.sizeBytes = end;
  }

  /**
   * Validates and indexes batches in [from, fileBytes), expecting the first at `this.nextOffset`.
   * Returns where the valid batches end and why the scan stopped early.
   */
  private async scan(from: number, fileBytes: number, onBatch: (batch: BatchView) => void) {
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = from;
    let pos = from;

    while (pos < fileBytes) {
      if (pos + BATCH_HEADER_BYTES > chunkStart + chunk.length) {
        chunkStart = pos;
        chunk = await this.readAt(pos, Math.min(SCAN_CHUNK_BYTES, fileBytes - pos));
      }
      if (chunk.length - (pos - chunkStart) < BATCH_HEADER_BYTES) {
        return { end: pos, reason: 'partial batch header' };
      }

      const batchLength = chunk.readInt32BE(pos - chunkStart + 8);
      if (batchLength < BATCH_LENGTH_MIN)
        return { end: pos, reason: `batch length ${batchLength}` };
      const batchBytes = LOG_OVERHEAD + batchLength;
      if (pos + batchBytes > fileBytes) return { end: pos, reason: 'partial batch' };

      if (pos + batchBytes > chunkStart + chunk.length) {
        chunkStart = pos;
        chunk = await this.readAt(
          pos,
          Math.min(Math.max(SCAN_CHUNK_BYTES, batchBytes), fileBytes - pos),
        );
      }

      const at = pos - chunkStart;
      const problem = checkBatch(chunk, at);
      if (problem) return { end: pos, reason: problem.reason };
      const batch = new BatchView(chunk, at);
      if (batch.baseOffset !== this.nextOffset || batch.lastOffsetDelta < 0) {
        return {
          end: pos,
          reason: `batch at offset ${batch.baseOffset}, expected ${this.nextOffset}`,
        };
      }

      this.indexBatch(batch, pos);
      onBatch(batch);
      pos += batchBytes;
      this.sizeBytes = pos;
    }
    return { end: pos, reason: null };
  }

  /** The first batch whose last offset is at or above `offset`, by its header. */
  private async findBatch(offset: bigint, limit: number) {
    const from = this.offsetIndex.lookup(Math.max(0, this.relative(offset)));
    for await (const { batch, position } of this.headers(from, limit)) {
      if (batch.lastOffset >= offset) {
        return {
          position,
          baseOffset: batch.baseOffset,
          lastOffset: batch.lastOffset,
          sizeBytes: batch.sizeBytes,
        };
      }
    }
    return null;
  }

  /** Where to start walking for a timestamp search: the batch of the last time entry below it. */
  private async timeSearchStart(timestamp: bigint, limit: number): Promise<number> {
    const relativeOffset = this.timeIndex.lastOffsetBefore(timestamp);
    if (relativeOffset < 0) return 0;
    const found = await this.findBatch(this.baseOffset + BigInt(relativeOffset), limit);
    return found?.position ?? 0;
  }

  private async matchInside(position: number, sizeBytes: number, ts: bigint, minOffset: bigint) {
    const bytes = await this.readAt(position, sizeBytes);
    for (const record of decodeRecords(bytes)) {
      if (record.offset >= minOffset && record.timestamp >= ts) {
        return { offset: record.offset, timestamp: record.timestamp };
      }
    }
    return null;
  }

  /** Batch headers in [from, limit), read a window at a time; a view holds only the header. */
  private async *headers(from: number, limit: number) {
    let pos = from;
    let windowBytes = HEADER_WINDOW_FIRST_BYTES;
    while (pos + BATCH_HEADER_BYTES <= limit) {
      const window = await this.readAt(pos, Math.min(limit - pos, windowBytes));
      windowBytes = Math.min(windowBytes * 2, HEADER_WINDOW_MAX_BYTES);
      let at = 0;

      while (at + BATCH_HEADER_BYTES <= window.length) {
        const batch = new BatchView(window, at);
        const position = pos + at;
        if (batch.batchLength < BATCH_LENGTH_MIN || position + batch.sizeBytes > limit) {
          throw new KafkaError(
            ErrorCode.KAFKA_STORAGE_ERROR,
            `${this.path}: bad batch header at byte ${position}`,
          );
        }
        yield { batch, position };
        at += batch.sizeBytes;
      }

      if (window.length === 0) return;
      pos += at;
    }
  }

  /** Reads up to `length` bytes; fewer when the file was cut meanwhile. */
  private async readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let filled = 0;

    while (filled < length) {
      const { bytesRead } = await this.file.read(buf, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buf : buf.subarray(0, filled);
  }

  private async writeFully(chunks: Buffer[], position: number): Promise<void> {
    let remaining = chunks;
    let at = position;

    while (remaining.length > 0) {
      const { bytesWritten } = await this.file.writev(remaining, at);
      at += bytesWritten;
      remaining = dropBytes(remaining, bytesWritten);
    }
  }

  private async readIndexFile(suffix: string): Promise<Buffer | null> {
    try {
      return await readFile(join(this.dir, segmentName(this.baseOffset) + suffix));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async removeIndexFiles(): Promise<void> {
    const name = segmentName(this.baseOffset);
    await unlinkIfPresent(join(this.dir, name + INDEX_SUFFIX));
    await unlinkIfPresent(join(this.dir, name + TIME_INDEX_SUFFIX));
  }
}

/** The length of the prefix of whole batches whose offsets are all below `maxOffset`. */
function wholeBatchesBelow(bytes: Buffer, maxOffset: bigint): number {
  let pos = 0;
  while (pos + BATCH_HEADER_BYTES <= bytes.length) {
    const batch = new BatchView(bytes, pos);
    if (batch.end > bytes.length || batch.lastOffset >= maxOffset) break;
    pos = batch.end;
  }
  return pos;
}

function dropBytes(chunks: Buffer[], bytes: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = bytes;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
