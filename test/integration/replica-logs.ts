// Reads a partition replica's segment files straight from a data node's directory, without going
// through the node: the batches exactly as stored, to compare replicas byte for byte. A segment's
// unfinished tail (a crash mid-write) is left out, as recovery would cut it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { batches, decodeRecords } from '../../shared/record-batch.ts';

export interface StoredBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  leaderEpoch: number;
  producerId: bigint;
  baseSequence: number;
  /** The whole batch as stored. */
  bytes: Buffer;
}

/** Every whole batch of the replica in `dir`, in offset order; empty when the dir is missing. */
export function readReplicaBatches(dir: string): StoredBatch[] {
  if (!existsSync(dir)) return [];
  const segments = readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .sort();

  const found: StoredBatch[] = [];
  for (const name of segments) {
    const bytes = readFileSync(join(dir, name));
    for (const batch of batches(bytes)) {
      found.push({
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        leaderEpoch: batch.partitionLeaderEpoch,
        producerId: batch.producerId,
        baseSequence: batch.baseSequence,
        bytes: Buffer.from(bytes.subarray(batch.position, batch.end)),
      });
    }
  }
  return found;
}

/** The record values of stored batches, by offset. */
export function valuesByOffset(stored: readonly StoredBatch[]): Map<bigint, string> {
  const values = new Map<bigint, string>();
  for (const batch of stored) {
    for (const record of decodeRecords(batch.bytes))
      values.set(record.offset, String(record.value));
  }
  return values;
}
