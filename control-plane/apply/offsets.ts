// State machine handlers for consumer group offsets. The group coordinators on the data nodes
// check members and generations; the controller stores what they commit, refusing partitions
// that do not exist, metadata that is too large, and a coordinator that is no longer current
// (a data node fenced or registered again since), so a stale coordinator cannot move a group's
// offsets.
import { and, eq, inArray } from 'drizzle-orm';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import type { CommandOf, CommandOutputs, GroupCommit, OffsetCommitEntry } from '../commands.ts';
import { readDataNode, readTopic } from '../db/queries.ts';
import { groupOffsets } from '../db/schema.ts';
import type { ApplyContext } from './context.ts';

/** Kafka's offset.metadata.max.bytes default. */
export const OFFSET_METADATA_BYTES_MAX = 4096;

export function commitOffsets(
  ctx: ApplyContext,
  command: CommandOf<'commitOffsets'>,
): CommandOutputs['commitOffsets'] {
  const counts = new Map<string, number>();
  const partitionCount = (topic: string) => {
    if (!counts.has(topic)) counts.set(topic, readTopic(ctx.tx, topic)?.partitions.length ?? 0);
    return counts.get(topic)!;
  };

  return { errorCodes: command.commits.map((commit) => commitGroup(ctx, commit, partitionCount)) };
}

function commitGroup(
  ctx: ApplyContext,
  commit: GroupCommit,
  partitionCount: (topic: string) => number,
): number[] {
  const refused = refusal(ctx, commit);
  if (refused !== ErrorCode.NONE) return commit.offsets.map(() => refused);

  return commit.offsets.map((entry) => {
    const code = offsetProblem(entry, partitionCount);
    if (code === ErrorCode.NONE) store(ctx, commit.groupId, entry);
    return code;
  });
}

function refusal(ctx: ApplyContext, commit: GroupCommit): number {
  if (commit.groupId.length === 0) return ErrorCode.INVALID_GROUP_ID;
  if (commit.coordinator === null) return ErrorCode.NONE;

  const node = readDataNode(ctx.tx, commit.coordinator.nodeId);
  const current = node !== undefined && !node.fenced;
  if (!current || node.brokerEpoch !== commit.coordinator.brokerEpoch) {
    return ErrorCode.NOT_COORDINATOR;
  }
  return ErrorCode.NONE;
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
  const byGroup = eq(groupOffsets.groupId, command.groupId);
  const where =
    command.topics === null ? byGroup : and(byGroup, inArray(groupOffsets.topic, command.topics));

  const result = ctx.tx.delete(groupOffsets).where(where).run();
  return { deleted: result.changes };
}
