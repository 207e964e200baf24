// The data node's group coordinator: answers FindCoordinator, the classic group APIs (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups) and the offset APIs
// (OffsetCommit, OffsetFetch) for the groups this node coordinates (placement.ts). It is the edge
// around the pure state machine of group.ts: it owns the clock and one timer per group, turns wire
// versions into state machine calls and back, and keeps each JoinGroup or SyncGroup that waits for
// a rebalance as its own promise, so a long wait holds up no connection. Offsets are stored by
// the controller (offset-store.ts), in the order their requests arrived (offsets.ts).
//
// It also remembers which groups heard from a member on which Kafka connection, so that when the
// listener reports a connection closed (connectionClosed), only those groups are told.
//
// Known shortcomings: membership lives in memory only. When a group's coordinator changes (node
// restart, node fenced, a node joining), the new coordinator starts the group empty; members get
// NOT_COORDINATOR or ILLEGAL_GENERATION, rejoin and rebalance once (their committed offsets are
// safe in the controller). Transactions are not coordinated at all.
import { randomUUID } from 'node:crypto';
import { invariant } from '../../shared/assert.ts';
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribeGroupsResponseGroup,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchResponseGroup,
  SyncGroupRequest,
  SyncGroupResponse,
} from '../../shared/protocol/index.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  DEFAULT_GROUP_SETTINGS,
  Group,
  type Effects,
  type GroupEvent,
  type GroupSettings,
  type JoinRequest,
  joinError,
  type JoinResult,
  type MemberClaim,
  type Reply,
  type SyncResult,
} from './group.ts';
import { offsetDelete, type OffsetDeleteDeps } from './offset-delete.ts';
import {
  CoordinatorOffsetStore,
  coordinatorRef,
  GroupActivityReporter,
  type CommittedOffset,
  type OffsetStore,
} from './offset-store.ts';
import { GroupOffsets } from './offsets.ts';
import { coordinatorFor } from './placement.ts';

/** The Kafka connection a request came on (the listener's ConnectionInfo fits). */
export interface RequestConnection {
  readonly id: number;
  /** True once the connection is gone, possibly before a request read from it is handled. */
  readonly closed: boolean;
}

export interface RequestContext {
  clientId: string | null;
  clientHost: string;
  /** Absent for callers that have no connection (tools, tests). */
  connection?: RequestConnection;
}

export interface CoordinatorSettings extends Omit<GroupSettings, 'newMemberId'> {
  /** Longer commit metadata is refused with OFFSET_METADATA_TOO_LARGE (Kafka's default: 4096). */
  offsetMetadataMaxBytes: number;
}

export const DEFAULT_COORDINATOR_SETTINGS: CoordinatorSettings = {
  ...DEFAULT_GROUP_SETTINGS,
  offsetMetadataMaxBytes: 4096,
};

export interface GroupCoordinatorOptions {
  nodeId: number;
  logger: Logger;
  /** The node's current view of the cluster metadata. */
  metadata: () => ClusterSnapshot;
  /** Where committed offsets live: `new ControllerOffsetStore(controllerClient)`. */
  offsets: OffsetStore;
  clock?: Clock;
  settings?: Partial<CoordinatorSettings>;
  /** Mints member ids; `<prefix>-<random uuid>` unless given (tests make them predictable). */
  newMemberId?: (prefix: string) => string;
}

/** The API keys handle() serves; the dispatcher routes exactly these here. */
export const GROUP_API_KEYS: ReadonlySet<number> = new Set([
  ApiKey.FindCoordinator,
  ApiKey.JoinGroup,
  ApiKey.SyncGroup,
  ApiKey.Heartbeat,
  ApiKey.LeaveGroup,
  ApiKey.OffsetCommit,
  ApiKey.OffsetFetch,
  ApiKey.DescribeGroups,
  ApiKey.ListGroups,
  ApiKey.DeleteGroups,
  ApiKey.OffsetDelete,
]);

/** A group loaded on this node, with the timer that serves its next deadline. */
interface Loaded {
  group: Group;
  logger: Logger;
  timerAtMs: number | null;
  cancelTimer: (() => void) | null;
  /** An offset was committed through this node: keep the group listed even when idle. */
  hasOffsets: boolean;
}

type OffsetFetchTopic = OffsetFetchResponseGroup['topics'][number];
type RequestedTopics = { name: string; partitionIndexes: number[] }[] | null;

/** authorizedOperations when the client did not ask for them. */
const OPERATIONS_OMITTED = -2147483648;

export class GroupCoordinator {
  private readonly nodeId: number;
  private readonly logger: Logger;
  private readonly metadata: () => ClusterSnapshot;
  private readonly offsets: GroupOffsets;
  /** The offset store, naming this node as coordinator in every write. */
  private readonly offsetStore: OffsetStore;
  private readonly offsetDeletes: OffsetDeleteDeps;
  private readonly activity: GroupActivityReporter;
  private readonly clock: Clock;
  private readonly settings: CoordinatorSettings;
  private readonly groupSettings: GroupSettings;

  private readonly groups = new Map<string, Loaded>();
  /**
   * Open connection id -> the groups that heard from a member on it. Forgotten when the
   * connection closes; an entry may name a group unloaded since, which is then skipped.
   */
  private readonly groupsByConnection = new Map<number, Set<string>>();
  /** JoinGroup and SyncGroup requests waiting for a reply from their group, by token. */
  private readonly waiters = new Map<number, (reply: Reply) => void>();
  private nextToken = 1;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    this.nodeId = options.nodeId;
    this.logger = options.logger.child({ component: 'group-coordinator' });
    this.metadata = options.metadata;
    const self = () => coordinatorRef(this.nodeId, this.metadata());
    this.offsetStore = new CoordinatorOffsetStore(options.offsets, self);
    this.offsets = new GroupOffsets(this.offsetStore, this.logger);
    this.offsetDeletes = {
      refusal: (groupId) => this.refusal(groupId),
      group: (groupId) => this.groups.get(groupId)?.group,
      store: this.offsets,
      logger: this.logger,
    };
    // Retention of offsets counts from the last time a group had members: report who has them.
    this.activity = new GroupActivityReporter({
      store: this.offsetStore,
      self,
      activeGroups: () => this.activeGroupIds(),
      logger: this.logger,
    });
    this.activity.start();
    this.clock = options.clock ?? systemClock;
    this.settings = { ...DEFAULT_COORDINATOR_SETTINGS, ...options.settings };
    this.groupSettings = {
      minSessionTimeoutMs: this.settings.minSessionTimeoutMs,
      maxSessionTimeoutMs: this.settings.maxSessionTimeoutMs,
      initialRebalanceDelayMs: this.settings.initialRebalanceDelayMs,
      connectionLossGraceMs: this.settings.connectionLossGraceMs,
      newMemberId: options.newMemberId ?? ((prefix) => `${prefix}-${randomUUID()}`),
    };
  }

  /** Serves one decoded request of a group API; resolves with the response body to encode. */
  async handle(
    apiKey: number,
    apiVersion: number,
    body: unknown,
    ctx: RequestContext,
  ): Promise<unknown> {
    switch (apiKey) {
      case ApiKey.FindCoordinator:
        return this.findCoordinator(apiVersion, body as FindCoordinatorRequest);
      case ApiKey.JoinGroup:
        return this.joinGroup(apiVersion, body as JoinGroupRequest, ctx);
      case ApiKey.SyncGroup:
        return this.syncGroup(apiVersion, body as SyncGroupRequest, ctx);
      case ApiKey.Heartbeat:
        return this.heartbeat(apiVersion, body as HeartbeatRequest, ctx);
      case ApiKey.LeaveGroup:
        return this.leaveGroup(apiVersion, body as LeaveGroupRequest);
      case ApiKey.OffsetCommit:
        return this.offsetCommit(apiVersion, body as OffsetCommitRequest, ctx);
      case ApiKey.OffsetFetch:
        return this.offsetFetch(apiVersion, body as OffsetFetchRequest);
      case ApiKey.DescribeGroups:
        return this.describeGroups(apiVersion, body as DescribeGroupsRequest);
      case ApiKey.ListGroups:
        return this.listGroups(apiVersion, body as ListGroupsRequest);
      case ApiKey.DeleteGroups:
        return this.deleteGroups(apiVersion, body as DeleteGroupsRequest);
      case ApiKey.OffsetDelete:
        return offsetDelete(this.offsetDeletes, body as OffsetDeleteRequest);
    }
    invariant(false, `api key ${apiKey} is not a group api`);
  }

  /**
   * Drops the groups this node no longer coordinates in the current metadata; their waiting
   * members are told NOT_COORDINATOR. Call after applying metadata changes (requests and timers
   * check too, but only for the group they touch).
   */
  onMetadataChange(): void {
    for (const groupId of [...this.groups.keys()]) {
      if (!this.coordinates(groupId)) this.unload(groupId, ErrorCode.NOT_COORDINATOR);
    }
  }

  /**
   * A Kafka connection closed. The groups that heard from a member on it are told, so that a
   * member whose process died is removed after a short grace instead of its session timeout.
   */
  connectionClosed(connectionId: number): void {
    const groupIds = this.groupsByConnection.get(connectionId);
    if (groupIds === undefined) return;

    this.groupsByConnection.delete(connectionId);
    if (this.closed) return;

    const now = this.clock.now();
    for (const groupId of groupIds) {
      const loaded = this.groups.get(groupId);
      if (loaded === undefined) continue;
      this.apply(loaded, loaded.group.connectionClosed(connectionId, now));
    }
  }

  /** Stops serving: every waiting request is answered and every timer cancelled. */
  close(): void {
    this.closed = true;
    this.groupsByConnection.clear();
    this.activity.stop();
    for (const groupId of [...this.groups.keys()]) this.unload(groupId, ErrorCode.NOT_COORDINATOR);
  }

  // ---- FindCoordinator -------------------------------------------------------------------------

  findCoordinator(version: number, request: FindCoordinatorRequest): FindCoordinatorResponse {
    const keys = version >= 4 ? request.coordinatorKeys : [request.key];
    const snapshot = this.metadata();

    const coordinators = keys.map((key) => {
      if (request.keyType !== 0) {
        return noCoordinator(
          key,
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          'transactions are not supported',
        );
      }
      const node = this.closed ? null : coordinatorFor(key, snapshot);
      if (node === null) {
        return noCoordinator(key, ErrorCode.COORDINATOR_NOT_AVAILABLE, 'no live data node');
      }
      const { nodeId, host, kafkaPort: port } = node;
      return { key, nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
    });

    const first = coordinators[0] ?? noCoordinator('', ErrorCode.INVALID_REQUEST, 'no key');
    return {
      throttleTimeMs: 0,
      errorCode: first.errorCode,
      errorMessage: first.errorMessage,
      nodeId: first.nodeId,
      host: first.host,
      port: first.port,
      coordinators,
    };
  }

  // ---- JoinGroup, SyncGroup, Heartbeat, LeaveGroup ---------------------------------------------

  async joinGroup(
    version: number,
    request: JoinGroupRequest,
    ctx: RequestContext,
  ): Promise<JoinGroupResponse> {
    const { groupId, memberId } = request;
    const refusal = this.refusal(groupId);
    if (refusal !== null) return joinResponse(version, joinError(memberId, refusal));

    // Only a member joining for the first time brings a group into being.
    let loaded = this.groups.get(groupId);
    if (loaded === undefined && memberId !== '') {
      return joinResponse(version, joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    loaded ??= this.load(groupId);

    const token = this.nextToken++;
    const answer = this.waitFor(token);
    const join = toJoinRequest(token, version, request, ctx);
    this.apply(loaded, loaded.group.join(join, this.clock.now()));
    this.track(loaded, ctx.connection);

    const reply = await answer;
    invariant(reply.kind === 'join', `join token ${token} answered with a ${reply.kind} reply`);
    return joinResponse(version, reply.result);
  }

  async syncGroup(
    _version: number,
    request: SyncGroupRequest,
    ctx: RequestContext,
  ): Promise<SyncGroupResponse> {
    const refusal = this.refusal(request.groupId);
    if (refusal !== null) return syncResponse(syncError(refusal));

    const loaded = this.groups.get(request.groupId);
    if (loaded === undefined) return syncResponse(syncError(ErrorCode.UNKNOWN_MEMBER_ID));

    const token = this.nextToken++;
    const answer = this.waitFor(token);
    const effects = loaded.group.sync(
      {
        token,
        connectionId: ctx.connection?.id ?? null,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        generationId: request.generationId,
        protocolType: request.protocolType,
        protocolName: request.protocolName,
        assignments: request.assignments,
      },
      this.clock.now(),
    );
    this.apply(loaded, effects);
    this.track(loaded, ctx.connection);

    const reply = await answer;
    invariant(reply.kind === 'sync', `sync token ${token} answered with a ${reply.kind} reply`);
    return syncResponse(reply.result);
  }

  heartbeat(_version: number, request: HeartbeatRequest, ctx: RequestContext): HeartbeatResponse {
    const errorCode = this.heartbeatErrorCode(request, ctx);
    return { throttleTimeMs: 0, errorCode };
  }

  private heartbeatErrorCode(request: HeartbeatRequest, ctx: RequestContext): number {
    const refusal = this.refusal(request.groupId);
    if (refusal !== null) return refusal;

    const loaded = this.groups.get(request.groupId);
    if (loaded === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;

    const claim = { ...request, connectionId: ctx.connection?.id ?? null };
    const errorCode = loaded.group.heartbeat(claim, this.clock.now());
    this.schedule(loaded);
    this.track(loaded, ctx.connection);
    return errorCode;
  }

  leaveGroup(version: number, request: LeaveGroupRequest): LeaveGroupResponse {
    // Up to v2 one member leaves by member id; from v3 a batch, static members by instance id.
    const leaving =
      version >= 3
        ? request.members
        : [{ memberId: request.memberId, groupInstanceId: null, reason: null }];

    const refusal = this.refusal(request.groupId);
    const loaded = this.groups.get(request.groupId);
    if (refusal !== null || loaded === undefined) {
      const errorCode = refusal ?? ErrorCode.UNKNOWN_MEMBER_ID;
      const members = leaving.map((m) => ({ ...m, errorCode }));
      return { throttleTimeMs: 0, errorCode: refusal ?? topLevel(version, members), members };
    }

    const { results, effects } = loaded.group.leave(leaving, this.clock.now());
    this.apply(loaded, effects);
    return { throttleTimeMs: 0, errorCode: topLevel(version, results), members: results };
  }

  // ---- OffsetCommit, OffsetFetch ---------------------------------------------------------------

  async offsetCommit(
    _version: number,
    request: OffsetCommitRequest,
    ctx: RequestContext,
  ): Promise<OffsetCommitResponse> {
    const { groupId } = request;
    const claim: MemberClaim = {
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      generationId: request.generationIdOrMemberEpoch,
      connectionId: ctx.connection?.id ?? null,
    };
    const refusal = this.refusal(groupId) ?? this.commitRefusal(groupId, claim, ctx);
    if (refusal !== null) return commitResponse(request, () => refusal);

    const codes = new Map<string, number>();
    const accepted: CommittedOffset[] = [];
    const snapshot = this.metadata();
    for (const topic of request.topics) {
      for (const p of topic.partitions) {
        const key = `${topic.name}:${p.partitionIndex}`;
        const metadata = p.committedMetadata ?? '';
        const code = this.partitionRefusal(snapshot, topic.name, p.partitionIndex, metadata);
        if (code !== null) codes.set(key, code);
        else accepted.push(committed(topic.name, p.partitionIndex, p, metadata));
      }
    }

    if (accepted.length > 0) await this.store(groupId, accepted, codes);
    return commitResponse(request, (topic, partition) => codes.get(`${topic}:${partition}`)!);
  }

  /** Null when the claimant may commit; a zombie of an older generation may not. */
  private commitRefusal(groupId: string, claim: MemberClaim, ctx: RequestContext): number | null {
    const loaded = this.groups.get(groupId);
    // No group here: only a simple commit (no generation) may create one, as in Kafka.
    if (loaded === undefined) return claim.generationId < 0 ? null : ErrorCode.ILLEGAL_GENERATION;

    const errorCode = loaded.group.validateCommit(claim, this.clock.now());
    this.schedule(loaded);
    this.track(loaded, ctx.connection);
    return errorCode === ErrorCode.NONE ? null : errorCode;
  }

  private partitionRefusal(
    snapshot: ClusterSnapshot,
    topic: string,
    partition: number,
    metadata: string,
  ): number | null {
    const known = snapshot.topics.find((t) => t.name === topic);
    if (known === undefined || !known.partitions.some((p) => p.partition === partition)) {
      return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (Buffer.byteLength(metadata, 'utf8') > this.settings.offsetMetadataMaxBytes) {
      return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    }
    return null;
  }

  private async store(
    groupId: string,
    accepted: CommittedOffset[],
    codes: Map<string, number>,
  ): Promise<void> {
    const self = this.metadata().dataNodes.find((n) => n.nodeId === this.nodeId);
    const coordinator =
      self === undefined ? null : { nodeId: self.nodeId, brokerEpoch: self.brokerEpoch };
    const stored = await this.offsets.commit(groupId, accepted, coordinator);
    accepted.forEach((o, i) => codes.set(`${o.topic}:${o.partition}`, stored[i]));
    if (!stored.some((code) => code === ErrorCode.NONE)) return;

    // Keep the group listed even when no member ever joins it here.
    if (this.closed || !this.coordinates(groupId)) return;
    const loaded = this.groups.get(groupId) ?? this.load(groupId);
    loaded.hasOffsets = true;
  }

  async offsetFetch(version: number, request: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    // Up to v7 one group per request; from v8 several, each answered on its own.
    const asked: { groupId: string; topics: RequestedTopics }[] =
      version >= 8 ? request.groups : [{ groupId: request.groupId, topics: request.topics }];
    const groups = await Promise.all(asked.map((g) => this.fetchGroup(g.groupId, g.topics)));

    if (version >= 8) return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };

    const [group] = groups;
    // v0-1 have no group-level error: every requested partition carries it instead.
    const topics =
      version < 2 && group.errorCode !== ErrorCode.NONE
        ? unknownOffsets(request.topics ?? [], group.errorCode)
        : group.topics;
    return { throttleTimeMs: 0, topics, errorCode: group.errorCode, groups: [] };
  }

  private async fetchGroup(groupId: string, topics: RequestedTopics) {
    const refusal = this.refusal(groupId);
    if (refusal !== null) return { groupId, topics: [], errorCode: refusal };

    let stored: CommittedOffset[];
    try {
      stored = await this.offsets.fetch(groupId, topics?.map((t) => t.name) ?? null);
    } catch (err) {
      const errorCode = this.offsets.errorCode(err, groupId, 'offset fetch failed');
      return { groupId, topics: [], errorCode };
    }

    const answer = topics === null ? allOffsets(stored) : requestedOffsets(topics, stored);
    return { groupId, topics: answer, errorCode: ErrorCode.NONE };
  }

  // ---- DescribeGroups, ListGroups, DeleteGroups ------------------------------------------------

  async describeGroups(
    _version: number,
    request: DescribeGroupsRequest,
  ): Promise<DescribeGroupsResponse> {
    const groups = await Promise.all(request.groups.map((groupId) => this.describeOne(groupId)));
    return { throttleTimeMs: 0, groups };
  }

  private async describeOne(groupId: string): Promise<DescribeGroupsResponseGroup> {
    const refusal = this.refusal(groupId);
    if (refusal !== null) return describedAs(groupId, 'Dead', refusal);

    const loaded = this.groups.get(groupId);
    if (loaded !== undefined) {
      return {
        errorCode: ErrorCode.NONE,
        ...loaded.group.describe(),
        authorizedOperations: OPERATIONS_OMITTED,
      };
    }

    // Not loaded here, but its offsets may be stored: then it exists, with no members.
    try {
      const stored = await this.offsets.fetch(groupId, null);
      return describedAs(groupId, stored.length > 0 ? 'Empty' : 'Dead', ErrorCode.NONE);
    } catch (err) {
      const errorCode = this.offsets.errorCode(err, groupId, 'describe group failed');
      return describedAs(groupId, 'Dead', errorCode);
    }
  }

  /** The groups loaded here, and those the controller holds offsets for, that this node serves. */
  async listGroups(_version: number, request: ListGroupsRequest): Promise<ListGroupsResponse> {
    const states = new Set(request.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(request.typesFilter.map((t) => t.toLowerCase()));
    if (this.closed || (types.size > 0 && !types.has('classic'))) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] };
    }

    let stored: string[];
    try {
      stored = await this.offsetStore.listGroupIds();
    } catch (err) {
      const errorCode = this.offsets.errorCode(err, '', 'list groups failed');
      return { throttleTimeMs: 0, errorCode, groups: [] };
    }

    const listed = new Map<string, { protocolType: string; groupState: string }>();
    for (const groupId of stored) listed.set(groupId, { protocolType: '', groupState: 'Empty' });
    for (const [groupId, { group }] of this.groups) {
      listed.set(groupId, { protocolType: group.protocolType ?? '', groupState: group.state });
    }

    const groups = [...listed]
      .filter(([, g]) => states.size === 0 || states.has(g.groupState.toLowerCase()))
      .filter(([groupId]) => this.coordinates(groupId))
      .map(([groupId, g]) => ({ groupId, ...g, groupType: 'classic' }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  }

  /** Groups this node coordinates that have members now: their offsets must not expire. */
  private activeGroupIds(): string[] {
    return [...this.groups.values()]
      .filter(({ group }) => group.state !== 'Empty' && group.state !== 'Dead')
      .map(({ group }) => group.groupId)
      .filter((groupId) => this.coordinates(groupId));
  }

  async deleteGroups(
    _version: number,
    request: DeleteGroupsRequest,
  ): Promise<DeleteGroupsResponse> {
    const results = await Promise.all(
      request.groupsNames.map(async (groupId) => ({
        groupId,
        errorCode: await this.deleteOne(groupId),
      })),
    );
    return { throttleTimeMs: 0, results };
  }

  private async deleteOne(groupId: string): Promise<number> {
    const refusal = this.refusal(groupId);
    if (refusal !== null) return refusal;
    if (this.hasMembers(groupId)) return ErrorCode.NON_EMPTY_GROUP;

    try {
      if (!this.groups.has(groupId)) {
        const stored = await this.offsets.fetch(groupId, null);
        if (stored.length === 0) return ErrorCode.GROUP_ID_NOT_FOUND;
      }
      // Members may have joined while the store answered.
      if (this.hasMembers(groupId)) return ErrorCode.NON_EMPTY_GROUP;

      this.unload(groupId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      await this.offsets.deleteGroup(groupId);
    } catch (err) {
      return this.offsets.errorCode(err, groupId, 'delete group failed');
    }

    this.logger.info({ group: groupId }, 'group deleted');
    return ErrorCode.NONE;
  }

  private hasMembers(groupId: string): boolean {
    const loaded = this.groups.get(groupId);
    return loaded !== undefined && loaded.group.state !== 'Empty';
  }

  // ---- Groups loaded here ----------------------------------------------------------------------

  /** Why this node cannot serve `groupId` now, or null when it can. */
  private refusal(groupId: string): number | null {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;

    const coordinator = coordinatorFor(groupId, this.metadata());
    if (coordinator === null) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (coordinator.nodeId !== this.nodeId) {
      this.unload(groupId, ErrorCode.NOT_COORDINATOR);
      return ErrorCode.NOT_COORDINATOR;
    }
    return null;
  }

  private coordinates(groupId: string): boolean {
    return coordinatorFor(groupId, this.metadata())?.nodeId === this.nodeId;
  }

  private load(groupId: string): Loaded {
    invariant(!this.groups.has(groupId), `group ${groupId} loaded twice`);

    const loaded: Loaded = {
      group: new Group(groupId, this.groupSettings),
      logger: this.logger.child({ group: groupId }),
      timerAtMs: null,
      cancelTimer: null,
      hasOffsets: false,
    };
    this.groups.set(groupId, loaded);
    return loaded;
  }

  private unload(groupId: string, errorCode: number): void {
    const loaded = this.groups.get(groupId);
    if (loaded === undefined) return;

    this.groups.delete(groupId);
    loaded.cancelTimer?.();
    loaded.cancelTimer = null;

    this.deliver(loaded, loaded.group.unload(errorCode));
    loaded.logger.info({ errorCode }, 'group unloaded');
  }

  /** Hands out a group's replies, logs its events, and re-arms its timer. */
  private apply(loaded: Loaded, effects: Effects): void {
    this.deliver(loaded, effects);
    this.schedule(loaded);

    // A group that never formed a generation and holds no offsets leaves nothing to remember.
    const { group } = loaded;
    if (group.isIdle() && group.generationId === 0 && !loaded.hasOffsets) {
      this.groups.delete(group.groupId);
      loaded.cancelTimer?.();
    }
  }

  private deliver(loaded: Loaded, effects: Effects): void {
    for (const reply of effects.replies) {
      const resolve = this.waiters.get(reply.token);
      invariant(resolve !== undefined, `reply to unknown token ${reply.token}`);

      this.waiters.delete(reply.token);
      resolve(reply);
    }
    for (const event of effects.events) logEvent(loaded.logger, event);
  }

  /**
   * Notes that `loaded` heard from a member on `connection`, so that its close reaches the group.
   * A request read before its connection closed may be handled after: the group is told at once.
   */
  private track(loaded: Loaded, connection: RequestConnection | undefined): void {
    if (connection === undefined || this.closed) return;
    const { groupId } = loaded.group;

    if (connection.closed) {
      if (this.groups.get(groupId) !== loaded) return;
      this.apply(loaded, loaded.group.connectionClosed(connection.id, this.clock.now()));
      return;
    }

    let groupIds = this.groupsByConnection.get(connection.id);
    if (groupIds === undefined) {
      groupIds = new Set();
      this.groupsByConnection.set(connection.id, groupIds);
    }
    groupIds.add(groupId);
  }

  private waitFor(token: number): Promise<Reply> {
    return new Promise((resolve) => this.waiters.set(token, resolve));
  }

  private schedule(loaded: Loaded): void {
    const atMs = loaded.group.nextDeadlineMs();
    if (atMs === loaded.timerAtMs) return;

    loaded.cancelTimer?.();
    loaded.cancelTimer = null;
    loaded.timerAtMs = atMs;
    if (atMs === null) return;

    const delayMs = Math.max(0, atMs - this.clock.now());
    loaded.cancelTimer = this.clock.setTimer(delayMs, () => this.onTimer(loaded));
  }

  private onTimer(loaded: Loaded): void {
    loaded.cancelTimer = null;
    loaded.timerAtMs = null;
    const { groupId } = loaded.group;
    if (this.groups.get(groupId) !== loaded) return;

    if (!this.coordinates(groupId)) return this.unload(groupId, ErrorCode.NOT_COORDINATOR);
    this.apply(loaded, loaded.group.tick(this.clock.now()));
  }
}

// ---- Requests and responses --------------------------------------------------------------------

function toJoinRequest(
  token: number,
  version: number,
  request: JoinGroupRequest,
  ctx: RequestContext,
): JoinRequest {
  const { sessionTimeoutMs, rebalanceTimeoutMs } = request;
  return {
    token,
    connectionId: ctx.connection?.id ?? null,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    clientId: ctx.clientId ?? '',
    clientHost: ctx.clientHost,
    sessionTimeoutMs,
    // JoinGroup v0 has no rebalance timeout; Kafka then uses the session timeout.
    rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
    protocolType: request.protocolType,
    protocols: request.protocols,
    requireKnownMemberId: version >= 4,
    reason: request.reason,
  };
}

function noCoordinator(key: string, errorCode: number, errorMessage: string) {
  return { key, nodeId: -1, host: '', port: -1, errorCode, errorMessage };
}

function joinResponse(version: number, result: JoinResult): JoinGroupResponse {
  // The protocol name may be null on the wire only from v7.
  const protocolName = version >= 7 ? result.protocolName : (result.protocolName ?? '');
  return { throttleTimeMs: 0, ...result, protocolName };
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
}

function syncResponse(result: SyncResult): SyncGroupResponse {
  return { throttleTimeMs: 0, ...result };
}

/** LeaveGroup v0-2 answers its single member's error at the top level. */
function topLevel(version: number, members: { errorCode: number }[]): number {
  return version < 3 ? (members[0]?.errorCode ?? ErrorCode.NONE) : ErrorCode.NONE;
}

function committed(
  topic: string,
  partition: number,
  request: { committedOffset: bigint; committedLeaderEpoch: number },
  metadata: string,
): CommittedOffset {
  const { committedOffset: offset, committedLeaderEpoch: leaderEpoch } = request;
  return { topic, partition, offset, leaderEpoch, metadata };
}

function commitResponse(
  request: OffsetCommitRequest,
  codeFor: (topic: string, partition: number) => number,
): OffsetCommitResponse {
  const topics = request.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode: codeFor(topic.name, p.partitionIndex),
    })),
  }));
  return { throttleTimeMs: 0, topics };
}

/** Every stored offset of the group, by topic (OffsetFetch with topics null). */
function allOffsets(stored: CommittedOffset[]): OffsetFetchTopic[] {
  const byTopic = new Map<string, OffsetFetchTopic>();
  for (const o of stored) {
    const topic = byTopic.get(o.topic) ?? { name: o.topic, partitions: [] };
    byTopic.set(o.topic, topic);
    topic.partitions.push(offsetAnswer(o.partition, o));
  }
  return [...byTopic.values()];
}

/** The asked partitions; those never committed answer offset -1 without an error, as Kafka. */
function requestedOffsets(
  topics: NonNullable<RequestedTopics>,
  stored: CommittedOffset[],
): OffsetFetchTopic[] {
  const byKey = new Map(stored.map((o) => [`${o.topic}:${o.partition}`, o]));
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => offsetAnswer(p, byKey.get(`${t.name}:${p}`))),
  }));
}

function unknownOffsets(
  topics: NonNullable<RequestedTopics>,
  errorCode: number,
): OffsetFetchTopic[] {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => ({ ...offsetAnswer(p, undefined), errorCode })),
  }));
}

function offsetAnswer(partitionIndex: number, stored: CommittedOffset | undefined) {
  return {
    partitionIndex,
    committedOffset: stored?.offset ?? -1n,
    committedLeaderEpoch: stored?.leaderEpoch ?? -1,
    metadata: stored?.metadata ?? '',
    errorCode: ErrorCode.NONE,
  };
}

function describedAs(groupId: string, groupState: string, errorCode: number) {
  return {
    errorCode,
    groupId,
    groupState,
    protocolType: '',
    protocolData: '',
    members: [],
    authorizedOperations: OPERATIONS_OMITTED,
  };
}

const EVENT_MESSAGES: Record<GroupEvent['kind'], string> = {
  'member-added': 'member joined',
  'member-replaced': 'static member rejoined, previous member id fenced',
  'member-removed': 'member removed',
  'member-connection-closed': 'member connection closed, removed unless it reconnects',
  'pending-member-expired': 'unused member id expired',
  'rebalance-started': 'rebalance started',
  'generation-formed': 'generation formed',
  stable: 'group stable',
  emptied: 'group empty',
};

function logEvent(logger: Logger, event: GroupEvent): void {
  const { kind, ...fields } = event;
  if (kind === 'pending-member-expired') logger.debug(fields, EVENT_MESSAGES[kind]);
  else logger.info(fields, EVENT_MESSAGES[kind]);
}
