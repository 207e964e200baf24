// State machine handlers for topics and partitions: creation with replica placement, growth,
// deletion, ISR changes asked by partition leaders, and leader elections asked by operators.
// Every check here runs on every controller against the same state, so a refusal is the same
// everywhere; checks are made before anything is written.
import { eq, sql } from 'drizzle-orm';
import type { PartitionRecord, TopicRecord } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  findCollidingTopic,
  topicNameProblem,
  TopicConfigError,
  validateTopicConfigs,
} from '../../shared/topic-config.ts';
import { reject, type CommandOf, type CommandOutputs, type ElectionResult } from '../commands.ts';
import {
  readDataNode,
  readDataNodes,
  readTopic,
  readTopicNames,
  writePartition,
} from '../db/queries.ts';
import { groupOffsets, partitions, topics } from '../db/schema.ts';
import { electPreferred, electUnclean, withLeaderAndIsr } from '../partition-change.ts';
import { placeReplicas } from '../placement.ts';
import { eligibleNodes, updatePartitions, type ApplyContext } from './context.ts';

/** Partitions of one topic; more would make every topic change a very large metadata record. */
export const PARTITIONS_PER_TOPIC_MAX = 10_000;
const REPLICATION_FACTOR_MAX = 32_767;

export function createTopic(
  ctx: ApplyContext,
  command: CommandOf<'createTopic'>,
): CommandOutputs['createTopic'] {
  const { name, topicId } = command;
  checkNewTopicName(ctx, name);
  if (ctx.tx.select().from(topics).where(eq(topics.topicId, topicId)).get() !== undefined) {
    reject('topicIdExists', `topic id ${topicId} is already used`);
  }
  const configs = checkConfigs(command.configs);
  checkPartitionCount(command.partitions, 0);
  checkReplicationFactor(ctx, command.replicationFactor);

  const assignments = place(ctx, command.partitions, command.replicationFactor);
  ctx.tx.insert(topics).values({ name, topicId, configs, createdAtMs: ctx.now }).run();
  const created = assignments.map((replicas, partition) => newPartition(partition, replicas));
  for (const p of created) writePartition(ctx.tx, name, p);

  const topic: TopicRecord = { name, topicId, configs, partitions: created };
  ctx.emit({ kind: 'topic', topic });
  return topic;
}

export function createPartitions(
  ctx: ApplyContext,
  command: CommandOf<'createPartitions'>,
): CommandOutputs['createPartitions'] {
  const topic = existingTopic(ctx, command.topic);
  const current = topic.partitions.length;
  checkPartitionCount(command.count, current);
  const replicationFactor = topic.partitions[0].replicas.length;
  checkReplicationFactor(ctx, replicationFactor);

  const assignments = place(ctx, command.count - current, replicationFactor);
  const added = assignments.map((replicas, i) => newPartition(current + i, replicas));
  for (const p of added) writePartition(ctx.tx, topic.name, p);

  const grown: TopicRecord = { ...topic, partitions: [...topic.partitions, ...added] };
  ctx.emit({ kind: 'topic', topic: grown });
  return grown;
}

/** Deleting a topic also forgets the offsets groups committed for it. */
export function deleteTopic(
  ctx: ApplyContext,
  command: CommandOf<'deleteTopic'>,
): CommandOutputs['deleteTopic'] {
  const topic = existingTopic(ctx, command.name);

  ctx.tx.delete(partitions).where(eq(partitions.topic, topic.name)).run();
  ctx.tx.delete(groupOffsets).where(eq(groupOffsets.topic, topic.name)).run();
  ctx.tx.delete(topics).where(eq(topics.name, topic.name)).run();

  ctx.emit({ kind: 'topic-deleted', name: topic.name, topicId: topic.topicId });
  return { topicId: topic.topicId };
}

/**
 * A partition leader asks to change its ISR. It must be the current leader under its current
 * registration, and name the leader epoch and partition epoch it knows: any change since then
 * makes the request stale. A member may join only while eligible (registered, unfenced).
 */
export function changeIsr(
  ctx: ApplyContext,
  command: CommandOf<'changeIsr'>,
): CommandOutputs['changeIsr'] {
  const topic = existingTopic(ctx, command.topic);
  const p = existingPartition(topic, command.partition);
  checkLeaderRequest(ctx, p, command);
  const isr = checkIsr(ctx, p, command.isr);

  const next = withLeaderAndIsr(p, p.leader, isr);
  if (next === p) return p;

  writePartition(ctx.tx, topic.name, next);
  ctx.emit({ kind: 'topic', topic: replacePartition(topic, next) });
  return next;
}

export function electLeaders(
  ctx: ApplyContext,
  command: CommandOf<'electLeaders'>,
): CommandOutputs['electLeaders'] {
  const eligible = eligibleNodes(ctx.tx);
  const elect = command.election === 'preferred' ? electPreferred : electUnclean;
  const wanted = command.partitions;
  const isWanted = (topic: string, partition: number) =>
    wanted === null || wanted.some((w) => w.topic === topic && w.partition === partition);
  const results: ElectionResult[] = [];

  updatePartitions(ctx, (topic, p) => {
    if (!isWanted(topic.name, p.partition)) return p;
    const { partition, errorCode } = elect(p, eligible);
    results.push({
      topic: topic.name,
      partition: p.partition,
      errorCode,
      leader: partition.leader,
    });
    return partition;
  });

  for (const w of wanted ?? []) {
    if (!results.some((r) => r.topic === w.topic && r.partition === w.partition)) {
      results.push({ ...w, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leader: -1 });
    }
  }
  return { results };
}

function checkNewTopicName(ctx: ApplyContext, name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) reject('invalidTopicName', problem, 'name');

  const names = readTopicNames(ctx.tx);
  if (names.includes(name)) reject('topicExists', `topic ${name} already exists`, 'name');

  const colliding = findCollidingTopic(name, names);
  if (colliding !== undefined) {
    reject(
      'topicNameCollision',
      `topic ${name} collides with existing topic ${colliding} ('.' and '_' are alike)`,
      'name',
    );
  }
}

function checkConfigs(configs: Record<string, string>): Record<string, string> {
  try {
    return validateTopicConfigs(configs);
  } catch (err) {
    if (!(err instanceof TopicConfigError)) throw err;
    return reject('invalidConfig', err.message, `configs.${err.configName}`);
  }
}

function checkPartitionCount(count: number, current: number): void {
  if (count > PARTITIONS_PER_TOPIC_MAX) {
    reject(
      'invalidPartitions',
      `a topic may have at most ${PARTITIONS_PER_TOPIC_MAX} partitions, not ${count}`,
      'partitions',
    );
  }
  if (current === 0 && count < 1) {
    reject('invalidPartitions', `partition count must be at least 1, not ${count}`, 'partitions');
  }
  if (current > 0 && count <= current) {
    reject(
      'invalidPartitions',
      `topic has ${current} partitions; the new count must be larger, not ${count}`,
      'count',
    );
  }
}

function checkReplicationFactor(ctx: ApplyContext, replicationFactor: number): void {
  if (replicationFactor < 1 || replicationFactor > REPLICATION_FACTOR_MAX) {
    reject(
      'invalidReplicationFactor',
      `replication factor must be 1 to ${REPLICATION_FACTOR_MAX}, not ${replicationFactor}`,
      'replicationFactor',
    );
  }

  const live = readDataNodes(ctx.tx).filter((n) => !n.fenced).length;
  if (live < replicationFactor) {
    reject(
      'invalidReplicationFactor',
      `replication factor ${replicationFactor} is larger than the ${live} live data nodes`,
      'replicationFactor',
    );
  }
}

function place(ctx: ApplyContext, partitionCount: number, replicationFactor: number): number[][] {
  const counts = ctx.tx
    .select({ leader: partitions.leader, count: sql<number>`count(*)` })
    .from(partitions)
    .groupBy(partitions.leader)
    .all();

  return placeReplicas({
    nodes: readDataNodes(ctx.tx).filter((n) => !n.fenced),
    partitionCount,
    replicationFactor,
    leaderCounts: new Map(counts.map((row) => [row.leader, row.count])),
    shiftSeed: readTopicNames(ctx.tx).length,
  });
}

function newPartition(partition: number, replicas: number[]): PartitionRecord {
  return {
    partition,
    replicas,
    leader: replicas[0],
    leaderEpoch: 0,
    isr: replicas,
    partitionEpoch: 0,
  };
}

function existingTopic(ctx: ApplyContext, name: string): TopicRecord {
  const topic = readTopic(ctx.tx, name);
  if (topic === undefined) reject('unknownTopic', `topic ${name} does not exist`);
  return topic;
}

function existingPartition(topic: TopicRecord, partition: number): PartitionRecord {
  const p = topic.partitions.find((candidate) => candidate.partition === partition);
  if (p === undefined)
    reject('unknownPartition', `topic ${topic.name} has no partition ${partition}`);
  return p;
}

function checkLeaderRequest(
  ctx: ApplyContext,
  p: PartitionRecord,
  command: CommandOf<'changeIsr'>,
): void {
  const node = readDataNode(ctx.tx, command.nodeId);
  if (node === undefined || node.brokerEpoch !== command.brokerEpoch || node.fenced) {
    reject(
      'staleBrokerEpoch',
      `data node ${command.nodeId} is not registered at broker epoch ${command.brokerEpoch}`,
    );
  }
  if (command.leaderEpoch !== p.leaderEpoch) {
    reject('fencedLeaderEpoch', `leader epoch is ${p.leaderEpoch}, not ${command.leaderEpoch}`);
  }
  if (command.nodeId !== p.leader) {
    reject('notLeader', `data node ${command.nodeId} does not lead partition ${p.partition}`);
  }
  if (command.partitionEpoch !== p.partitionEpoch) {
    reject(
      'stalePartitionEpoch',
      `partition epoch is ${p.partitionEpoch}, not ${command.partitionEpoch}`,
    );
  }
}

/** The requested ISR in replica order, or a refusal saying what is wrong with it. */
function checkIsr(ctx: ApplyContext, p: PartitionRecord, requested: number[]): number[] {
  const isr = p.replicas.filter((id) => requested.includes(id));
  if (isr.length !== requested.length || new Set(requested).size !== requested.length) {
    reject('invalidIsr', `ISR ${requested} must be distinct replicas of ${p.replicas}`, 'isr');
  }
  if (!isr.includes(p.leader)) {
    reject('invalidIsr', `ISR ${requested} must contain the leader ${p.leader}`, 'isr');
  }

  const eligible = eligibleNodes(ctx.tx);
  const joining = isr.filter((id) => !p.isr.includes(id) && !eligible(id));
  if (joining.length > 0) {
    reject('ineligibleReplica', `replicas ${joining} are fenced or not registered`, 'isr');
  }
  return isr;
}

function replacePartition(topic: TopicRecord, next: PartitionRecord): TopicRecord {
  return {
    ...topic,
    partitions: topic.partitions.map((p) => (p.partition === next.partition ? next : p)),
  };
}
