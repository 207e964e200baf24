// Metadata (key 3): brokers (the unfenced data nodes), and for each topic its id and partitions
// with leader, leader epoch, replicas and ISR, straight from this node's metadata view. Topics are
// never created by asking for them. Every data node forwards admin requests to the controllers,
// so each names itself as the "controller" that Kafka clients send CreateTopics to.
import type { ClusterSnapshot, TopicRecord } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  ZERO_UUID,
  type Encodable,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponsePartition,
  type MetadataResponseTopic,
} from '../../shared/protocol/index.ts';
import type { ApiHandler } from './context.ts';

/** The first version whose answer may leave a topic's name null (a topic asked for by id). */
const NULL_NAME_FROM_VERSION = 12;

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,

  async handle(request, ctx) {
    const view = ctx.node.metadata();
    const live = view.dataNodes.filter((n) => !n.fenced);

    return {
      throttleTimeMs: 0,
      brokers: live.map((n) => ({
        nodeId: n.nodeId,
        host: n.host,
        port: n.kafkaPort,
        rack: n.rack,
      })),
      clusterId: view.clusterId,
      controllerId: controllerIdFor(view, ctx.node.nodeId),
      topics: selectTopics(view, request, ctx.apiVersion),
    };
  },

  errorResponse(request, code) {
    const topics = (request.topics ?? []).map((t) => ({ errorCode: code, name: t.name ?? '' }));
    return { throttleTimeMs: 0, brokers: [], topics };
  },
};

/** This node when it is live, else the lowest live node, else -1. */
export function controllerIdFor(view: ClusterSnapshot, self: number): number {
  const live = view.dataNodes.filter((n) => !n.fenced).map((n) => n.nodeId);
  if (live.includes(self)) return self;
  return live.length === 0 ? -1 : Math.min(...live);
}

function selectTopics(
  view: ClusterSnapshot,
  request: MetadataRequest,
  apiVersion: number,
): Encodable<MetadataResponseTopic>[] {
  // Null asks for every topic; so did an empty list before version 1.
  const requested = request.topics;
  if (requested === null || (apiVersion === 0 && requested.length === 0)) {
    return [...view.topics].sort(byName).map((t) => describeTopic(view, t));
  }

  return requested.map((wanted) => {
    const topic =
      wanted.name !== null
        ? view.topics.find((t) => t.name === wanted.name)
        : view.topics.find((t) => t.topicId === wanted.topicId);
    if (topic !== undefined) return describeTopic(view, topic);

    const unknownCode =
      wanted.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    // Versions 10 and 11 take a request by id but cannot say "no name" in the answer.
    const name = wanted.name ?? (apiVersion >= NULL_NAME_FROM_VERSION ? null : '');
    return { errorCode: unknownCode, name, topicId: wanted.topicId ?? ZERO_UUID };
  });
}

function describeTopic(
  view: ClusterSnapshot,
  topic: TopicRecord,
): Encodable<MetadataResponseTopic> {
  const live = new Set(view.dataNodes.filter((n) => !n.fenced).map((n) => n.nodeId));
  const partitions = [...topic.partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p): Encodable<MetadataResponsePartition> => {
      const leaderLive = p.leader >= 0 && live.has(p.leader);
      return {
        errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p.partition,
        leaderId: leaderLive ? p.leader : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: p.replicas.filter((r) => !live.has(r)),
      };
    });

  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: false,
    partitions,
  };
}

function byName(a: TopicRecord, b: TopicRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
