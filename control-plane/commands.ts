// Every change of cluster state is one of these commands, committed to the log and applied by
// control-plane/state-machine.ts on every controller alike. A command carries everything its
// application needs that is not already in the state: generated ids are filled in by the proposer,
// and the log entry carries the proposer's clock. Commands are plain JSON (int64 offsets as decimal
// strings) because they are stored in the log and sent between controllers.
import { z } from 'zod';
import type { PartitionRecord, TopicRecord } from '../shared/cluster-metadata.ts';
import { ErrorCode } from '../shared/kafka-errors.ts';

const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const NodeIdField = z.number().int().min(0).max(INT32_MAX);
const EpochField = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const PartitionField = z.number().int().min(0).max(INT32_MAX);

const DECIMAL = /^-?\d{1,19}$/;

/** An int64 in decimal, as offsets travel in JSON. */
export const Int64String = z
  .string()
  .regex(DECIMAL, 'must be a decimal integer')
  // Checks run on after a failed one: BigInt must only ever see decimal digits.
  .refine((text) => !DECIMAL.test(text) || fitsInt64(BigInt(text)), 'must fit in 64 bits');

function fitsInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

const TopicPartition = z.strictObject({ topic: z.string(), partition: PartitionField });

export const OffsetCommitEntry = z.strictObject({
  topic: z.string(),
  partition: PartitionField,
  offset: Int64String,
  leaderEpoch: EpochField,
  metadata: z.string(),
});
export type OffsetCommitEntry = z.infer<typeof OffsetCommitEntry>;

/**
 * The data node whose group coordinator sends a commit, a deletion or a report. Refused
 * (NOT_COORDINATOR) unless, in the state it is applied to, that node is live under this broker
 * epoch and is the group's coordinator by rendezvous placement over the live nodes.
 */
export const CoordinatorRef = z.strictObject({ nodeId: NodeIdField, brokerEpoch: EpochField });
export type CoordinatorRef = z.infer<typeof CoordinatorRef>;

export const GroupCommit = z.strictObject({
  groupId: z.string(),
  coordinator: CoordinatorRef.nullable(),
  /**
   * Grows with every commit the coordinator incarnation sends for the group. A commit older than
   * the last one applied from the same incarnation is refused (REQUEST_TIMED_OUT): it arrived
   * late. Absent from operators' commits and from entries written before commits were numbered.
   */
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  offsets: z.array(OffsetCommitEntry),
});
export type GroupCommit = z.infer<typeof GroupCommit>;

export const Command = z.discriminatedUnion('type', [
  /** Sets the cluster id once; a different id later is refused. */
  z.strictObject({ type: z.literal('initCluster'), clusterId: z.string().min(1) }),
  z.strictObject({
    type: z.literal('registerDataNode'),
    nodeId: NodeIdField,
    host: z.string().min(1),
    kafkaPort: z.number().int().min(1).max(65535),
    rack: z.string().min(1).nullable(),
    incarnationId: z.string().min(1),
  }),
  /** The leader controller decided the node missed its heartbeats. */
  z.strictObject({
    type: z.literal('fenceDataNode'),
    nodeId: NodeIdField,
    brokerEpoch: EpochField,
  }),
  /** A fenced node heartbeats again under the same registration. */
  z.strictObject({
    type: z.literal('unfenceDataNode'),
    nodeId: NodeIdField,
    brokerEpoch: EpochField,
  }),
  z.strictObject({
    type: z.literal('createTopic'),
    name: z.string(),
    topicId: z.uuid(),
    partitions: z.number().int(),
    replicationFactor: z.number().int(),
    /** As the client sent them; validated when applied. */
    configs: z.record(z.string(), z.string()),
  }),
  /** Grows a topic to `count` partitions in total. */
  z.strictObject({
    type: z.literal('createPartitions'),
    topic: z.string(),
    count: z.number().int(),
  }),
  z.strictObject({ type: z.literal('deleteTopic'), name: z.string() }),
  /** A partition leader changes its ISR (Kafka's AlterPartition), fenced by the epochs it knows. */
  z.strictObject({
    type: z.literal('changeIsr'),
    topic: z.string(),
    partition: PartitionField,
    nodeId: NodeIdField,
    brokerEpoch: EpochField,
    leaderEpoch: EpochField,
    partitionEpoch: EpochField,
    isr: z.array(NodeIdField),
  }),
  /** Preferred: move leadership back to the first replica. Unclean: lead leaderless partitions. */
  z.strictObject({
    type: z.literal('electLeaders'),
    election: z.enum(['preferred', 'unclean']),
    /** Null for every partition of every topic. */
    partitions: z.array(TopicPartition).nullable(),
  }),
  /**
   * Controlled shutdown: a data node about to stop hands its leaderships to other ISR members and
   * leaves every ISR, as if fenced, so its clients move before it goes.
   */
  z.strictObject({
    type: z.literal('shutdownDataNode'),
    nodeId: NodeIdField,
    brokerEpoch: EpochField,
  }),
  /** A block of producer ids (InitProducerId) for one data node to hand out. */
  z.strictObject({
    type: z.literal('allocateProducerIds'),
    nodeId: NodeIdField,
    count: z.number().int().min(1).max(1_000_000),
  }),
  /** Commits of several requests batched together; applied in order, later ones winning. */
  z.strictObject({ type: z.literal('commitOffsets'), commits: z.array(GroupCommit).min(1) }),
  /**
   * Deletes committed offsets of a group: those of `partitions` when given, else of `topics`, else
   * all. A null coordinator (an operator's tool) is not checked against placement.
   */
  z.strictObject({
    type: z.literal('deleteGroupOffsets'),
    groupId: z.string(),
    topics: z.array(z.string()).nullable(),
    /** Absent in entries written before deletions named partitions or a coordinator. */
    partitions: z.array(TopicPartition).nullish(),
    coordinator: CoordinatorRef.nullish(),
    /** Numbered with the coordinator's commits of the group (see apply/offsets.ts). */
    sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  }),
  /**
   * A coordinator's full list of its groups that have members now. Groups it lists are active as
   * of this entry's time; its groups it no longer lists were active until now.
   */
  z.strictObject({
    type: z.literal('reportActiveGroups'),
    coordinator: CoordinatorRef,
    groupIds: z.array(z.string()),
  }),
  /**
   * Proposed periodically by the leader: deletes the offsets of every group that is not active
   * now and was last active (a report, or a commit) more than `retentionMs` before this entry's
   * time. The period travels in the command so that every controller expires alike.
   */
  z.strictObject({
    type: z.literal('expireGroupOffsets'),
    retentionMs: z.number().int().min(1),
  }),
]);
export type Command = z.infer<typeof Command>;
export type CommandType = Command['type'];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

/** Kafka error codes the controller answers with that shared/kafka-errors.ts does not list. */
export const ControllerErrorCode = {
  STALE_BROKER_EPOCH: 77,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: 83,
  ELECTION_NOT_NEEDED: 84,
  INCONSISTENT_CLUSTER_ID: 104,
  INELIGIBLE_REPLICA: 107,
  INVALID_UPDATE_VERSION: 108,
} as const;

/** Why a command was refused; each reason has one Kafka error code. */
export const REJECTION_CODES = {
  clusterIdMismatch: ControllerErrorCode.INCONSISTENT_CLUSTER_ID,
  invalidTopicName: ErrorCode.INVALID_TOPIC_EXCEPTION,
  topicNameCollision: ErrorCode.INVALID_TOPIC_EXCEPTION,
  topicExists: ErrorCode.TOPIC_ALREADY_EXISTS,
  topicIdExists: ErrorCode.INCONSISTENT_TOPIC_ID,
  invalidConfig: ErrorCode.INVALID_CONFIG,
  invalidPartitions: ErrorCode.INVALID_PARTITIONS,
  invalidReplicationFactor: ErrorCode.INVALID_REPLICATION_FACTOR,
  unknownTopic: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  unknownPartition: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  unknownDataNode: ErrorCode.BROKER_NOT_AVAILABLE,
  staleBrokerEpoch: ControllerErrorCode.STALE_BROKER_EPOCH,
  notLeader: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  fencedLeaderEpoch: ErrorCode.FENCED_LEADER_EPOCH,
  stalePartitionEpoch: ControllerErrorCode.INVALID_UPDATE_VERSION,
  invalidIsr: ErrorCode.INVALID_REQUEST,
  ineligibleReplica: ControllerErrorCode.INELIGIBLE_REPLICA,
  notCoordinator: ErrorCode.NOT_COORDINATOR,
  tooManyPresenceRequests: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
  lateOffsetWrite: ErrorCode.REQUEST_TIMED_OUT,
} as const;
export type RejectionReason = keyof typeof REJECTION_CODES;

export interface Rejection {
  reason: RejectionReason;
  /** The Kafka error code a client would see. */
  errorCode: number;
  message: string;
  /** The request field at fault, when one is, e.g. `configs.retention.ms`. */
  field?: string;
}

/** Thrown inside the state machine to refuse a command; the transaction rolls back. */
export class CommandRejected extends Error {
  override name = 'CommandRejected';

  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}

export function reject(reason: RejectionReason, message: string, field?: string): never {
  const rejection: Rejection = { reason, errorCode: REJECTION_CODES[reason], message };
  if (field !== undefined) rejection.field = field;
  throw new CommandRejected(rejection);
}

/** Outcome of one partition in an electLeaders command. */
export interface ElectionResult {
  topic: string;
  partition: number;
  /** NONE, ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ... */
  errorCode: number;
  leader: number;
}

/** What each command gives back when applied. */
export interface CommandOutputs {
  initCluster: { clusterId: string };
  registerDataNode: { brokerEpoch: number };
  fenceDataNode: { changedPartitions: number };
  unfenceDataNode: { changedPartitions: number };
  createTopic: TopicRecord;
  createPartitions: TopicRecord;
  deleteTopic: { topicId: string };
  changeIsr: PartitionRecord;
  electLeaders: { results: ElectionResult[] };
  shutdownDataNode: { changedPartitions: number };
  /** Ids [firstProducerId, firstProducerId + count) belong to the asking node alone. */
  allocateProducerIds: { firstProducerId: number; count: number };
  /**
   * Per commit of the batch, per offset: a Kafka error code (NONE when stored); and per commit,
   * why it was refused as a whole (stale coordinator, late sequence), or null.
   */
  commitOffsets: { errorCodes: number[][]; refusals: (string | null)[] };
  deleteGroupOffsets: { deleted: number };
  /** Groups of the report that this coordinator does coordinate, now marked active. */
  reportActiveGroups: { active: number };
  /** Groups whose offsets expired, sorted, and how many offsets went with them. */
  expireGroupOffsets: { groupIds: string[]; deleted: number };
}

interface Outcome {
  /** Log index of the command. */
  index: number;
  /** Metadata version after the command; data nodes wait for it to see the effect. */
  metadataVersion: number;
}

export type CommandResult<T extends CommandType = CommandType> =
  | (Outcome & { ok: true; value: CommandOutputs[T] })
  | (Outcome & { ok: false; rejection: Rejection });

/** The value of an applied command; a refusal is thrown as CommandRejected for callers to map. */
export function unwrap<T extends CommandType>(result: CommandResult<T>): CommandOutputs[T] {
  if (!result.ok) throw new CommandRejected(result.rejection);
  return result.value;
}
