// OffsetDelete (key 47): an administrator removes the committed offsets of chosen partitions of
// a group, as `kafka-consumer-groups --delete-offsets` does. Kafka's rules: a group with neither
// members nor offsets is GROUP_ID_NOT_FOUND; a group with members of the "consumer" protocol keeps
// the offsets of every topic a member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC, per partition);
// a group with members of another protocol refuses outright (NON_EMPTY_GROUP), since its
// subscriptions cannot be read. The deletion itself goes through the controller's Raft log, which
// refuses it (NOT_COORDINATOR) unless this node still coordinates the group there.
//
// Known shortcomings: member subscriptions are read from the group's description, which carries
// protocol metadata only while the group is Stable. During a rebalance every requested partition
// is refused with GROUP_SUBSCRIBED_TO_TOPIC, and the client may retry once the group settles.
// The deletion does not queue behind commits of the group in flight on this node, so a commit
// racing the deletion of the same partition may land on either side of it.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import {
  ApiKey,
  ProtocolError,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../shared/protocol/index.ts';
import { Reader } from '../../shared/protocol/reader.ts';
import type { ApiHandler } from '../handlers/context.ts';
import type { GroupService } from '../handlers/groups.ts';
import type { Group } from './group.ts';
import type { OffsetStore, TopicPartitionRef } from './offset-store.ts';

export interface OffsetDeleteDeps {
  /** Why this node cannot serve the group now (NOT_COORDINATOR, ...), or null when it can. */
  refusal: (groupId: string) => number | null;
  /** The group as loaded on this node, if it is. */
  group: (groupId: string) => Group | undefined;
  /** Names this node as the coordinator in its writes (CoordinatorOffsetStore). */
  store: OffsetStore;
  logger: Logger;
}

type TopicAnswer = OffsetDeleteResponse['topics'][number];

/** The protocol type of Kafka's consumers, whose member metadata lists their subscriptions. */
const CONSUMER_PROTOCOL_TYPE = 'consumer';

export async function offsetDelete(
  deps: OffsetDeleteDeps,
  request: OffsetDeleteRequest,
): Promise<OffsetDeleteResponse> {
  const { groupId } = request;
  const refused = deps.refusal(groupId);
  if (refused !== null) return failed(refused);

  let hasOffsets: boolean;
  try {
    hasOffsets = (await deps.store.fetch(groupId, null)).length > 0;
  } catch (err) {
    return failed(errorCodeOf(err, deps, groupId));
  }

  // Read after the store answered: members may have joined meanwhile.
  const group = deps.group(groupId);
  const hasMembers = group !== undefined && group.state !== 'Empty' && group.state !== 'Dead';
  if (!hasMembers && !hasOffsets) return failed(ErrorCode.GROUP_ID_NOT_FOUND);
  if (hasMembers && group.protocolType !== CONSUMER_PROTOCOL_TYPE) {
    return failed(ErrorCode.NON_EMPTY_GROUP);
  }

  const subscribed = hasMembers ? subscribedTopics(group) : new Set<string>();
  return deleteUnsubscribed(deps, request, subscribed);
}

async function deleteUnsubscribed(
  deps: OffsetDeleteDeps,
  request: OffsetDeleteRequest,
  subscribed: ReadonlySet<string> | null,
): Promise<OffsetDeleteResponse> {
  const isSubscribed = (topic: string) => subscribed === null || subscribed.has(topic);
  const deletable: TopicPartitionRef[] = request.topics
    .filter((t) => !isSubscribed(t.name))
    .flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));

  try {
    await deps.store.deleteOffsets(request.groupId, deletable);
  } catch (err) {
    return failed(errorCodeOf(err, deps, request.groupId));
  }

  if (deletable.length > 0) {
    deps.logger.info({ group: request.groupId, partitions: deletable.length }, 'offsets deleted');
  }
  const topics = request.topics.map((t) =>
    answer(t, isSubscribed(t.name) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE),
  );
  return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
}

/**
 * Topics any member subscribes to, from each member's ConsumerProtocolSubscription (int16
 * version, then an array of topic names in every version). Null when they cannot be read: the
 * group is rebalancing, or a member's metadata does not parse. Null means "assume every topic".
 */
export function subscribedTopics(group: Group): Set<string> | null {
  if (group.state !== 'Stable') return null;

  const topics = new Set<string>();
  for (const member of group.describe().members) {
    const own = subscriptionTopics(member.memberMetadata);
    if (own === null) return null;
    for (const topic of own) topics.add(topic);
  }
  return topics;
}

/** The topics of one ConsumerProtocolSubscription, or null when it does not parse. */
export function subscriptionTopics(metadata: Buffer): string[] | null {
  try {
    const reader = new Reader(metadata, 0);
    const version = reader.int16();
    if (version < 0) return null;

    const count = reader.int32();
    if (count < 0 || count > reader.remaining() / 2) return null;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = reader.int16();
      if (length < 0) return null;
      topics.push(reader.utf8(length));
    }
    return topics;
  } catch (err) {
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}

function failed(errorCode: number): OffsetDeleteResponse {
  return { errorCode, throttleTimeMs: 0, topics: [] };
}

function answer(topic: OffsetDeleteRequest['topics'][number], errorCode: number): TopicAnswer {
  const partitions = topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode }));
  return { name: topic.name, partitions };
}

function errorCodeOf(err: unknown, deps: OffsetDeleteDeps, groupId: string): number {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') {
    deps.logger.warn({ group: groupId, err: String(err), errorCode: code }, 'offset delete failed');
    return code;
  }
  deps.logger.error({ group: groupId, err }, 'offset delete failed');
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** The dispatcher's route for OffsetDelete: hands the request to the group coordinator. */
export function offsetDeleteHandler(
  groups: GroupService,
): ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> {
  return {
    apiKey: ApiKey.OffsetDelete,

    async handle(request, ctx) {
      const caller = { clientId: ctx.clientId, clientHost: ctx.clientHost };
      const response = await groups.handle(ApiKey.OffsetDelete, ctx.apiVersion, request, caller);
      return response as OffsetDeleteResponse;
    },

    errorResponse(_request, code) {
      return failed(code);
    },
  };
}
