// ListOffsets (key 2): the earliest offset (-2, the log start offset), the latest (-1, the high
// watermark: what a consumer can read), or the first offset whose record timestamp is at or after
// a time, looked up inside batches (case P5). Version 0 answers with a list of offsets.
//
// Not served yet: the offset of the largest timestamp (-3) answers with no offset (-1), as does
// the latest tiered offset (-5); the earliest local offset (-4) is the log start offset, since
// every segment is local. Leader epochs of the offsets found are reported as unknown (-1).
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type Encodable,
  type ListOffsetsRequest,
  type ListOffsetsRequestPartition,
  type ListOffsetsResponse,
  type ListOffsetsResponsePartition,
} from '../../shared/protocol/index.ts';
import type { Partition } from '../partition.ts';
import type { ApiHandler, RequestContext } from './context.ts';
import { errorOf, findPartition } from './partitions.ts';

type PartitionAnswer = Encodable<ListOffsetsResponsePartition>;

const LATEST = -1n;
const EARLIEST = -2n;
const EARLIEST_LOCAL = -4n;

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,

  async handle(request, ctx) {
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(topic.partitions.map((p) => listOne(ctx, topic.name, p))),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },

  errorResponse(request, code) {
    const topics = request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: code,
      })),
    }));
    return { throttleTimeMs: 0, topics };
  },
};

async function listOne(
  ctx: RequestContext,
  topic: string,
  request: ListOffsetsRequestPartition,
): Promise<PartitionAnswer> {
  try {
    const partition = findPartition(ctx.node, topic, request.partitionIndex);
    partition.checkLeaderEpoch(request.currentLeaderEpoch);
    partition.requireLeader();

    const found = await lookup(partition, request.timestamp);
    return {
      partitionIndex: request.partitionIndex,
      errorCode: ErrorCode.NONE,
      oldStyleOffsets: found.offset >= 0n ? [found.offset] : [],
      timestamp: found.timestamp,
      offset: found.offset,
      leaderEpoch: -1,
    };
  } catch (err) {
    return { partitionIndex: request.partitionIndex, errorCode: errorOf(err).code };
  }
}

async function lookup(
  partition: Partition,
  timestamp: bigint,
): Promise<{ offset: bigint; timestamp: bigint }> {
  if (timestamp === LATEST) return { offset: partition.highWatermark, timestamp: -1n };
  if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL) {
    return { offset: partition.logStartOffset, timestamp: -1n };
  }
  if (timestamp < 0n) return { offset: -1n, timestamp: -1n };

  return (await partition.offsetForTimestamp(timestamp)) ?? { offset: -1n, timestamp: -1n };
}
