// Reads and small writes of the state machine tables, shared by the state machine (inside its
// transaction) and the HTTP handlers (reading committed state). Every list is read in a fixed
// order so that two controllers holding the same rows answer with the same bytes.
import { and, asc, eq, gt, inArray, lte } from 'drizzle-orm';
import type {
  ClusterSnapshot,
  DataNodeRecord,
  MetadataChange,
  PartitionRecord,
  TopicRecord,
} from '../../shared/cluster-metadata.ts';
import type { StateTx } from './database.ts';
import {
  cluster,
  dataNodes,
  groupOffsets,
  meta,
  metadataChanges,
  partitions,
  topics,
} from './schema.ts';

export type MetaKey = 'appliedIndex' | 'metadataVersion';

export function readMeta(tx: StateTx, key: MetaKey): number {
  const row = tx.select({ value: meta.value }).from(meta).where(eq(meta.key, key)).get();
  return row?.value ?? 0;
}

export function writeMeta(tx: StateTx, key: MetaKey, value: number): void {
  tx.insert(meta)
    .values({ key, value })
    .onConflictDoUpdate({ target: meta.key, set: { value } })
    .run();
}

export function readClusterId(tx: StateTx): string | null {
  return tx.select({ clusterId: cluster.clusterId }).from(cluster).get()?.clusterId ?? null;
}

export function readDataNodes(tx: StateTx): DataNodeRecord[] {
  return tx.select().from(dataNodes).orderBy(asc(dataNodes.nodeId)).all().map(toDataNodeRecord);
}

export function readDataNode(tx: StateTx, nodeId: number): DataNodeRecord | undefined {
  const row = tx.select().from(dataNodes).where(eq(dataNodes.nodeId, nodeId)).get();
  return row === undefined ? undefined : toDataNodeRecord(row);
}

function toDataNodeRecord(row: typeof dataNodes.$inferSelect): DataNodeRecord {
  const { nodeId, host, kafkaPort, rack, incarnationId, brokerEpoch, fenced } = row;
  return { nodeId, host, kafkaPort, rack, incarnationId, brokerEpoch, fenced };
}

export function readTopicNames(tx: StateTx): string[] {
  return tx
    .select({ name: topics.name })
    .from(topics)
    .orderBy(asc(topics.name))
    .all()
    .map((row) => row.name);
}

export function readTopic(tx: StateTx, name: string): TopicRecord | undefined {
  const row = tx.select().from(topics).where(eq(topics.name, name)).get();
  if (row === undefined) return undefined;

  const rows = tx
    .select()
    .from(partitions)
    .where(eq(partitions.topic, name))
    .orderBy(asc(partitions.partition))
    .all();
  return { name, topicId: row.topicId, configs: row.configs, partitions: rows.map(toPartition) };
}

export function readTopics(tx: StateTx): TopicRecord[] {
  const byTopic = new Map<string, PartitionRecord[]>();
  const rows = tx
    .select()
    .from(partitions)
    .orderBy(asc(partitions.topic), asc(partitions.partition))
    .all();
  for (const row of rows)
    byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), toPartition(row)]);

  return tx
    .select()
    .from(topics)
    .orderBy(asc(topics.name))
    .all()
    .map((t) => ({
      name: t.name,
      topicId: t.topicId,
      configs: t.configs,
      partitions: byTopic.get(t.name) ?? [],
    }));
}

function toPartition(row: typeof partitions.$inferSelect): PartitionRecord {
  const { partition, replicas, leader, leaderEpoch, isr, partitionEpoch } = row;
  return { partition, replicas, leader, leaderEpoch, isr, partitionEpoch };
}

export function writePartition(tx: StateTx, topic: string, p: PartitionRecord): void {
  const row = { topic, ...p };
  tx.insert(partitions)
    .values(row)
    .onConflictDoUpdate({ target: [partitions.topic, partitions.partition], set: row })
    .run();
}

export function readSnapshot(tx: StateTx): ClusterSnapshot {
  return {
    clusterId: readClusterId(tx) ?? '',
    version: readMeta(tx, 'metadataVersion'),
    dataNodes: readDataNodes(tx),
    topics: readTopics(tx),
  };
}

/** Lowest retained change version, or null when none is retained. */
export function readOldestChangeVersion(tx: StateTx): number | null {
  const row = tx
    .select({ version: metadataChanges.version })
    .from(metadataChanges)
    .orderBy(asc(metadataChanges.version))
    .limit(1)
    .get();
  return row?.version ?? null;
}

export function readChangesAfter(tx: StateTx, version: number, limit: number): MetadataChange[] {
  return tx
    .select()
    .from(metadataChanges)
    .where(gt(metadataChanges.version, version))
    .orderBy(asc(metadataChanges.version))
    .limit(limit)
    .all()
    .map((row) => JSON.parse(row.change) as MetadataChange);
}

export function pruneChangesUpTo(tx: StateTx, version: number): void {
  tx.delete(metadataChanges).where(lte(metadataChanges.version, version)).run();
}

export interface StoredOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimeMs: number;
}

/** Committed offsets of a group, optionally only for some topics, by topic then partition. */
export function readGroupOffsets(
  tx: StateTx,
  groupId: string,
  topicNames: readonly string[] | null,
): StoredOffset[] {
  const byGroup = eq(groupOffsets.groupId, groupId);
  const where =
    topicNames === null ? byGroup : and(byGroup, inArray(groupOffsets.topic, [...topicNames]));

  return tx
    .select()
    .from(groupOffsets)
    .where(where)
    .orderBy(asc(groupOffsets.topic), asc(groupOffsets.partition))
    .all()
    .map(({ topic, partition, offset, leaderEpoch, metadata, commitTimeMs }) => ({
      topic,
      partition,
      offset,
      leaderEpoch,
      metadata,
      commitTimeMs,
    }));
}

/** Ids of the groups that have committed offsets, sorted. */
export function readGroupIds(tx: StateTx): string[] {
  return tx
    .selectDistinct({ groupId: groupOffsets.groupId })
    .from(groupOffsets)
    .orderBy(asc(groupOffsets.groupId))
    .all()
    .map((row) => row.groupId);
}
