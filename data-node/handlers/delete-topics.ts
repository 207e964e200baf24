// DeleteTopics (key 20): forwarded to the controller's admin API, by name, or by topic id from
// version 6 (resolved to a name through this node's metadata view). A deleted topic is answered
// once this node's view has dropped it.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  ZERO_UUID,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../../shared/protocol/index.ts';
import { adminError, viewWaitMs } from './admin.ts';
import type { ApiHandler, RequestContext } from './context.ts';

interface Target {
  name: string | null;
  topicId: string;
}

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DeleteTopics,

  async handle(request, ctx) {
    const responses = await Promise.all(
      targetsOf(request, ctx.apiVersion).map((t) => deleteOne(ctx, t, request.timeoutMs)),
    );
    return { throttleTimeMs: 0, responses };
  },

  errorResponse(request, code, message) {
    const responses = targetsOf(request, 6).map((t) => ({
      ...t,
      errorCode: code,
      errorMessage: message,
    }));
    return { throttleTimeMs: 0, responses };
  },
};

function targetsOf(request: DeleteTopicsRequest, apiVersion: number): Target[] {
  if (apiVersion >= 6) return request.topics.map((t) => ({ name: t.name, topicId: t.topicId }));
  return request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
}

async function deleteOne(ctx: RequestContext, target: Target, timeoutMs: number) {
  const view = ctx.node.metadata();
  const topic =
    target.name !== null
      ? view.topics.find((t) => t.name === target.name)
      : view.topics.find((t) => t.topicId === target.topicId);
  const name = target.name ?? topic?.name ?? null;
  const topicId = topic?.topicId ?? target.topicId;

  try {
    if (name === null) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID);
    await ctx.node.controller.deleteTopic(name);
  } catch (err) {
    const { code, message } = adminError(err);
    return { name, topicId, errorCode: code, errorMessage: message };
  }

  const waitMs = viewWaitMs(timeoutMs);
  await ctx.node.awaitMetadata((v) => !v.topics.some((t) => t.name === name), waitMs);
  return { name, topicId, errorCode: ErrorCode.NONE, errorMessage: null };
}
