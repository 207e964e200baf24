// Fetch (key 1, versions 4-17): consumers read committed records (below the high watermark) and
// follower replicas read up to the log end offset; a replica id >= 0 marks a follower, whose fetch
// offset also reports its durable position to the leader (high watermark, ISR) and whose
// lastFetchedEpoch (v12+) is checked for divergence. The answer
// waits, up to maxWaitMs, until at least minBytes are there: every partition read wakes the
// request when its log grows or its high watermark moves, so a produce is seen at once (case P4).
// Size limits follow Kafka: per partition and per response, except that the first batch of the
// first partition with data is returned whole, so a batch larger than the limits still flows
// (case P3). Fetch sessions are declined (session id 0), which makes clients send full fetches.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type Encodable,
  type FetchRequest,
  type FetchRequestPartition,
  type FetchResponse,
  type FetchResponsePartition,
} from '../../shared/protocol/index.ts';
import type { Partition } from '../partition.ts';
import type { ApiHandler, RequestContext } from './context.ts';
import { errorOf, findPartition, topicNameForId } from './partitions.ts';

type PartitionAnswer = Encodable<FetchResponsePartition>;

const READ_COMMITTED = 1;
const TOPIC_IDS_FROM_VERSION = 13;
const REPLICA_STATE_FROM_VERSION = 15;

/** One fetch, resolved against this node's partitions once, then read as often as it waits. */
interface FetchPlan {
  replicaId: number;
  isolationLevel: number;
  maxBytes: number;
  topics: { topic: string; topicId: string; name: string | undefined; parts: PlannedPartition[] }[];
}

interface PlannedPartition {
  request: FetchRequestPartition;
  partition: Partition | null;
  error: KafkaError | null;
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,

  async handle(request, ctx) {
    if (request.sessionId !== 0) {
      return fetchError(request, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    }

    const plan = planFetch(request, ctx);
    const deadline = Date.now() + Math.max(0, request.maxWaitMs);
    // Watching starts before the first read, so an append that lands during a read still wakes us.
    const watch = new ProgressWatch(servingPartitions(plan));
    try {
      for (;;) {
        watch.reset();
        const { topics, bytes, failed } = await readPlan(plan, Date.now());
        const remainingMs = deadline - Date.now();
        const done = bytes >= request.minBytes || failed || remainingMs <= 0;
        if (done || ctx.connection.closed) return fetchAnswer(topics);

        await watch.wait(remainingMs);
      }
    } finally {
      watch.close();
    }
  },

  errorResponse(request, code) {
    return fetchError(request, code);
  },
};

function planFetch(request: FetchRequest, ctx: RequestContext): FetchPlan {
  const byId = ctx.apiVersion >= TOPIC_IDS_FROM_VERSION;
  const replicaId =
    ctx.apiVersion >= REPLICA_STATE_FROM_VERSION
      ? request.replicaState.replicaId
      : request.replicaId;

  const topics = request.topics.map((t) => {
    const name = byId ? topicNameForId(ctx.node, t.topicId) : t.topic;
    const parts = t.partitions.map((p) => planPartition(ctx, name, byId, p));
    return { topic: t.topic, topicId: t.topicId, name, parts };
  });

  // The node's own cap bounds what one answer holds in memory, whatever the client asks for.
  const maxBytes = Math.min(request.maxBytes, ctx.node.config.fetchMaxBytes);
  return { replicaId, isolationLevel: request.isolationLevel, maxBytes, topics };
}

function planPartition(
  ctx: RequestContext,
  name: string | undefined,
  byId: boolean,
  request: FetchRequestPartition,
): PlannedPartition {
  try {
    if (name === undefined) {
      throw new KafkaError(
        byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    const partition = findPartition(ctx.node, name, request.partition);
    return { request, partition, error: null };
  } catch (err) {
    const error = err instanceof KafkaError ? err : new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR);
    return { request, partition: null, error };
  }
}

/** Reads every partition of the plan in order, within the size limits. */
async function readPlan(plan: FetchPlan, nowMs: number) {
  let remainingBytes = plan.maxBytes;
  let bytes = 0;
  let failed = false;

  const topics = [];
  for (const t of plan.topics) {
    const partitions = [];
    for (const part of t.parts) {
      // The first batch of the first partition with data is given whole, whatever the limits.
      const minOneBatch = bytes === 0;
      const answer = await readPartition(
        plan,
        part,
        Math.max(0, remainingBytes),
        minOneBatch,
        nowMs,
      );

      const size = answer.records?.length ?? 0;
      bytes += size;
      remainingBytes -= size;
      failed ||= answer.errorCode !== ErrorCode.NONE || diverges(answer);
      partitions.push(answer);
    }
    topics.push({ topic: t.topic, topicId: t.topicId, partitions });
  }

  return { topics, bytes, failed };
}

async function readPartition(
  plan: FetchPlan,
  { request, partition, error }: PlannedPartition,
  remainingBytes: number,
  minOneBatch: boolean,
  nowMs: number,
): Promise<PartitionAnswer> {
  if (partition === null) return failedPartition(request.partition, error!.code, null);

  try {
    partition.checkLeaderEpoch(request.currentLeaderEpoch);
    const maxBytes = Math.min(request.partitionMaxBytes, remainingBytes);
    const read =
      plan.replicaId >= 0
        ? await readForReplica(plan.replicaId, partition, request, maxBytes, minOneBatch, nowMs)
        : await partition.readForConsumer(request.fetchOffset, maxBytes, minOneBatch);

    return {
      partitionIndex: request.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: partition.highWatermark,
      lastStableOffset: partition.highWatermark,
      logStartOffset: partition.logStartOffset,
      abortedTransactions: plan.isolationLevel === READ_COMMITTED ? [] : null,
      preferredReadReplica: -1,
      records: read.records,
      ...('divergingEpoch' in read ? { divergingEpoch: read.divergingEpoch } : {}),
    };
  } catch (err) {
    return failedPartition(request.partition, errorOf(err).code, partition);
  }
}

/**
 * A follower's read. Its fetch offset is its durable position (the leader counts it toward the
 * high watermark and the ISR); a follower whose log diverges gets no records but the epoch and
 * offset to truncate to, and the request is answered at once.
 */
async function readForReplica(
  replicaId: number,
  partition: Partition,
  request: FetchRequestPartition,
  maxBytes: number,
  minOneBatch: boolean,
  nowMs: number,
): Promise<{ records: Buffer; divergingEpoch?: { epoch: number; endOffset: bigint } }> {
  const { fetchOffset, currentLeaderEpoch, lastFetchedEpoch } = request;
  const fetch = { replicaId, fetchOffset, currentLeaderEpoch, lastFetchedEpoch, nowMs };
  const read = await partition.readForFollower(fetch, maxBytes, minOneBatch);
  if (read.divergingEpoch === null) return { records: read.records };

  // An epoch unknown here still needs an offset the follower can act on: the log start.
  const { leaderEpoch, endOffset } = read.divergingEpoch;
  const known = endOffset >= 0n ? endOffset : partition.logStartOffset;
  return { records: read.records, divergingEpoch: { epoch: leaderEpoch, endOffset: known } };
}

/** Whether an answer tells a follower to truncate: it must get it without waiting. */
function diverges(answer: PartitionAnswer): boolean {
  const diverging = answer.divergingEpoch;
  if (diverging === undefined) return false;
  return (diverging.epoch ?? -1) >= 0 || (diverging.endOffset ?? -1n) >= 0n;
}

function failedPartition(
  index: number,
  code: number,
  partition: Partition | null,
): PartitionAnswer {
  const known = partition !== null && code === ErrorCode.OFFSET_OUT_OF_RANGE;
  return {
    partitionIndex: index,
    errorCode: code,
    highWatermark: known ? partition.highWatermark : -1n,
    lastStableOffset: known ? partition.highWatermark : -1n,
    logStartOffset: known ? partition.logStartOffset : -1n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: Buffer.alloc(0),
  };
}

function servingPartitions(plan: FetchPlan): Partition[] {
  return plan.topics.flatMap((t) => t.parts.flatMap((p) => (p.partition ? [p.partition] : [])));
}

/** Remembers whether any watched partition made progress since the last reset. */
class ProgressWatch {
  private moved = false;
  private wake: (() => void) | null = null;
  private readonly unsubscribes: (() => void)[];

  constructor(partitions: Partition[]) {
    const notice = () => {
      this.moved = true;
      this.wake?.();
    };
    this.unsubscribes = partitions.map((p) => p.onProgress(notice));
  }

  reset(): void {
    this.moved = false;
  }

  /** Resolves at once if progress was seen since the reset, else at progress or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.moved) return Promise.resolve();

    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  close(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }
}

function fetchAnswer(
  topics: Awaited<ReturnType<typeof readPlan>>['topics'],
): Encodable<FetchResponse> {
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: topics };
}

function fetchError(request: FetchRequest, code: number): Encodable<FetchResponse> {
  const responses = request.topics.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => failedPartition(p.partition, code, null)),
  }));
  return { throttleTimeMs: 0, errorCode: code, sessionId: 0, responses };
}
