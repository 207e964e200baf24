// The cluster metadata that data nodes follow: what the controller has committed about data
// nodes, topics, partition leaders, ISR and epochs. The controller sends it as an ordered stream of
// changes, each tagged with its metadata version: a counter the state machine bumps once per change
// (one command may make several changes), so any two views can be compared by version.
// Schemas are zod so both sides validate what crosses.
import { z } from 'zod';

export const DataNodeRecord = z.object({
  nodeId: z.number().int().nonnegative(),
  host: z.string(),
  kafkaPort: z.number().int(),
  rack: z.string().nullable(),
  /** Random per process start; a restarted node registers with a new one. */
  incarnationId: z.string(),
  /** Bumped by the controller at each registration; requests carrying an older one are stale. */
  brokerEpoch: z.number().int(),
  /** A fenced node missed its heartbeats (or was replaced) and must not lead any partition. */
  fenced: z.boolean(),
});
export type DataNodeRecord = z.infer<typeof DataNodeRecord>;

export const PartitionRecord = z.object({
  partition: z.number().int().nonnegative(),
  /** Replica node ids; the first is the preferred leader. */
  replicas: z.array(z.number().int()),
  /** Current leader node id, or -1 when no replica can lead. */
  leader: z.number().int(),
  /** Bumped at every leader change. */
  leaderEpoch: z.number().int(),
  isr: z.array(z.number().int()),
  /** Bumped at every change of this record (leader or ISR); ISR change requests carry it. */
  partitionEpoch: z.number().int(),
});
export type PartitionRecord = z.infer<typeof PartitionRecord>;

export const TopicRecord = z.object({
  name: z.string(),
  /** UUID in canonical form; Fetch v13+ and Metadata v10+ name topics by id. */
  topicId: z.string(),
  /** Explicitly set topic configs only; defaults are applied by readers (shared/topic-config.ts). */
  configs: z.record(z.string(), z.string()),
  partitions: z.array(PartitionRecord),
});
export type TopicRecord = z.infer<typeof TopicRecord>;

export const ClusterSnapshot = z.object({
  clusterId: z.string(),
  version: z.number().int().nonnegative(),
  dataNodes: z.array(DataNodeRecord),
  topics: z.array(TopicRecord),
});
export type ClusterSnapshot = z.infer<typeof ClusterSnapshot>;

/** One committed change; applying them in version order to a snapshot gives the next snapshot. */
export const MetadataChange = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('data-node'), version: z.number().int(), dataNode: DataNodeRecord }),
  z.object({ kind: z.literal('topic'), version: z.number().int(), topic: TopicRecord }),
  z.object({
    kind: z.literal('topic-deleted'),
    version: z.number().int(),
    name: z.string(),
    topicId: z.string(),
  }),
]);
export type MetadataChange = z.infer<typeof MetadataChange>;

export const MetadataResponse = z.object({
  version: z.number().int().nonnegative(),
  snapshot: ClusterSnapshot.optional(),
  changes: z.array(MetadataChange).optional(),
});
export type MetadataResponse = z.infer<typeof MetadataResponse>;

/** Applies changes in order; a pure function so views can be rebuilt and compared in tests. */
export function applyMetadataChanges(
  snapshot: ClusterSnapshot,
  changes: readonly MetadataChange[],
): ClusterSnapshot {
  let { dataNodes, topics, version } = snapshot;

  for (const change of changes) {
    if (change.version <= version) continue;
    if (change.kind === 'data-node') {
      dataNodes = [...dataNodes.filter((n) => n.nodeId !== change.dataNode.nodeId), change.dataNode];
    } else if (change.kind === 'topic') {
      topics = [...topics.filter((t) => t.name !== change.topic.name), change.topic];
    } else {
      topics = topics.filter((t) => t.topicId !== change.topicId);
    }
    version = change.version;
  }

  return { ...snapshot, version, dataNodes, topics };
}
