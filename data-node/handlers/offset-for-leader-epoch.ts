// OffsetForLeaderEpoch (key 23): where a leader epoch ended in the leader's log. A consumer after
// a leader change, or a follower about to fetch, compares it with its own log to find where the
// two diverged and truncates there.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../shared/protocol/index.ts';
import type { ApiHandler, RequestContext } from './context.ts';
import { errorOf, findPartition } from './partitions.ts';

type RequestPartition = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

export const offsetForLeaderEpochHandler: ApiHandler<
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse
> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,

  async handle(request, ctx) {
    const topics = request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => endOffsetOf(ctx, t.topic, p)),
    }));
    return { throttleTimeMs: 0, topics };
  },

  errorResponse(request, code) {
    const topics = request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: code })),
    }));
    return { throttleTimeMs: 0, topics };
  },
};

function endOffsetOf(ctx: RequestContext, topic: string, request: RequestPartition) {
  try {
    const partition = findPartition(ctx.node, topic, request.partition);
    partition.checkLeaderEpoch(request.currentLeaderEpoch);
    partition.requireLeader();

    const { leaderEpoch, endOffset } = partition.endOffsetForEpoch(request.leaderEpoch);
    return { partition: request.partition, errorCode: ErrorCode.NONE, leaderEpoch, endOffset };
  } catch (err) {
    return { partition: request.partition, errorCode: errorOf(err).code };
  }
}
