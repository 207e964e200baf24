// Produce (key 0, versions 3-11): appends producers' record batches on the partition leaders. The
// batches are validated and stamped by the log, never re-encoded. Every append starts
// synchronously, in request order, so pipelined produces to a partition keep their order while
// their fsyncs are shared. acks=0 gets no answer; if such a request fails, the connection is
// closed, as Kafka does, so the producer notices and refreshes its metadata.
//
// acks=1 is answered once the batches are durable on the leader; acks=-1 (all) once they are
// committed, durable on every ISR member, or fails: NOT_ENOUGH_REPLICAS when the ISR is below
// min.insync.replicas at append, REQUEST_TIMED_OUT after the request's timeoutMs. Idempotent
// batches are checked by sequence (data-node/producer-gate.ts); a retry is answered with the
// offsets the batch was first written at.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  MIN_SERVED_PRODUCE_VERSION,
  type Encodable,
  type ProduceRequest,
  type ProduceRequestPartition,
  type ProduceResponse,
  type ProduceResponsePartition,
} from '../../shared/protocol/index.ts';
import { CloseConnection, NO_RESPONSE, type ApiHandler, type RequestContext } from './context.ts';
import { errorOf, findPartition } from './partitions.ts';

type PartitionAnswer = Encodable<ProduceResponsePartition>;

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  servedVersions: { min: MIN_SERVED_PRODUCE_VERSION, max: 11 },

  async handle(request, ctx) {
    if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
      return produceErrors(request, ErrorCode.INVALID_REQUIRED_ACKS, `acks ${request.acks}`);
    }

    const nowMs = Date.now();
    const pending = request.topicData.map((topic) => ({
      name: topic.name,
      answers: topic.partitionData.map((data) =>
        appendOne(ctx, topic.name, data, request.acks, nowMs, request.timeoutMs),
      ),
    }));

    const responses = [];
    for (const topic of pending) {
      responses.push({ name: topic.name, partitionResponses: await Promise.all(topic.answers) });
    }

    if (request.acks !== 0) return { responses, throttleTimeMs: 0 };
    const failed = responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== 0));
    if (failed) throw new CloseConnection('produce with acks=0 failed');
    return NO_RESPONSE;
  },

  errorResponse(request, code, message) {
    return produceErrors(request, code, message);
  },
};

/** Starts one partition's append at once (no await before it) and maps the outcome. */
function appendOne(
  ctx: RequestContext,
  topic: string,
  data: ProduceRequestPartition,
  acks: number,
  nowMs: number,
  timeoutMs: number,
): Promise<PartitionAnswer> {
  try {
    const partition = findPartition(ctx.node, topic, data.index);
    if (data.records === null || data.records.length === 0) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'produce without record batches');
    }

    return partition.appendAsLeader(data.records, acks, nowMs, timeoutMs).then(
      (appended): PartitionAnswer => ({
        index: data.index,
        errorCode: ErrorCode.NONE,
        baseOffset: appended.baseOffset,
        logAppendTimeMs: appended.logAppendTimeMs,
        logStartOffset: appended.logStartOffset,
      }),
      (err: unknown) => failedAppend(ctx, topic, data.index, err),
    );
  } catch (err) {
    return Promise.resolve(failedAppend(ctx, topic, data.index, err));
  }
}

function failedAppend(
  ctx: RequestContext,
  topic: string,
  index: number,
  err: unknown,
): PartitionAnswer {
  const { code, message } = errorOf(err);
  if (code === ErrorCode.UNKNOWN_SERVER_ERROR || code === ErrorCode.KAFKA_STORAGE_ERROR) {
    ctx.node.logger.error({ err, topic, partition: index }, 'append failed');
  } else {
    ctx.node.logger.debug({ topic, partition: index, code, message }, 'append refused');
  }
  return failedPartition(index, code, message);
}

function failedPartition(index: number, code: number, message: string): PartitionAnswer {
  return { index, errorCode: code, baseOffset: -1n, logStartOffset: -1n, errorMessage: message };
}

function produceErrors(
  request: ProduceRequest,
  code: number,
  message: string,
): Encodable<ProduceResponse> {
  const responses = request.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((p) => failedPartition(p.index, code, message)),
  }));
  return { responses, throttleTimeMs: 0 };
}
