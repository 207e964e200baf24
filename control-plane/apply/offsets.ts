// State machine handlers for consumer group offsets. The group coordinators on the data nodes
// check members and generations; the controller stores what they commit, refusing partitions
// that do not exist, metadata that is too large, and a coordinator that is not the group's
// coordinator in this state: its node fenced or registered again since, or the group placed on
// another node (data-node/groups/placement.ts, computed here over the controller's own view). The
// check runs when the command is applied, so a coordinator paused or cut off while its groups
// moved cannot move their offsets once the move is committed, whatever it believes.
//
// Retention: offsets of a group that has had no members for `retentionMs` expire. Coordinators
// report the groups that have members (reportActiveGroups); commits count as activity too. The
// leader proposes expireGroupOffsets periodically; every clock reading comes from log entries.
import { and, eq, inArray, max, or } from 'drizzle-orm';
import { coordinatorFor } from '../../data-node/groups/placement.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  reject,
  type CommandOf,
  type CommandOutputs,
  type CoordinatorRef,
  type GroupCommit,
  type OffsetCommitEntry,
} from '../commands.ts';
import type { StateTx } from '../db/database.ts';
import { readDataNode, readDataNodes, readTopic } from '../db/queries.ts';
import { groupActivity, groupOffsets } from '../db/schema.ts';
import type { ApplyContext } from './context.ts';

/** Kafka's offset.metadata.max.bytes default. */
export const OFFSET_METADATA_BYTES_MAX = 4096;

export function commitOffsets(
  ctx: ApplyContext,
  command: CommandOf<'commitOffsets'>,
): CommandOutputs['commitOffsets'] {
  const isCurrent = coordinatorCheck(ctx.tx);
  const counts = new Map<string, number>();
  const partitionCount = (topic: string) => {
    if (!counts.has(topic)) counts.set(topic, readTopic(ctx.tx, topic)?.partitions.length ?? 0);
    return counts.get(topic)!;
  };

  const errorCodes = command.commits.map((commit) => {
    const refused = refusal(isCurrent, commit.groupId, commit.coordinator);
    if (refused !== ErrorCode.NONE) return commit.offsets.map(() => refused);
    return commitGroup(ctx, commit, partitionCount);
  });
  return { errorCodes };
}

function commitGroup(
  ctx: ApplyContext,
  commit: GroupCommit,
  partitionCount: (topic: string) => number,
): number[] {
  return commit.offsets.map((entry) => {
    const code = offsetProblem(entry, partitionCount);
    if (code === ErrorCode.NONE) store(ctx, commit.groupId, entry);
    return code;
  });
}

type CoordinatorCheck = (groupId: string, ref: CoordinatorRef) => boolean;

/**
 * Whether a data node coordinates a group in this state: live under the broker epoch it names,
 * and the group's coordinator by placement over the live nodes. Reads the data nodes once.
 */
function coordinatorCheck(tx: StateTx): CoordinatorCheck {
  const dataNodes = readDataNodes(tx);
  const byId = new Map(dataNodes.map((node) => [node.nodeId, node]));

  return (groupId, ref) => {
    const node = byId.get(ref.nodeId);
    if (node === undefined || node.fenced || node.brokerEpoch !== ref.brokerEpoch) return false;
    return coordinatorFor(groupId, { dataNodes })?.nodeId === ref.nodeId;
  };
}

/** NONE when `coordinator` may write the group's offsets in this state. */
function refusal(
  isCurrent: CoordinatorCheck,
  groupId: string,
  coordinator: CoordinatorRef | null,
): number {
  if (groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
  if (coordinator === null) return ErrorCode.NONE;
  return isCurrent(groupId, coordinator) ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
}

function offsetProblem(entry: OffsetCommitEntry, partitionCount: (topic: string) => number) {
  if (Buffer.byteLength(entry.metadata, 'utf8') > OFFSET_METADATA_BYTES_MAX) {
    return ErrorCode.OFFSET_METADATA_TOO_LARGE;
  }
  if (entry.partition >= partitionCount(entry.topic)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return ErrorCode.NONE;
}

function store(ctx: ApplyContext, groupId: string, entry: OffsetCommitEntry): void {
  const row = {
    groupId,
    topic: entry.topic,
    partition: entry.partition,
    offset: BigInt(entry.offset),
    leaderEpoch: entry.leaderEpoch,
    metadata: entry.metadata,
    commitTimeMs: ctx.now,
  };
  ctx.tx
    .insert(groupOffsets)
    .values(row)
    .onConflictDoUpdate({
      target: [groupOffsets.groupId, groupOffsets.topic, groupOffsets.partition],
      set: row,
    })
    .run();
}

export function deleteGroupOffsets(
  ctx: ApplyContext,
  command: CommandOf<'deleteGroupOffsets'>,
): CommandOutputs['deleteGroupOffsets'] {
  const { groupId, coordinator = null } = command;
  if (coordinator !== null && !coordinatorCheck(ctx.tx)(groupId, coordinator)) {
    reject('notCoordinator', `data node ${coordinator.nodeId} does not coordinate ${groupId}`);
  }

  const result = ctx.tx.delete(groupOffsets).where(deletionFilter(command)).run();
  return { deleted: result.changes };
}

function deletionFilter(command: CommandOf<'deleteGroupOffsets'>) {
  const byGroup = eq(groupOffsets.groupId, command.groupId);
  if (command.partitions != null) {
    const each = command.partitions.map((p) =>
      and(eq(groupOffsets.topic, p.topic), eq(groupOffsets.partition, p.partition)),
    );
    return and(byGroup, each.length === 0 ? eq(groupOffsets.partition, -1) : or(...each));
  }
  if (command.topics !== null) return and(byGroup, inArray(groupOffsets.topic, command.topics));
  return byGroup;
}

// ---- Retention ---------------------------------------------------------------------------------

export function reportActiveGroups(
  ctx: ApplyContext,
  command: CommandOf<'reportActiveGroups'>,
): CommandOutputs['reportActiveGroups'] {
  const { nodeId, brokerEpoch } = command.coordinator;
  const node = readDataNode(ctx.tx, nodeId);
  if (node === undefined || node.fenced || node.brokerEpoch !== brokerEpoch) {
    reject('notCoordinator', `data node ${nodeId} is not live under broker epoch ${brokerEpoch}`);
  }

  // Groups this node was reporting and lists no more have just become empty.
  const listed = new Set(command.groupIds);
  const before = ctx.tx
    .select({ groupId: groupActivity.groupId })
    .from(groupActivity)
    .where(eq(groupActivity.activeNodeId, nodeId))
    .all();
  for (const { groupId } of before) {
    if (!listed.has(groupId)) writeActivity(ctx, groupId, null);
  }

  const dataNodes = readDataNodes(ctx.tx);
  const mine = [...listed].filter((g) => coordinatorFor(g, { dataNodes })?.nodeId === nodeId);
  for (const groupId of mine) writeActivity(ctx, groupId, command.coordinator);
  return { active: mine.length };
}

function writeActivity(ctx: ApplyContext, groupId: string, active: CoordinatorRef | null): void {
  const row = {
    groupId,
    lastActiveMs: ctx.now,
    activeNodeId: active?.nodeId ?? null,
    activeBrokerEpoch: active?.brokerEpoch ?? null,
  };
  ctx.tx
    .insert(groupActivity)
    .values(row)
    .onConflictDoUpdate({ target: groupActivity.groupId, set: row })
    .run();
}

export function expireGroupOffsets(
  ctx: ApplyContext,
  command: CommandOf<'expireGroupOffsets'>,
): CommandOutputs['expireGroupOffsets'] {
  const cutoffMs = ctx.now - command.retentionMs;
  const activity = readActivity(ctx.tx);
  const isCurrent = coordinatorCheck(ctx.tx);
  // Active now: the group's current coordinator, not a node it has since left, has members.
  const activeNow = (groupId: string) => {
    const row = activity.get(groupId);
    if (row?.activeNodeId == null || row.activeBrokerEpoch == null) return false;
    return isCurrent(groupId, { nodeId: row.activeNodeId, brokerEpoch: row.activeBrokerEpoch });
  };

  const expired: string[] = [];
  for (const { groupId, lastCommitMs } of readLastCommits(ctx.tx)) {
    const lastActiveMs = Math.max(lastCommitMs, activity.get(groupId)?.lastActiveMs ?? 0);
    if (lastActiveMs < cutoffMs && !activeNow(groupId)) expired.push(groupId);
  }

  let deleted = 0;
  for (const groupId of expired) {
    deleted += ctx.tx.delete(groupOffsets).where(eq(groupOffsets.groupId, groupId)).run().changes;
  }
  forgetIdleActivity(ctx.tx, activity, cutoffMs, activeNow);
  return { groupIds: expired.sort(), deleted };
}

type ActivityRow = typeof groupActivity.$inferSelect;

function readActivity(tx: StateTx): Map<string, ActivityRow> {
  const rows = tx.select().from(groupActivity).all();
  return new Map(rows.map((row) => [row.groupId, row]));
}

/** Per group with committed offsets, its latest commit time. */
function readLastCommits(tx: StateTx): { groupId: string; lastCommitMs: number }[] {
  return tx
    .select({ groupId: groupOffsets.groupId, lastCommitMs: max(groupOffsets.commitTimeMs) })
    .from(groupOffsets)
    .groupBy(groupOffsets.groupId)
    .orderBy(groupOffsets.groupId)
    .all()
    .map((row) => ({ groupId: row.groupId, lastCommitMs: row.lastCommitMs ?? 0 }));
}

/** Activity rows past retention and not active now say nothing more: drop them. */
function forgetIdleActivity(
  tx: StateTx,
  activity: Map<string, ActivityRow>,
  cutoffMs: number,
  activeNow: (groupId: string) => boolean,
): void {
  const idle = [...activity.values()]
    .filter((row) => row.lastActiveMs < cutoffMs && !activeNow(row.groupId))
    .map((row) => row.groupId);
  if (idle.length > 0) tx.delete(groupActivity).where(inArray(groupActivity.groupId, idle)).run();
}
