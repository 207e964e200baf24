// Finding the partition a request names, with the error Kafka gives when it is not here: a topic
// or partition the cluster does not have is UNKNOWN_TOPIC_OR_PARTITION; one that exists but has
// no replica open on this node is NOT_LEADER_OR_FOLLOWER, which tells the client to refresh its
// metadata and go elsewhere.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Partition } from '../partition.ts';
import type { NodeContext } from './context.ts';

export function findPartition(node: NodeContext, topic: string, index: number): Partition {
  const partition = node.replicas.get(topic, index);
  if (partition !== undefined) return partition;

  const known = node
    .metadata()
    .topics.find((t) => t.name === topic)
    ?.partitions.some((p) => p.partition === index);
  if (known === true) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
}

/** The topic name for a topic id in the current view, or undefined. */
export function topicNameForId(node: NodeContext, topicId: string): string | undefined {
  return node.metadata().topics.find((t) => t.topicId === topicId)?.name;
}

/** The Kafka error code and message for anything a partition operation threw. */
export function errorOf(err: unknown): { code: number; message: string } {
  if (err instanceof KafkaError) return { code: err.code, message: err.message };
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: String(err) };
}
