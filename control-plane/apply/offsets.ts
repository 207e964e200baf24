// State machine handlers for consumer group offsets. The group coordinators on the data nodes
// check members and generations; the controller stores what they commit, refusing partitions
// that do not exist, metadata that is too large, and a coordinator that is not the group's
// coordinator in this state: its node fenced or registered again since, or the group placed on
// another node (data-node/groups/placement.ts, computed here over the controller's own view). The
// check runs when the command is applied, so a coordinator paused or cut off while its groups
// moved cannot move their offsets once the move is committed, whatever it believes.
//
// Order: a coordinator numbers its commits of a group (`sequence`, growing with every commit it
// sends), and a commit older than the last one applied from the same coordinator incarnation is
// refused with REQUEST_TIMED_OUT. Such a commit was sent, given up on as timed out, and overtaken
// by a newer one; applying it would move the group's offset backwards. A commit from another
// incarnation starts afresh: placement already refused it unless it is the current coordinator.
//
// Retention: offsets of a group that has had no members for `retentionMs` expire. Coordinators
// report the groups that have members (reportActiveGroups); commits count as activity too. The
// leader proposes expireGroupOffsets periodically; every clock reading comes from log entries.
//
// Deletions from a coordinator are numbered with its commits and checked the same way, so a
// deletion that timed out cannot remove a newer commit, nor a late commit undo a deletion.
//
// Known shortcoming: a coordinator that loses a group and gets it back under the same broker
// epoch starts afresh when its first commit after the return is applied; a commit from its first
// tenure arriving before that one is still applied.
import { and, eq, inArray, lt, max, or } from 'drizzle-orm';
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
import { groupActivity, groupCommitSequences, groupOffsets } from '../db/schema.ts';
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

  // One by one: a later commit of the batch sees the sequence an earlier one recorded.
  const errorCodes: number[][] = [];
  const refusals: (string | null)[] = [];
  for (const commit of command.commits) {
    const refused = refusal(ctx.tx, isCurrent, commit);
    if (refused === null) recordSequence(ctx, commit);

    errorCodes.push(
      refused === null
        ? commitGroup(ctx, commit, partitionCount)
        : commit.offsets.map(() => refused.errorCode),
    );
    refusals.push(refused?.message ?? null);
  }
  return { errorCodes, refusals };
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

interface Refusal {
  errorCode: number;
  message: string;
}

/** Why a whole commit is refused in this state, or null when its offsets may be stored. */
function refusal(tx: StateTx, isCurrent: CoordinatorCheck, commit: GroupCommit): Refusal | null {
  const { groupId, coordinator, sequence } = commit;
  if (groupId.length === 0) return refuse(ErrorCode.INVALID_GROUP_ID, 'the group id is empty');
  if (coordinator === null) return null;

  const { nodeId, brokerEpoch } = coordinator;
  if (!isCurrent(groupId, coordinator)) {
    const why = `data node ${nodeId} (broker epoch ${brokerEpoch}) does not coordinate the group`;
    return refuse(ErrorCode.NOT_COORDINATOR, why);
  }

  const last = lateAfter(tx, groupId, coordinator, sequence);
  if (last === null) return null;

  const why =
    `commit ${sequence} of ${groupId} from data node ${nodeId} arrived after its commit ` +
    `${last.sequence} was applied: it was sent earlier, and would move offsets back`;
  return refuse(ErrorCode.REQUEST_TIMED_OUT, why);
}

function refuse(errorCode: number, message: string): Refusal {
  return { errorCode, message };
}

/** The last numbered commit applied for a group: who sent it, and its sequence. */
export interface AppliedSequence {
  nodeId: number;
  brokerEpoch: number;
  sequence: number;
}

/**
 * Whether a commit numbered `sequence` by `coordinator` was sent before the one applied last for
 * its group, `last`. Only commits of one coordinator incarnation are comparable: one from another
 * node, or from a newer broker epoch of the same node, starts afresh. An equal sequence is a
 * retry of the commit applied last, with the same offsets: applying it again changes nothing.
 */
export function isLateCommit(
  last: AppliedSequence,
  coordinator: CoordinatorRef,
  sequence: number,
): boolean {
  if (last.nodeId !== coordinator.nodeId) return false;
  if (last.brokerEpoch === coordinator.brokerEpoch) return sequence < last.sequence;
  return coordinator.brokerEpoch < last.brokerEpoch;
}

/** The write applied last for the group if the one numbered `sequence` was sent before it. */
function lateAfter(
  tx: StateTx,
  groupId: string,
  coordinator: CoordinatorRef,
  sequence: number | null | undefined,
): AppliedSequence | null {
  if (sequence == null) return null;
  const last = readSequence(tx, groupId);
  return last !== undefined && isLateCommit(last, coordinator, sequence) ? last : null;
}

function readSequence(tx: StateTx, groupId: string): AppliedSequence | undefined {
  return tx
    .select({
      nodeId: groupCommitSequences.nodeId,
      brokerEpoch: groupCommitSequences.brokerEpoch,
      sequence: groupCommitSequences.sequence,
    })
    .from(groupCommitSequences)
    .where(eq(groupCommitSequences.groupId, groupId))
    .get();
}

/** Remembers the sequence of a write (commit or deletion) applied for its group. */
function recordSequence(
  ctx: ApplyContext,
  write: Pick<GroupCommit, 'groupId' | 'coordinator' | 'sequence'>,
): void {
  const { groupId, coordinator, sequence } = write;
  if (coordinator === null || sequence == null) return;

  const row = { groupId, ...coordinator, sequence, appliedMs: ctx.now };
  ctx.tx
    .insert(groupCommitSequences)
    .values(row)
    .onConflictDoUpdate({ target: groupCommitSequences.groupId, set: row })
    .run();
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
  const { groupId, coordinator = null, sequence = null } = command;
  if (coordinator !== null && !coordinatorCheck(ctx.tx)(groupId, coordinator)) {
    reject('notCoordinator', `data node ${coordinator.nodeId} does not coordinate ${groupId}`);
  }

  const last = coordinator === null ? null : lateAfter(ctx.tx, groupId, coordinator, sequence);
  if (last !== null) {
    reject(
      'lateOffsetWrite',
      `deletion ${sequence} of ${groupId} from data node ${last.nodeId} arrived after ` +
        `its write ${last.sequence} was applied: it was sent earlier`,
    );
  }

  const result = ctx.tx.delete(groupOffsets).where(deletionFilter(command)).run();
  recordSequence(ctx, { groupId, coordinator, sequence });
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

  const isCurrent = coordinatorCheck(ctx.tx);
  const mine = [...listed].filter((groupId) => isCurrent(groupId, command.coordinator));
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
  // No commit stays on its way for a whole retention period: older sequences guard nothing.
  ctx.tx.delete(groupCommitSequences).where(lt(groupCommitSequences.appliedMs, cutoffMs)).run();
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
