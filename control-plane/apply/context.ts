// What a command handler of the state machine works with: the open transaction, the command's log
// index and clock, and a way to record metadata changes for data nodes. Also the one helper that
// rewrites partitions across topics, shared by the handlers of data nodes and topics.
import type {
  MetadataChange,
  PartitionRecord,
  TopicRecord,
} from '../../shared/cluster-metadata.ts';
import { effectiveTopicConfig } from '../../shared/topic-config.ts';
import type { StateTx } from '../db/database.ts';
import { readDataNodes, readMeta, readTopics, writeMeta, writePartition } from '../db/queries.ts';
import { metadataChanges } from '../db/schema.ts';
import type { Eligible } from '../partition-change.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ChangeBody = DistributiveOmit<MetadataChange, 'version'>;

export interface ApplyContext {
  readonly tx: StateTx;
  /** Log index of the command being applied. */
  readonly index: number;
  /** The proposer's clock when the command entered the log. */
  readonly now: number;
  /** Records one change at the next metadata version. */
  emit(change: ChangeBody): void;
}

export function createApplyContext(tx: StateTx, index: number, now: number): ApplyContext {
  return {
    tx,
    index,
    now,
    emit(change) {
      const version = readMeta(tx, 'metadataVersion') + 1;
      const full = { ...change, version } as MetadataChange;
      tx.insert(metadataChanges)
        .values({ version, change: JSON.stringify(full) })
        .run();
      writeMeta(tx, 'metadataVersion', version);
    },
  };
}

/** Registered, unfenced data nodes: the only ones that may lead or join an ISR. */
export function eligibleNodes(tx: StateTx): Eligible {
  const ids = new Set(
    readDataNodes(tx)
      .filter((n) => !n.fenced)
      .map((n) => n.nodeId),
  );
  return (nodeId) => ids.has(nodeId);
}

export function uncleanElectionAllowed(topic: TopicRecord): boolean {
  return effectiveTopicConfig(topic.configs).uncleanLeaderElectionEnable;
}

/**
 * Runs `change` over every partition of every topic, stores the partitions it changed, and
 * records one change per topic touched. Returns the number of partitions changed.
 */
export function updatePartitions(
  ctx: ApplyContext,
  change: (topic: TopicRecord, p: PartitionRecord) => PartitionRecord,
): number {
  let changed = 0;

  for (const topic of readTopics(ctx.tx)) {
    const next = topic.partitions.map((p) => change(topic, p));
    const touched = next.filter((p, i) => p !== topic.partitions[i]);
    if (touched.length === 0) continue;

    for (const p of touched) writePartition(ctx.tx, topic.name, p);
    ctx.emit({ kind: 'topic', topic: { ...topic, partitions: next } });
    changed += touched.length;
  }
  return changed;
}
