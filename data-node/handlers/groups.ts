// The group APIs, handed to the group coordinator (data-node/groups/), which decodes nothing
// itself: it takes decoded bodies and returns response bodies. What lives here is the routing and,
// per API, the response that carries one error code everywhere, for versions not served and for
// failures that escape the coordinator.
import {
  ApiKey,
  type DeleteGroupsRequest,
  type DescribeGroupsRequest,
  type FindCoordinatorRequest,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type LeaveGroupRequest,
  type ListGroupsRequest,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
  type SyncGroupRequest,
} from '../../shared/protocol/index.ts';
import type { ApiHandler } from './context.ts';

/** What the dispatcher needs of the group coordinator. */
export interface GroupService {
  handle(
    apiKey: number,
    apiVersion: number,
    body: unknown,
    ctx: {
      clientId: string | null;
      clientHost: string;
      /** The connection the request came on: the coordinator watches it for a close. */
      connection?: { readonly id: number; readonly closed: boolean };
    },
  ): Promise<unknown>;
}

type OffsetTopics = { name: string; partitionIndexes: number[] }[] | null;

/** Per group API, its body with `code` in every error field. */
const errorBodies: Record<number, (request: never, code: number, message: string) => unknown> = {
  [ApiKey.FindCoordinator]: (r: FindCoordinatorRequest, code, message) => {
    const keys = r.coordinatorKeys.length > 0 ? r.coordinatorKeys : [r.key];
    const nobody = { nodeId: -1, host: '', port: -1 };
    return {
      ...nobody,
      errorCode: code,
      errorMessage: message,
      coordinators: keys.map((key) => ({ key, ...nobody, errorCode: code, errorMessage: message })),
    };
  },
  [ApiKey.JoinGroup]: (r: JoinGroupRequest, code) => ({
    errorCode: code,
    generationId: -1,
    protocolName: '',
    leader: '',
    memberId: r.memberId,
    members: [],
  }),
  [ApiKey.Heartbeat]: (_r: HeartbeatRequest, code) => ({ errorCode: code }),
  [ApiKey.LeaveGroup]: (r: LeaveGroupRequest, code) => ({
    errorCode: code,
    members: r.members.map((m) => ({ ...m, errorCode: code })),
  }),
  [ApiKey.SyncGroup]: (_r: SyncGroupRequest, code) => ({
    errorCode: code,
    assignment: Buffer.alloc(0),
  }),
  [ApiKey.DescribeGroups]: (r: DescribeGroupsRequest, code) => ({
    groups: r.groups.map((groupId) => ({
      groupId,
      errorCode: code,
      groupState: 'Dead',
      members: [],
    })),
  }),
  [ApiKey.ListGroups]: (_r: ListGroupsRequest, code) => ({ errorCode: code, groups: [] }),
  [ApiKey.OffsetCommit]: (r: OffsetCommitRequest, code) => ({
    topics: r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })),
    })),
  }),
  [ApiKey.OffsetFetch]: (r: OffsetFetchRequest, code) => ({
    errorCode: code,
    topics: offsetFetchErrors(r.topics, code),
    groups: r.groups.map((g) => ({ groupId: g.groupId, errorCode: code, topics: [] })),
  }),
  [ApiKey.DeleteGroups]: (r: DeleteGroupsRequest, code) => ({
    results: r.groupsNames.map((groupId) => ({ groupId, errorCode: code })),
  }),
};

export function groupHandlers(groups: GroupService): ApiHandler<unknown, unknown>[] {
  return Object.entries(errorBodies).map(([key, errorBody]) => ({
    apiKey: Number(key),

    async handle(request, ctx) {
      const { clientId, clientHost, connection } = ctx;
      const caller = { clientId, clientHost, connection };
      return (await groups.handle(Number(key), ctx.apiVersion, request, caller)) as never;
    },

    errorResponse(request, code, message) {
      return errorBody(request as never, code, message) as never;
    },
  }));
}

function offsetFetchErrors(topics: OffsetTopics, code: number) {
  return (topics ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({
      partitionIndex,
      committedOffset: -1n,
      errorCode: code,
    })),
  }));
}
