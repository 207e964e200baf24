// CreateTopics (key 19): forwarded to the controller's admin API, one topic at a time, each with
// its own error (case P7). Names and configs are checked here first with the same shared rules
// the controller applies, so plain mistakes are answered without a round trip; the controller
// still decides (collisions, existing topics, placement). A created topic is answered once this
// node's metadata view holds it, so a Metadata request right after sees it. From version 5 the
// answer reports the partition count, replication factor and every config the topic got.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type CreateTopicsRequest,
  type CreateTopicsRequestTopic,
  type CreateTopicsResponse,
  type CreateTopicsResponseTopic,
  type Encodable,
} from '../../shared/protocol/index.ts';
import type { TopicRecord } from '../../shared/cluster-metadata.ts';
import {
  describeTopicConfigs,
  validateTopicConfigs,
  validateTopicName,
} from '../../shared/topic-config.ts';
import type { TopicDescription } from '../controller-client.ts';
import { replicationFactorOf } from '../topic-settings.ts';
import { adminError, viewWaitMs } from './admin.ts';
import type { ApiHandler, RequestContext } from './context.ts';

type TopicAnswer = Encodable<CreateTopicsResponseTopic>;

/** Kafka's ConfigSource numbers. */
export const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 };

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CreateTopics,

  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);

    // One at a time, in request order, so that of two colliding names the first one wins.
    const topics: TopicAnswer[] = [];
    for (const t of request.topics) {
      const answer =
        counts.get(t.name)! > 1
          ? failed(t.name, ErrorCode.INVALID_REQUEST, `topic ${t.name} appears more than once`)
          : await createOne(ctx, t, request.validateOnly, request.timeoutMs);
      topics.push(answer);
    }
    return { throttleTimeMs: 0, topics };
  },

  errorResponse(request, code, message) {
    return { throttleTimeMs: 0, topics: request.topics.map((t) => failed(t.name, code, message)) };
  },
};

async function createOne(
  ctx: RequestContext,
  topic: CreateTopicsRequestTopic,
  validateOnly: boolean,
  timeoutMs: number,
): Promise<TopicAnswer> {
  let configs: Record<string, string>;
  let created: TopicDescription;
  try {
    validateTopicName(topic.name);
    if (topic.assignments.length > 0) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'manual replica assignment is not supported');
    }
    configs = validateTopicConfigs(Object.fromEntries(topic.configs.map((c) => [c.name, c.value])));

    const partitions = topic.numPartitions === -1 ? undefined : topic.numPartitions;
    const replicationFactor = topic.replicationFactor === -1 ? undefined : topic.replicationFactor;
    const request = { name: topic.name, partitions, replicationFactor, configs };
    created = await ctx.node.controller.createTopic(request, validateOnly);
  } catch (err) {
    const { code, message } = adminError(err);
    return failed(topic.name, code, message);
  }

  if (validateOnly) return fromDescription(created, topic, configs);
  const inView = await waitForTopic(ctx, topic.name, created.topicId, timeoutMs);
  return inView === undefined ? fromDescription(created, topic, configs) : fromRecord(inView);
}

async function waitForTopic(
  ctx: RequestContext,
  name: string,
  topicId: string | undefined,
  timeoutMs: number,
): Promise<TopicRecord | undefined> {
  const find = (topics: TopicRecord[]) =>
    topics.find((t) => t.name === name && (topicId === undefined || t.topicId === topicId));

  const waitMs = viewWaitMs(timeoutMs);
  await ctx.node.awaitMetadata((view) => find(view.topics) !== undefined, waitMs);
  return find(ctx.node.metadata().topics);
}

function fromRecord(topic: TopicRecord): TopicAnswer {
  const replicationFactor = replicationFactorOf(topic);
  return {
    name: topic.name,
    topicId: topic.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions: topic.partitions.length,
    replicationFactor,
    configs: configEntries(topic.configs, replicationFactor),
  };
}

/** The answer when the view does not hold the topic (validateOnly, or a slow view). */
function fromDescription(
  created: TopicDescription,
  request: CreateTopicsRequestTopic,
  configs: Record<string, string>,
): TopicAnswer {
  const numPartitions = created.partitions?.length ?? request.numPartitions;
  const replicationFactor = created.replicationFactor ?? request.replicationFactor;

  return {
    name: request.name,
    topicId: created.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions,
    replicationFactor,
    configs: configEntries(created.configs ?? configs, replicationFactor),
  };
}

function configEntries(configs: Record<string, string>, replicationFactor: number) {
  return describeTopicConfigs(configs, replicationFactor > 0 ? replicationFactor : undefined).map(
    (entry) => ({
      name: entry.name,
      value: entry.value,
      readOnly: false,
      configSource: entry.isDefault
        ? ConfigSource.DEFAULT_CONFIG
        : ConfigSource.DYNAMIC_TOPIC_CONFIG,
      isSensitive: false,
    }),
  );
}

function failed(name: string, code: number, message: string): TopicAnswer {
  return { name, errorCode: code, errorMessage: message, configs: null };
}
