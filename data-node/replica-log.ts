// What the replication cores read of a partition's log, adapted from PartitionLog: its leader
// epoch history (with the epoch a new leader has not written yet, as Kafka assigns it when a
// replica becomes leader), its durable end offset, and a walk over its batch headers that rebuilds
// the idempotent producer table when a log is opened.
import { LeaderEpochCache } from './log/leader-epoch-cache.ts';
import type { PartitionLog } from './log/partition-log.ts';
import type { EpochHistory } from './replication/divergence.ts';
import type { LoggedProducerBatch } from './replication/producer-state.ts';
import { batches } from '../shared/record-batch.ts';

/** Bytes read per step when walking a log's batch headers. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

/**
 * The log's epoch history. While this replica leads `leading.epoch` and has not appended in it yet,
 * the epoch is shown as starting at `leading.startOffset`: a follower asking where its own latest
 * epoch ended then gets a precise answer instead of none.
 */
export function epochHistoryOf(
  log: PartitionLog,
  leading: { epoch: number; startOffset: bigint } | null = null,
): EpochHistory {
  const cache = (): LeaderEpochCache => {
    const entries = log.epochEntries();
    const last = entries[entries.length - 1];
    const unwritten = leading !== null && (last === undefined || last.epoch < leading.epoch);
    if (unwritten) entries.push({ epoch: leading.epoch, startOffset: leading.startOffset });
    return new LeaderEpochCache(entries);
  };

  return {
    get latestEpoch() {
      return cache().latestEpoch;
    },
    epochAt: (offset) => cache().epochAt(offset),
    endOffsetFor: (epoch, logEndOffset) => cache().endOffsetFor(epoch, logEndOffset),
  };
}

/**
 * The end of what is on disk. With fsync turned off (tests, benchmarks) nothing is ever known to
 * be durable, so the written end stands in for it; such a node may lose acknowledged records.
 */
export function durableEndOf(log: PartitionLog, fsync: boolean): bigint {
  return fsync ? log.flushedOffset : log.logEndOffset;
}

/** Every batch with a producer id in `log`, in offset order, read from the log start. */
export async function* producerBatchesOf(log: PartitionLog): AsyncGenerator<LoggedProducerBatch> {
  let offset = log.logStartOffset;

  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, SCAN_CHUNK_BYTES, log.logEndOffset, true);
    if (records.length === 0) return;

    for (const batch of batches(records)) {
      offset = batch.nextOffset;
      if (batch.producerId < 0n) continue;
      yield {
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        lastOffsetDelta: batch.lastOffsetDelta,
        baseOffset: batch.baseOffset,
        maxTimestamp: batch.maxTimestamp,
      };
    }
  }
}
