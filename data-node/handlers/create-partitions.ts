// CreatePartitions (key 37): grows a topic's partition count, forwarded to the controller's admin
// API. Manual assignment of the new partitions' replicas is not supported.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from '../../shared/protocol/index.ts';
import { adminError, viewWaitMs } from './admin.ts';
import type { ApiHandler, RequestContext } from './context.ts';

type RequestTopic = CreatePartitionsRequest['topics'][number];

export const createPartitionsHandler: ApiHandler<
  CreatePartitionsRequest,
  CreatePartitionsResponse
> = {
  apiKey: ApiKey.CreatePartitions,

  async handle(request, ctx) {
    const results = await Promise.all(
      request.topics.map((t) => growOne(ctx, t, request.validateOnly, request.timeoutMs)),
    );
    return { throttleTimeMs: 0, results };
  },

  errorResponse(request, code, message) {
    const results = request.topics.map((t) => ({
      name: t.name,
      errorCode: code,
      errorMessage: message,
    }));
    return { throttleTimeMs: 0, results };
  },
};

async function growOne(
  ctx: RequestContext,
  topic: RequestTopic,
  validateOnly: boolean,
  timeoutMs: number,
) {
  try {
    if (topic.assignments !== null && topic.assignments.length > 0) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'manual replica assignment is not supported');
    }
    await ctx.node.controller.createPartitions(topic.name, topic.count, validateOnly);
  } catch (err) {
    const { code, message } = adminError(err);
    return { name: topic.name, errorCode: code, errorMessage: message };
  }

  if (!validateOnly) {
    const grown = (view: ReturnType<typeof ctx.node.metadata>) =>
      (view.topics.find((t) => t.name === topic.name)?.partitions.length ?? 0) >= topic.count;
    await ctx.node.awaitMetadata(grown, viewWaitMs(timeoutMs));
  }
  return { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
}
