// Turns a topic's configs (only the keys set explicitly, as the controller stores them) into the
// typed settings its partitions run with: the log's LogConfig and the replica's own settings.
// Defaults come from shared/topic-config.ts, the same on every node, so every replica of a
// partition retains and rolls alike.
import type { TopicRecord } from '../shared/cluster-metadata.ts';
import { effectiveTopicConfig, type TopicConfig } from '../shared/topic-config.ts';
import type { LogConfig } from './log/log-config.ts';
import type { PartitionSettings } from './partition.ts';

/** The log settings that belong to the node rather than to topics. */
export interface NodeLogSettings {
  fsync: boolean;
  retentionCheckIntervalMs: number;
}

/** The log refuses segments under 1 KiB, which topic configs allow; smaller values are raised. */
const SEGMENT_BYTES_MIN = 1024;

export function topicConfigOf(topic: TopicRecord): TopicConfig {
  return effectiveTopicConfig(topic.configs, replicationFactorOf(topic));
}

export function replicationFactorOf(topic: TopicRecord): number {
  return topic.partitions[0]?.replicas.length ?? 0;
}

export function logConfigFor(topic: TopicRecord, node: NodeLogSettings): LogConfig {
  const config = topicConfigOf(topic);
  return {
    segmentBytes: Math.max(SEGMENT_BYTES_MIN, config.segmentBytes),
    segmentMs: config.segmentMs,
    retentionMs: config.retentionMs,
    retentionBytes: config.retentionBytes,
    indexIntervalBytes: Math.max(1, config.indexIntervalBytes),
    fsync: node.fsync,
    maxMessageBytes: config.maxMessageBytes,
    timestampType: config.messageTimestampType,
  };
}

export function partitionSettingsFor(topic: TopicRecord): PartitionSettings {
  const config = topicConfigOf(topic);
  return { minInsyncReplicas: config.minInsyncReplicas };
}
