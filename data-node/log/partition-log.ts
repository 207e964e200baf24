// The log of one partition replica in its own directory: segments of record batches, a leader
// epoch checkpoint and a log start offset checkpoint. A leader appends producers' batches and the
// log assigns their offsets by stamping the batch headers in place; a follower appends the
// leader's batches as they are. Readers get whole batches by offset. Replication, the high
// watermark and the ISR are not kept here: they belong to the partition code above, which passes
// the high watermark in as a read bound.
//
// The high watermark belongs to the partition, but its checkpoint lives here, beside the log it
// describes (Kafka's replication-offset-checkpoint): a reopened replica starts from it. The log
// keeps it within what a crash cannot take: at most the flushed offset when written, lowered
// before a truncation cuts below it, and cut to the recovered log end on open.
//
// Writes (appends, rolls, truncation, retention) run one at a time on a serial queue. Appends that
// arrive while a write is running are written together with one writev, and appends waiting for
// durability share one fdatasync (group commit); they resolve in offset order. Readers see a batch
// as soon as it is written, before it is durable; `onProgress` listeners hear of both moments, so
// a leader's followers can copy a batch while the leader is still fsyncing it.
//
// Offsets (logStartOffset <= logEndOffset, flushedOffset <= logEndOffset):
//   logStartOffset: the first offset a reader may fetch; moves forward only, except when the log
//     restarts empty below it.
//   logEndOffset: the offset after the last batch written and visible to readers.
//   flushedOffset: every batch below it is durable (fsynced).
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { invariant } from '../../shared/assert.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import {
  BatchView,
  batches,
  stampBaseOffset,
  stampLogAppendTime,
  stampPartitionLeaderEpoch,
  validateBatches,
} from '../../shared/record-batch.ts';
import { TMP_SUFFIX, readCheckpoint, syncDirectory, writeCheckpoint } from './checkpoint-file.ts';
import { type EpochEndOffset, type EpochEntry, LeaderEpochCache } from './leader-epoch-cache.ts';
import { type LogConfig, TAIL_CACHE_BYTES_DEFAULT, checkLogConfig } from './log-config.ts';
import { Segment, type TimestampMatch } from './segment.ts';
import { findSegmentIndex } from './segment-lookup.ts';
import { TailCache } from './tail-cache.ts';

export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
export const HIGH_WATERMARK_CHECKPOINT = 'high-watermark-checkpoint';

/** Offsets inside a segment are int32 relative to its base offset. */
const RELATIVE_OFFSET_MAX = 0x7fffffffn;
const SEGMENT_FILE = /^(\d{20})\.log$/;
const INDEX_FILE = /^(\d{20})\.(index|timeindex)$/;

export interface AppendResult {
  /** First offset of the append; -1 for an append with no batches. */
  baseOffset: bigint;
  lastOffset: bigint;
  /** The broker time stamped on the batches (LogAppendTime topics), else -1. */
  logAppendTimeMs: bigint;
  maxTimestamp: bigint;
  logStartOffset: bigint;
  recordCount: number;
}

export interface ReadResult {
  /** Whole batches; empty when there is nothing to return within the bounds. */
  records: Buffer;
  logStartOffset: bigint;
  logEndOffset: bigint;
}

export interface RetentionResult {
  deletedSegments: number;
  logStartOffset: bigint;
}

export interface PartitionLogOptions {
  /** Milliseconds; the broker clock for segment.ms and LogAppendTime. */
  clock?: () => number;
}

/** A follower append that does not start at the log end offset (or has a gap inside). */
export class UnexpectedAppendOffsetError extends KafkaError {
  override name = 'UnexpectedAppendOffsetError';

  constructor(
    readonly expectedOffset: bigint,
    readonly actualOffset: bigint,
  ) {
    super(
      ErrorCode.UNKNOWN_SERVER_ERROR,
      `follower append at offset ${actualOffset}, log expects ${expectedOffset}`,
    );
  }
}

interface PendingAppend {
  records: Buffer;
  fromLeader: boolean;
  leaderEpoch: number;
  nowMs: number;
  recordCount: number;
  /** How many offsets the append takes. */
  offsetSpan: bigint;
  result: AppendResult | null;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

export class PartitionLog {
  private segments: Segment[] = [];
  private epochs = new LeaderEpochCache();
  private startOffset = 0n;
  private endOffset = 0n;
  private durableOffset = 0n;
  /** The high watermark checkpointed on disk; within [startOffset, endOffset]. */
  private hwCheckpoint = 0n;
  /** The next offset to assign: runs ahead of logEndOffset while a write is in flight. */
  private nextOffset = 0n;

  /** Appends validated and waiting for the writer, in arrival order. */
  private pending: PendingAppend[] = [];
  private drainQueued = false;
  /** Appends written and waiting for an fdatasync, in offset order. */
  private awaitingFlush: PendingAppend[] = [];
  private flushing = false;

  /** Told when the log end or flushed offset grows; see `onProgress`. */
  private readonly listeners = new Set<() => void>();

  private readonly tail: TailCache;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private closed = false;
  private failure: KafkaError | null = null;

  private constructor(
    readonly dir: string,
    readonly config: LogConfig,
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {
    this.tail = new TailCache(config.tailCacheBytes ?? TAIL_CACHE_BYTES_DEFAULT);
  }

  /** Opens (or creates) the log in `dir`, recovering from a crash if there was one. */
  static async open(
    dir: string,
    config: LogConfig,
    logger: Logger,
    options: PartitionLogOptions = {},
  ): Promise<PartitionLog> {
    checkLogConfig(config);
    await mkdir(dir, { recursive: true });

    const log = new PartitionLog(dir, config, logger, options.clock ?? Date.now);
    await log.load();
    return log;
  }

  get logStartOffset(): bigint {
    return this.startOffset;
  }

  get logEndOffset(): bigint {
    return this.endOffset;
  }

  get flushedOffset(): bigint {
    return this.durableOffset;
  }

  /**
   * The high watermark last checkpointed (`saveHighWatermark`), within the log: where a reopened
   * replica starts. The log start offset when none was.
   */
  get highWatermarkCheckpoint(): bigint {
    return this.hwCheckpoint > this.startOffset ? this.hwCheckpoint : this.startOffset;
  }

  /** The latest leader epoch that wrote to (or led) this log, or -1. */
  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  get segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset);
  }

  epochEntries(): EpochEntry[] {
    return this.epochs.list();
  }

  /**
   * Checkpoints a high watermark the partition knows, capped at what is durable here, so that it
   * never points past what recovery keeps. Runs on the write queue (a truncation cannot pass it);
   * meant for every few seconds and at close, not for every move.
   */
  saveHighWatermark(highWatermark: bigint): Promise<void> {
    return this.exclusive(async () => {
      const durable = this.config.fsync === false ? this.endOffset : this.durableOffset;
      const capped = highWatermark < durable ? highWatermark : durable;
      await this.writeHighWatermark(capped > this.startOffset ? capped : this.startOffset);
    });
  }

  /**
   * Calls `listener` each time written batches become visible to readers (the log end offset
   * grew) and each time the flushed offset grows. Called synchronously by the writer, before the
   * appends concerned resolve, so it must be quick and must not throw. Returns its remover.
   */
  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Appends a producer's batches as leader in `leaderEpoch`: validates them, assigns offsets by
   * stamping base offsets and the epoch in place, and resolves once durable (or once written, when
   * config.fsync is false). The log takes ownership of `records`: it is changed in place and kept
   * for tail reads, so the caller must not reuse it.
   */
  async appendAsLeader(
    records: Buffer,
    leaderEpoch: number,
    nowMs = this.clock(),
  ): Promise<AppendResult> {
    this.checkUsable();
    invariant(leaderEpoch >= 0, `leader epoch ${leaderEpoch} is not an epoch`);
    const summary = validateBatches(records, { fromProducer: true });
    this.checkProducedSize(records, summary.batchBytesMax);

    const span = BigInt(summary.recordCount);
    return this.enqueue(records, true, leaderEpoch, nowMs, summary.recordCount, span);
  }

  /**
   * Appends batches fetched from the leader, keeping their offsets and epochs. They must start at
   * the log end offset and be contiguous; otherwise UnexpectedAppendOffsetError. The log keeps
   * `records` for tail reads: the caller must not reuse it.
   */
  async appendAsFollower(records: Buffer, nowMs = this.clock()): Promise<AppendResult> {
    this.checkUsable();
    const summary = validateBatches(records);
    let span = 0n;
    for (const batch of batches(records)) span += BigInt(batch.lastOffsetDelta) + 1n;
    return this.enqueue(records, false, -1, nowMs, summary.recordCount, span);
  }

  /**
   * Whole batches from the one holding `fetchOffset`, within `maxBytes` and below `maxOffset`
   * (exclusive: the high watermark for consumers, the log end for followers). With `minOneBatch`
   * the first batch comes whole even past `maxBytes`. Reads one segment per call. Offsets outside
   * [logStartOffset, logEndOffset] are OFFSET_OUT_OF_RANGE.
   */
  async read(
    fetchOffset: bigint,
    maxBytes: number,
    maxOffset: bigint = this.endOffset,
    minOneBatch = true,
  ): Promise<ReadResult> {
    this.checkUsable();
    const logStartOffset = this.startOffset;
    const logEndOffset = this.endOffset;
    if (fetchOffset < logStartOffset || fetchOffset > logEndOffset) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${fetchOffset} outside [${logStartOffset}, ${logEndOffset}]`,
      );
    }

    const bound = maxOffset < logEndOffset ? maxOffset : logEndOffset;
    if (fetchOffset >= bound) return { records: Buffer.alloc(0), logStartOffset, logEndOffset };

    const segment = this.segmentHolding(fetchOffset);
    const cached =
      segment === this.active ? this.tail.read(fetchOffset, maxBytes, bound, minOneBatch) : null;
    const records = cached ?? (await segment.read(fetchOffset, maxBytes, bound, minOneBatch));
    return { records, logStartOffset, logEndOffset };
  }

  /**
   * The earliest record at or after the log start offset and below `maxOffset` whose timestamp is
   * at or above `timestamp` (ListOffsets by time), looking inside batches; null when none is.
   */
  async offsetForTimestamp(
    timestamp: bigint,
    maxOffset: bigint = this.endOffset,
  ): Promise<TimestampMatch | null> {
    this.checkUsable();
    // Segments may be deleted between two awaits, so the list is looked up afresh each step.
    let after = -1n;
    for (;;) {
      const segment = this.segments.find((s) => s.baseOffset > after);
      if (!segment || segment.baseOffset >= maxOffset) return null;
      after = segment.baseOffset;

      if (segment.nextOffset <= this.startOffset || segment.maxTimestamp < timestamp) continue;
      const match = await segment.findByTimestamp(timestamp, this.startOffset, maxOffset);
      if (match) return match;
    }
  }

  /** Where `leaderEpoch` ended in this log, as OffsetsForLeaderEpoch answers. */
  endOffsetForEpoch(leaderEpoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(leaderEpoch, this.endOffset);
  }

  /**
   * Removes every batch at or beyond `offset`; a batch holding `offset` goes whole, so the new log
   * end offset (returned) may be lower. Below the log start offset, the log restarts empty there.
   */
  truncateTo(offset: bigint): Promise<bigint> {
    return this.exclusive(async () => {
      if (offset >= this.endOffset) return this.endOffset;
      if (offset < this.startOffset) {
        await this.restartAt(offset);
        return offset;
      }

      await this.flushNow();
      const holding = findSegmentIndex(this.segments, offset);
      await this.deleteSegments(this.segments.splice(holding + 1));
      const end = await this.active.truncateTo(offset);
      if (end < this.startOffset) {
        // The batch holding `offset` also held the log start: nothing readable is left.
        await this.restartAt(this.startOffset);
        return this.startOffset;
      }

      if (this.hwCheckpoint > end) await this.writeHighWatermark(end);
      this.setLogEnd(end);
      if (this.epochs.truncateFromEnd(end)) await this.saveEpochs();
      this.logger.info({ offset, logEndOffset: end }, 'log truncated');
      return end;
    });
  }

  /** Empties the log and starts it again at `offset` (a follower far behind its leader). */
  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    return this.exclusive(() => this.restartAt(offset));
  }

  /**
   * Moves the log start offset forward to `offset` (DeleteRecords, or a follower following its
   * leader's log start) and deletes segments wholly below it. Returns the log start offset.
   */
  deleteRecordsBefore(offset: bigint): Promise<bigint> {
    return this.exclusive(async () => {
      if (offset < 0n || offset > this.endOffset) {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `cannot delete below ${offset}: log ends at ${this.endOffset}`,
        );
      }
      if (offset <= this.startOffset) return this.startOffset;

      await this.moveLogStart(offset);
      if (this.active.nextOffset <= offset && !this.active.isEmpty) await this.rollActive();
      await this.deleteSegments(this.segments.splice(0, this.segmentsWhollyBelow(offset)));
      return this.startOffset;
    });
  }

  /**
   * Deletes whole segments past retention.ms (by their newest record) or beyond retention.bytes
   * (oldest first), only those wholly below `maxOffset` (the high watermark). The active segment
   * counts too: when it must go, a new empty one is rolled first.
   */
  applyRetention(nowMs = this.clock(), maxOffset = this.endOffset): Promise<RetentionResult> {
    return this.exclusive(async () => {
      const count = this.expiredSegmentCount(nowMs, maxOffset);
      if (count === 0) return { deletedSegments: 0, logStartOffset: this.startOffset };

      if (count === this.segments.length) await this.rollActive();
      const newStart = this.segments[count].baseOffset;
      if (newStart > this.startOffset) await this.moveLogStart(newStart);
      await this.deleteSegments(this.segments.splice(0, count));

      this.logger.info({ deletedSegments: count, logStartOffset: this.startOffset }, 'retention');
      return { deletedSegments: count, logStartOffset: this.startOffset };
    });
  }

  /** Closes the active segment and starts a new one at the log end offset (if it has data). */
  roll(): Promise<void> {
    return this.exclusive(() => this.rollActive());
  }

  /** Makes everything written durable, whatever config.fsync says. */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushNow());
  }

  /** Finishes queued writes, flushes, and closes files. Later calls fail. */
  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      if (!this.failure) await this.flushNow();
      for (const segment of this.segments) await segment.close();
      this.closed = true;
    }, true);
    return this.closing;
  }

  /** Closes the log and removes its directory. */
  async delete(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  // ---- loading and recovery

  private async load(): Promise<void> {
    const names = await readdir(this.dir);
    const segmentNames = new Set(names.map((n) => SEGMENT_FILE.exec(n)?.[1]));
    const leftovers = names.filter((n) => {
      const indexOf = INDEX_FILE.exec(n)?.[1];
      return n.endsWith(TMP_SUFFIX) || (indexOf !== undefined && !segmentNames.has(indexOf));
    });
    for (const name of leftovers) await unlink(join(this.dir, name));

    const baseOffsets = [...segmentNames]
      .filter((m): m is string => m !== undefined)
      .map((m) => BigInt(m))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const scannedEpochs = await this.loadSegments(baseOffsets);
    await this.loadCheckpoints(scannedEpochs);
    await this.loadHighWatermark();
    await this.active.sync();
    this.durableOffset = this.endOffset;

    this.logger.info(
      {
        logStartOffset: this.startOffset,
        logEndOffset: this.endOffset,
        segments: this.segments.length,
      },
      'log opened',
    );
  }

  /**
   * Opens every segment: sealed ones from their index files, the last one (and any whose indexes
   * are missing or implausible) by scanning, which also cuts a torn tail. A segment cut short
   * leaves a gap, so the segments after it are dropped. Returns the epochs seen while scanning.
   */
  private async loadSegments(baseOffsets: bigint[]): Promise<EpochEntry[]> {
    const seenEpochs: EpochEntry[] = [];
    const interval = this.config.indexIntervalBytes;

    for (let i = 0; i < baseOffsets.length; i++) {
      const segment = await Segment.open(this.dir, baseOffsets[i], interval);
      const next = baseOffsets[i + 1];
      this.segments.push(segment);
      if (next !== undefined && (await segment.loadSealed(next))) continue;

      const outcome = await segment.recover((batch) => {
        seenEpochs.push({ epoch: batch.partitionLeaderEpoch, startOffset: batch.baseOffset });
      });
      if (outcome.truncatedBytes > 0) {
        this.logger.warn(
          {
            segment: segment.baseOffset,
            truncatedBytes: outcome.truncatedBytes,
            reason: outcome.reason,
          },
          'cut damaged log tail',
        );
      }
      if (next === undefined) break;

      if (segment.nextOffset === next) {
        await segment.seal();
        continue;
      }
      this.logger.error(
        { segment: segment.baseOffset, endOffset: segment.nextOffset, nextSegment: next },
        'log has a gap after recovery; dropping later segments',
      );
      await this.deleteStaleFiles(baseOffsets.slice(i + 1));
      break;
    }

    if (this.segments.length === 0) {
      this.segments.push(await Segment.create(this.dir, 0n, interval));
      await syncDirectory(this.dir);
    }
    this.setLogEnd(this.active.nextOffset);
    return seenEpochs;
  }

  private async loadCheckpoints(scannedEpochs: EpochEntry[]): Promise<void> {
    const startText = await readCheckpoint(this.dir, LOG_START_OFFSET_CHECKPOINT);
    const checkpointed = startText && /^\d+\s*$/.test(startText) ? BigInt(startText.trim()) : 0n;
    const firstBase = this.segments[0].baseOffset;
    this.startOffset = checkpointed > firstBase ? checkpointed : firstBase;

    const epochText = await readCheckpoint(this.dir, LEADER_EPOCH_CHECKPOINT);
    const parsed = epochText === null ? null : LeaderEpochCache.parse(epochText);
    this.epochs = parsed ?? (await this.epochsFromSealedSegments());
    // Epochs starting at the log end had their first batch torn away, and are dropped; except
    // when deleted records moved the log start up to the end: the epoch kept there by that
    // deletion is still the log's latest.
    const emptiedByDeletion = checkpointed > 0n && checkpointed === this.endOffset;
    this.epochs.truncateFromEnd(emptiedByDeletion ? this.endOffset + 1n : this.endOffset);
    for (const seen of scannedEpochs) {
      // The epoch field is outside the CRC: a damaged one must not break the cache's order.
      if (seen.startOffset >= this.epochs.latestStartOffset) {
        this.epochs.assign(seen.epoch, seen.startOffset);
      }
    }

    if (this.startOffset > this.endOffset) {
      await this.restartAt(this.startOffset);
      return;
    }
    await this.deleteSegments(this.segments.splice(0, this.segmentsWhollyBelow(this.startOffset)));
    this.epochs.truncateFromStart(this.startOffset);
    await this.saveEpochs();
  }

  /** The checkpointed high watermark, cut to the recovered log; the log start without one. */
  private async loadHighWatermark(): Promise<void> {
    const text = await readCheckpoint(this.dir, HIGH_WATERMARK_CHECKPOINT);
    const saved = text && /^\d+\s*$/.test(text) ? BigInt(text.trim()) : 0n;
    const capped = saved < this.endOffset ? saved : this.endOffset;
    this.hwCheckpoint = capped > this.startOffset ? capped : this.startOffset;
  }

  /** Without a checkpoint, epochs are read back from the batch headers of sealed segments. */
  private async epochsFromSealedSegments(): Promise<LeaderEpochCache> {
    const cache = new LeaderEpochCache();
    for (const segment of this.segments.filter((s) => s.sealed)) {
      await segment.forEachHeader((b) => cache.assign(b.partitionLeaderEpoch, b.baseOffset));
    }
    return cache;
  }

  private async deleteStaleFiles(baseOffsets: bigint[]): Promise<void> {
    for (const baseOffset of baseOffsets) {
      const stale = await Segment.open(this.dir, baseOffset, this.config.indexIntervalBytes);
      await stale.delete();
    }
  }

  // ---- the write path

  private checkProducedSize(records: Buffer, batchBytesMax: number): void {
    const { maxMessageBytes, segmentBytes } = this.config;
    if (batchBytesMax > maxMessageBytes) {
      throw new KafkaError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `batch of ${batchBytesMax} bytes exceeds max.message.bytes ${maxMessageBytes}`,
      );
    }
    if (records.length > segmentBytes) {
      throw new KafkaError(
        ErrorCode.RECORD_LIST_TOO_LARGE,
        `${records.length} bytes exceed segment.bytes ${segmentBytes}`,
      );
    }
  }

  private enqueue(
    records: Buffer,
    fromLeader: boolean,
    leaderEpoch: number,
    nowMs: number,
    recordCount: number,
    offsetSpan: bigint,
  ): Promise<AppendResult> {
    if (records.length === 0) return Promise.resolve(this.emptyAppendResult());

    return new Promise((resolve, reject) => {
      this.pending.push({
        records,
        fromLeader,
        leaderEpoch,
        nowMs,
        recordCount,
        offsetSpan,
        result: null,
        resolve,
        reject,
      });
      if (this.drainQueued) return;
      this.drainQueued = true;
      void this.exclusive(() => this.drain()).catch(() => undefined);
    });
  }

  /**
   * Takes every pending append: assigns offsets, rolls when an append would not fit, and writes
   * runs of appends with one writev each.
   */
  private async drain(): Promise<void> {
    this.drainQueued = false;
    const appends = this.pending.splice(0);
    let group: PendingAppend[] = [];
    let groupBytes = 0;

    for (const append of appends) {
      try {
        if (this.failure) throw this.failure;
        if (this.shouldRoll(groupBytes, append)) {
          await this.writeGroup(group);
          [group, groupBytes] = [[], 0];
          await this.rollActive();
        }
        await this.assign(append);
      } catch (err) {
        append.reject(err);
        continue;
      }
      group.push(append);
      groupBytes += append.records.length;
    }
    await this.writeGroup(group);
  }

  private shouldRoll(groupBytes: number, append: PendingAppend): boolean {
    const active = this.active;
    if (active.isEmpty && groupBytes === 0) return false;

    const tooBig = active.sizeBytes + groupBytes + append.records.length > this.config.segmentBytes;
    const startedMs = active.rollStartMs ?? append.nowMs;
    const tooOld = append.nowMs - startedMs >= this.config.segmentMs;
    const offsetsOverflow =
      this.nextOffset + append.offsetSpan - active.baseOffset > RELATIVE_OFFSET_MAX;
    return tooBig || tooOld || offsetsOverflow;
  }

  private assign(append: PendingAppend): Promise<void> {
    return append.fromLeader ? this.assignAsLeader(append) : this.assignAsFollower(append);
  }

  private async assignAsLeader(append: PendingAppend): Promise<void> {
    const epoch = append.leaderEpoch;
    if (epoch < this.epochs.latestEpoch) {
      throw new KafkaError(
        ErrorCode.FENCED_LEADER_EPOCH,
        `append in epoch ${epoch}, log has epoch ${this.epochs.latestEpoch}`,
      );
    }
    if (this.epochs.assign(epoch, this.nextOffset)) await this.saveEpochs();

    const appendTime = this.config.timestampType === 'LogAppendTime';
    const baseOffset = this.nextOffset;
    let maxTimestamp = -1n;
    let offset = baseOffset;

    for (const batch of batches(append.records)) {
      stampBaseOffset(batch.buffer, batch.position, offset);
      stampPartitionLeaderEpoch(batch.buffer, batch.position, epoch);
      if (appendTime) stampLogAppendTime(batch.buffer, batch.position, BigInt(append.nowMs));
      maxTimestamp = batch.maxTimestamp > maxTimestamp ? batch.maxTimestamp : maxTimestamp;
      offset = batch.nextOffset;
    }

    this.nextOffset = offset;
    append.result = {
      baseOffset,
      lastOffset: offset - 1n,
      logAppendTimeMs: appendTime ? BigInt(append.nowMs) : -1n,
      maxTimestamp,
      logStartOffset: this.startOffset,
      recordCount: append.recordCount,
    };
  }

  private async assignAsFollower(append: PendingAppend): Promise<void> {
    const views: BatchView[] = [...batches(append.records)];
    let expected = this.nextOffset;
    for (const batch of views) {
      if (batch.baseOffset !== expected) {
        throw new UnexpectedAppendOffsetError(expected, batch.baseOffset);
      }
      expected = batch.nextOffset;
    }

    let epochsChanged = false;
    let maxTimestamp = -1n;
    for (const batch of views) {
      epochsChanged =
        this.epochs.assign(batch.partitionLeaderEpoch, batch.baseOffset) || epochsChanged;
      maxTimestamp = batch.maxTimestamp > maxTimestamp ? batch.maxTimestamp : maxTimestamp;
    }
    if (epochsChanged) await this.saveEpochs();

    append.result = {
      baseOffset: this.nextOffset,
      lastOffset: expected - 1n,
      logAppendTimeMs: -1n,
      maxTimestamp,
      logStartOffset: this.startOffset,
      recordCount: append.recordCount,
    };
    this.nextOffset = expected;
  }

  /** Writes a run of assigned appends; they resolve now, or after the next fdatasync. */
  private async writeGroup(group: PendingAppend[]): Promise<void> {
    if (group.length === 0) return;
    try {
      await this.active.append(
        group.map((a) => a.records),
        group[0].nowMs,
      );
    } catch (err) {
      this.fail(err, 'write failed');
      for (const append of group) append.reject(this.failure);
      return;
    }

    this.setLogEnd(this.active.nextOffset);
    invariant(this.endOffset === this.nextOffset, 'written end matches assigned offsets');
    for (const { records, result } of group) {
      this.tail.append(records, result!.baseOffset, result!.lastOffset + 1n);
    }
    this.emitProgress();

    if (this.config.fsync === false) {
      for (const append of group) append.resolve(append.result!);
      return;
    }
    this.awaitingFlush.push(...group);
    this.startFlush();
  }

  /** Group commit: one fdatasync at a time covers everything written before it started. */
  private startFlush(): void {
    if (this.flushing || this.awaitingFlush.length === 0 || this.failure) return;
    this.flushing = true;
    const segment = this.active;
    const target = segment.nextOffset;

    segment.sync().then(
      () => {
        this.flushing = false;
        this.markFlushed(target);
        this.startFlush();
      },
      (err: unknown) => {
        this.flushing = false;
        this.fail(err, 'fdatasync failed');
      },
    );
  }

  private markFlushed(offset: bigint): void {
    const durable = offset < this.endOffset ? offset : this.endOffset;
    if (durable > this.durableOffset) {
      this.durableOffset = durable;
      this.emitProgress();
    }

    while (this.awaitingFlush.length > 0) {
      const append = this.awaitingFlush[0];
      if (append.result!.lastOffset >= this.durableOffset) break;
      this.awaitingFlush.shift();
      append.resolve(append.result!);
    }
  }

  /** Flushes the active segment; older segments were flushed when sealed. */
  private async flushNow(): Promise<void> {
    await this.active.sync();
    this.markFlushed(this.active.nextOffset);
  }

  // ---- segments

  private get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private segmentHolding(offset: bigint): Segment {
    let i = findSegmentIndex(this.segments, offset);
    invariant(i >= 0, `offset ${offset} is below the first segment`);
    while (i < this.segments.length - 1 && offset >= this.segments[i].nextOffset) i += 1;
    return this.segments[i];
  }

  private async rollActive(): Promise<void> {
    const old = this.active;
    if (old.isEmpty) return;
    invariant(this.nextOffset === this.endOffset, 'roll with no write in flight');

    await old.seal();
    this.markFlushed(old.nextOffset);
    this.tail.clear();
    const segment = await Segment.create(this.dir, this.endOffset, this.config.indexIntervalBytes);
    await syncDirectory(this.dir);
    this.segments.push(segment);
    this.logger.info({ baseOffset: segment.baseOffset }, 'segment rolled');
  }

  /** Deletes segments already taken out of the list (so no new reader can find them). */
  private async deleteSegments(removed: Segment[]): Promise<void> {
    for (const segment of removed) await segment.delete();
  }

  /** How many leading segments retention deletes; each prefix counted stops at the first miss. */
  private expiredSegmentCount(nowMs: number, maxOffset: bigint): number {
    const { retentionMs, retentionBytes } = this.config;
    const segments = this.segments;
    let limit = 0;
    while (limit < segments.length && !segments[limit].isEmpty) {
      if (segments[limit].nextOffset > maxOffset) break;
      limit += 1;
    }

    let byTime = 0;
    if (retentionMs >= 0) {
      const cutoff = BigInt(nowMs - retentionMs);
      while (byTime < limit && segments[byTime].maxTimestamp < cutoff) byTime += 1;
    }

    let bySize = 0;
    let excess = this.sizeBytes - retentionBytes;
    while (retentionBytes >= 0 && bySize < limit && segments[bySize].sizeBytes <= excess) {
      excess -= segments[bySize].sizeBytes;
      bySize += 1;
    }
    return Math.max(byTime, bySize);
  }

  /** Leading segments whose every offset is below `offset` (never the last one). */
  private segmentsWhollyBelow(offset: bigint): number {
    let count = 0;
    while (count < this.segments.length - 1 && this.segments[count + 1].baseOffset <= offset) {
      count += 1;
    }
    return count;
  }

  private async restartAt(offset: bigint): Promise<void> {
    await this.flushNow();
    await this.deleteSegments(this.segments.splice(0));
    this.segments.push(await Segment.create(this.dir, offset, this.config.indexIntervalBytes));
    await syncDirectory(this.dir);

    this.tail.clear();
    this.startOffset = offset;
    this.nextOffset = offset;
    this.endOffset = offset;
    this.durableOffset = offset;
    this.epochs = new LeaderEpochCache();
    await this.writeHighWatermark(offset);
    await this.saveLogStart();
    await this.saveEpochs();
    this.logger.info({ offset }, 'log restarted empty');
  }

  private async moveLogStart(offset: bigint): Promise<void> {
    this.startOffset = offset;
    await this.saveLogStart();
    if (this.epochs.truncateFromStart(offset)) await this.saveEpochs();
  }

  private setLogEnd(offset: bigint): void {
    if (offset < this.endOffset) this.tail.clear();
    this.endOffset = offset;
    this.nextOffset = offset;
    if (this.durableOffset > offset) this.durableOffset = offset;
  }

  private emitProgress(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private saveEpochs(): Promise<void> {
    return writeCheckpoint(this.dir, LEADER_EPOCH_CHECKPOINT, this.epochs.serialize());
  }

  private async writeHighWatermark(offset: bigint): Promise<void> {
    if (offset === this.hwCheckpoint) return;
    await writeCheckpoint(this.dir, HIGH_WATERMARK_CHECKPOINT, `${offset}\n`);
    this.hwCheckpoint = offset;
  }

  private saveLogStart(): Promise<void> {
    return writeCheckpoint(this.dir, LOG_START_OFFSET_CHECKPOINT, `${this.startOffset}\n`);
  }

  // ---- lifecycle

  /** Runs `task` after every write queued before it; refused once the log is closing. */
  private exclusive<T>(task: () => Promise<T>, closing = false): Promise<T> {
    try {
      if (!closing) this.checkUsable();
    } catch (err) {
      return Promise.reject(err);
    }

    const run = this.queue.then(() => {
      if (this.closed) throw this.closedError();
      if (this.failure && !closing) throw this.failure;
      return task();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Refuses new work once closing or failed; work queued before close still runs. */
  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw this.closedError();
  }

  private closedError(): KafkaError {
    return new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is closed`);
  }

  /**
   * A write or fsync failed: what is on disk is no longer known, so the log refuses all further
   * work (like a failed log directory); reopening recovers it.
   */
  private fail(err: unknown, message: string): void {
    this.failure ??= new KafkaError(
      ErrorCode.KAFKA_STORAGE_ERROR,
      `${message}: ${(err as Error).message}`,
    );
    this.logger.error({ err, dir: this.dir }, 'log failed');

    for (const append of [...this.awaitingFlush, ...this.pending]) append.reject(this.failure);
    this.awaitingFlush = [];
    this.pending = [];
  }

  private emptyAppendResult(): AppendResult {
    return {
      baseOffset: -1n,
      lastOffset: -1n,
      logAppendTimeMs: -1n,
      maxTimestamp: -1n,
      logStartOffset: this.startOffset,
      recordCount: 0,
    };
  }
}
