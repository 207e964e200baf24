// OffsetDelete (key 47): an administrator removes the committed offsets of chosen partitions of
// a group, as `kafka-consumer-groups --delete-offsets` does. Kafka's rules: a group with neither
// members nor offsets is GROUP_ID_NOT_FOUND; a group with members of the "consumer" protocol keeps
// the offsets of every topic a member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC, per partition);
// a group with members of another protocol refuses outright (NON_EMPTY_GROUP), since its
// subscriptions cannot be read. The deletion itself goes through the controller's Raft log, which
// refuses it (NOT_COORDINATOR) unless this node still coordinates the group there. It queues
// behind the group's commits already accepted on this node (GroupOffsets), so a commit made before
// the deletion never lands after it.
//
// Member subscriptions come from the group (Group.subscribedTopics), in any state: during a
// rebalance a member counts as subscribed to every topic any of its offered protocols lists.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import {
  ApiKey,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../shared/protocol/index.ts';
import type { ApiHandler } from '../handlers/context.ts';
import type { GroupService } from '../handlers/groups.ts';
import { CONSUMER_PROTOCOL_TYPE, type Group } from './group.ts';
import type { TopicPartitionRef } from './offset-store.ts';
import type { GroupOffsets } from './offsets.ts';

export interface OffsetDeleteDeps {
  /** Why this node cannot serve the group now (NOT_COORDINATOR, ...), or null when it can. */
  refusal: (groupId: string) => number | null;
  /** The group as loaded on this node, if it is. */
  group: (groupId: string) => Group | undefined;
  /** The group's offsets in commit order, naming this node as the coordinator in its writes. */
  store: Pick<GroupOffsets, 'fetch' | 'deleteOffsets' | 'errorCode'>;
  logger: Logger;
}

type TopicAnswer = OffsetDeleteResponse['topics'][number];

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
    return failed(deps.store.errorCode(err, groupId, 'offset delete failed'));
  }

  // Read after the store answered: members may have joined meanwhile.
  const group = deps.group(groupId);
  const hasMembers = group !== undefined && group.state !== 'Empty' && group.state !== 'Dead';
  if (!hasMembers && !hasOffsets) return failed(ErrorCode.GROUP_ID_NOT_FOUND);
  if (hasMembers && group.protocolType !== CONSUMER_PROTOCOL_TYPE) {
    return failed(ErrorCode.NON_EMPTY_GROUP);
  }

  // Null when a member's metadata does not parse: every topic then counts as subscribed.
  const subscribed = hasMembers ? group.subscribedTopics() : new Set<string>();
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
    return failed(deps.store.errorCode(err, request.groupId, 'offset delete failed'));
  }

  if (deletable.length > 0) {
    deps.logger.info({ group: request.groupId, partitions: deletable.length }, 'offsets deleted');
  }
  const topics = request.topics.map((t) =>
    answer(t, isSubscribed(t.name) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE),
  );
  return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
}

function failed(errorCode: number): OffsetDeleteResponse {
  return { errorCode, throttleTimeMs: 0, topics: [] };
}

function answer(topic: OffsetDeleteRequest['topics'][number], errorCode: number): TopicAnswer {
  const partitions = topic.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode }));
  return { name: topic.name, partitions };
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
