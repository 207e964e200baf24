// One consumer group under Kafka's classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)
// as a pure state machine: membership, generations, the leader, the chosen protocol and the
// assignments. It holds no clock, timers or sockets. Every call takes `now`; the edge reads
// nextDeadlineMs() and calls tick(now) when that time comes. Requests that must wait (a JoinGroup
// until the rebalance completes, a SyncGroup until the leader hands in the assignment) carry a
// token, and their answers come back later as replies in the effects of whichever call completes
// them. coordinator.ts is that edge: it owns real time, the waiting promises and the logs.
//
// Committed offsets are not kept here (they live in the controller); validateCommit() tells the
// edge whether a commit comes from a current member of the current generation.
//
// Connections are inputs too. Each request names the connection it came on, and the edge reports
// closes with connectionClosed(). A client process that dies has its sockets closed by its kernel,
// so a dynamic member whose last connection closed is given only a short grace to come back on a
// new one, instead of its whole session timeout.
import { invariant } from '../../shared/assert.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ProtocolError } from '../../shared/protocol/index.ts';
import { Reader } from '../../shared/protocol/reader.ts';

/**
 * Empty: no members (offsets may still exist). PreparingRebalance: waiting for members to
 * (re)join. CompletingRebalance: the generation is formed, waiting for the leader's assignment.
 * Stable: assignment handed out. Dead: unloaded (coordinator moved, group deleted); refuses all.
 */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface GroupSettings {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /**
   * How long the first rebalance of an empty group waits for more members, so that consumers
   * started together form one generation instead of one each (Kafka's
   * group.initial.rebalance.delay.ms). Each newcomer extends the wait, up to the rebalance timeout.
   */
  initialRebalanceDelayMs: number;
  /**
   * How long a dynamic member whose connection closed has to be heard from on another connection
   * before it is removed, however long its session timeout. 0 turns this off: only the session
   * timeout removes a silent member. Static members always keep their whole session timeout.
   */
  connectionLossGraceMs: number;
  /** Mints a fresh member id; the prefix is the client id, or the group instance id if static. */
  newMemberId: (prefix: string) => string;
}

export const DEFAULT_GROUP_SETTINGS: Omit<GroupSettings, 'newMemberId'> = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3_000,
  connectionLossGraceMs: 1_000,
};

/** The connection a request came on, as the edge numbers them; null when there is none. */
export type ConnectionId = number | null;

export interface JoinRequest {
  /** Identifies the waiting request; its answer is the reply carrying this token. */
  token: number;
  connectionId: ConnectionId;
  /** Empty for a member joining for the first time. */
  memberId: string;
  /** Set for static members, whose identity survives restarts. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  /** JoinGroup v4+: a new dynamic member must first obtain its id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
  reason: string | null;
}

export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/** The answer to a JoinGroup that did not join: no generation, no leader, no members. */
export function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    skipAssignment: false,
    members: [],
  };
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** The leader rejoined a stable group: it must not compute a new assignment (JoinGroup v9). */
  skipAssignment: boolean;
  /** Every member's metadata for the chosen protocol; only the leader receives it. */
  members: JoinedMember[];
}

export interface SyncRequest {
  token: number;
  connectionId: ConnectionId;
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** SyncGroup v5+; null when the client did not send it. */
  protocolType: string | null;
  protocolName: string | null;
  /** Only the leader's are used. */
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** Who is asking, for Heartbeat and OffsetCommit. */
export interface MemberClaim {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** Absent when the caller has no connection to name (tools, tests). */
  connectionId?: ConnectionId;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface LeaveResult {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

export type Reply =
  | { token: number; kind: 'join'; result: JoinResult }
  | { token: number; kind: 'sync'; result: SyncResult };

export type RemovalReason =
  'left' | 'session-expired' | 'connection-lost' | 'not-rejoined' | 'sync-timeout' | 'unloaded';

/** What happened, for logs and tests; the group's behaviour never depends on these. */
export type GroupEvent =
  | { kind: 'member-added'; memberId: string; groupInstanceId: string | null }
  | { kind: 'member-replaced'; fencedMemberId: string; memberId: string; groupInstanceId: string }
  | { kind: 'member-removed'; memberId: string; reason: RemovalReason }
  | { kind: 'member-connection-closed'; memberId: string; removalAtMs: number }
  | { kind: 'pending-member-expired'; memberId: string }
  | { kind: 'rebalance-started'; generationId: number; reason: string }
  | { kind: 'generation-formed'; generationId: number; leader: string; protocolName: string }
  | { kind: 'stable'; generationId: number }
  | { kind: 'emptied'; generationId: number };

export interface Effects {
  replies: Reply[];
  events: GroupEvent[];
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Only while Stable, as Kafka: the metadata for the chosen protocol, and the assignment. */
  memberMetadata: Buffer;
  memberAssignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  /** The chosen protocol while Stable, else empty. */
  protocolData: string;
  members: MemberDescription[];
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  /** Handed in by the leader at the end of the last rebalance; empty until then. */
  assignment: Buffer;
  /** The JoinGroup waiting for the rebalance to complete. */
  joinToken: number | null;
  /** The SyncGroup waiting for the leader's assignment. */
  syncToken: number | null;
  /** Received the current generation but has not sent SyncGroup yet. */
  awaitingSync: boolean;
  /** Removed at this time unless heard from; not applied while a join or sync waits. */
  sessionDeadlineMs: number;
  /** The connection of its latest JoinGroup, SyncGroup, Heartbeat or OffsetCommit. */
  connectionId: ConnectionId;
  /**
   * Set when that connection closed: removed at this time unless heard from on another one. It
   * applies even while a join or sync waits, since the waiting request's connection is gone. Never
   * set for static members.
   */
  connectionLostDeadlineMs: number | null;
}

/** A member id handed out with MEMBER_ID_REQUIRED and not used yet. */
interface PendingMember {
  /** The id lapses at this time; sooner once the connection it was handed out on closes. */
  deadlineMs: number;
  connectionId: ConnectionId;
}

const EMPTY = Buffer.alloc(0);

/** The protocol type of Kafka's consumers, whose member metadata lists their subscriptions. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export class Group {
  private currentState: GroupState = 'Empty';

  /** Bumped by every completed rebalance; members of an older one are refused. */
  private generation = 0;

  /** Set by the first member; every later member must use the same. */
  private type: string | null = null;

  /** Chosen at each completed rebalance among the protocols every member supports. */
  private protocol: string | null = null;

  /** Null only when there are no members. */
  private leaderId: string | null = null;

  /** In join order, which picks the next leader when the leader goes. */
  private readonly members = new Map<string, Member>();

  /** Group instance id -> member id of its current incarnation. */
  private readonly staticMembers = new Map<string, string>();

  /** Ids handed out with MEMBER_ID_REQUIRED and not used yet. */
  private readonly pendingMembers = new Map<string, PendingMember>();

  /** PreparingRebalance: members not rejoined by then are dropped. */
  private rebalanceDeadlineMs: number | null = null;

  /** PreparingRebalance of an empty group: the generation forms no earlier than this. */
  private joinNotBeforeMs: number | null = null;

  /** Members still awaiting sync at this time are dropped. */
  private syncDeadlineMs: number | null = null;

  private effects: Effects = { replies: [], events: [] };

  constructor(
    readonly groupId: string,
    private readonly settings: GroupSettings,
  ) {}

  get state(): GroupState {
    return this.currentState;
  }

  get generationId(): number {
    return this.generation;
  }

  get protocolType(): string | null {
    return this.type;
  }

  get protocolName(): string | null {
    return this.protocol;
  }

  get leader(): string | null {
    return this.leaderId;
  }

  get memberIds(): string[] {
    return [...this.members.keys()];
  }

  get pendingMemberIds(): string[] {
    return [...this.pendingMembers.keys()];
  }

  assignmentOf(memberId: string): Buffer | undefined {
    return this.members.get(memberId)?.assignment;
  }

  // ---- JoinGroup -------------------------------------------------------------------------------

  join(request: JoinRequest, now: number): Effects {
    const refusal = this.joinRefusal(request);
    if (refusal !== null) {
      this.replyJoinError(request.token, request.memberId, refusal);
      return this.drain();
    }

    if (request.memberId === '') this.joinNewMember(request, now);
    else this.joinKnownMember(request, now);
    return this.drain();
  }

  private joinRefusal(request: JoinRequest): number | null {
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.settings;
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (request.sessionTimeoutMs < minSessionTimeoutMs) return ErrorCode.INVALID_SESSION_TIMEOUT;
    if (request.sessionTimeoutMs > maxSessionTimeoutMs) return ErrorCode.INVALID_SESSION_TIMEOUT;

    const names = request.protocols.map((p) => p.name);
    if (!this.acceptsProtocols(request.protocolType, names)) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    return null;
  }

  /** A joiner must share the group's protocol type and at least one protocol with every member. */
  private acceptsProtocols(protocolType: string, names: string[]): boolean {
    if (protocolType === '' || names.length === 0) return false;
    if (this.members.size === 0) return true;
    if (protocolType !== this.type) return false;

    return names.some((name) => this.supportedByAll(name));
  }

  private supportedByAll(name: string): boolean {
    for (const member of this.members.values()) {
      if (!member.protocols.some((p) => p.name === name)) return false;
    }
    return true;
  }

  private joinNewMember(request: JoinRequest, now: number): void {
    const instanceId = request.groupInstanceId;
    if (instanceId !== null) {
      const current = this.staticMembers.get(instanceId);
      if (current !== undefined) return this.replaceStaticMember(current, request, now);
      return this.addMember(this.settings.newMemberId(instanceId), request, now);
    }

    // From JoinGroup v4 a new member first learns its id, then joins with it: a client that
    // times out mid-join retries under the same id instead of leaving a ghost member behind.
    if (request.requireKnownMemberId) {
      const memberId = this.settings.newMemberId(request.clientId);
      const pending = {
        deadlineMs: now + request.sessionTimeoutMs,
        connectionId: request.connectionId,
      };
      this.pendingMembers.set(memberId, pending);
      this.replyJoinError(request.token, memberId, ErrorCode.MEMBER_ID_REQUIRED);
      return;
    }
    this.addMember(this.settings.newMemberId(request.clientId), request, now);
  }

  private joinKnownMember(request: JoinRequest, now: number): void {
    const { memberId, token } = request;
    if (this.pendingMembers.delete(memberId)) return this.addMember(memberId, request, now);

    if (this.isFenced(memberId, request.groupInstanceId)) {
      return this.replyJoinError(token, memberId, ErrorCode.FENCED_INSTANCE_ID);
    }
    const member = this.members.get(memberId);
    if (member === undefined) {
      return this.replyJoinError(token, memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    this.heardOn(member, request.connectionId);

    const unchanged = sameProtocols(member.protocols, request.protocols);
    switch (this.currentState) {
      case 'PreparingRebalance':
        this.updateMember(member, request, now);
        return this.maybeCompleteJoin(now);

      case 'CompletingRebalance':
        // The member lost our answer (a retry): hand it the same generation again.
        if (unchanged) return this.replyCurrentGeneration(member, token, now);
        this.updateMember(member, request, now);
        return this.rebalance(now, `member ${memberId} changed its protocols`);

      case 'Stable':
        // A follower rejoining unchanged needs no rebalance; the leader rejoins to rebalance.
        if (unchanged && memberId !== this.leaderId) {
          return this.replyCurrentGeneration(member, token, now);
        }
        this.updateMember(member, request, now);
        return this.rebalance(now, `member ${memberId} rejoined`);

      default:
        invariant(false, `group ${this.groupId} has member ${memberId} in ${this.currentState}`);
    }
  }

  private addMember(memberId: string, request: JoinRequest, now: number): void {
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      assignment: EMPTY,
      joinToken: request.token,
      syncToken: null,
      awaitingSync: false,
      sessionDeadlineMs: now + request.sessionTimeoutMs,
      connectionId: request.connectionId,
      connectionLostDeadlineMs: null,
    };

    if (this.members.size === 0) this.type = request.protocolType;
    this.members.set(memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, memberId);
    this.leaderId ??= memberId;
    this.emit({ kind: 'member-added', memberId, groupInstanceId: member.groupInstanceId });

    if (this.currentState !== 'PreparingRebalance') {
      return this.rebalance(now, `member ${memberId} joined`);
    }
    this.extendInitialDelay(member, now);
    this.maybeCompleteJoin(now);
  }

  /**
   * A static member came back under its instance id with no member id (it restarted): it takes
   * the place of its previous incarnation, which is fenced from now on. If nothing about it
   * changed and the group is stable, it keeps its assignment and nobody rebalances.
   */
  private replaceStaticMember(previousId: string, request: JoinRequest, now: number): void {
    const previous = this.members.get(previousId)!;
    const instanceId = request.groupInstanceId!;
    const memberId = this.settings.newMemberId(instanceId);
    this.fence(previous);

    const member: Member = {
      ...previous,
      memberId,
      clientId: request.clientId,
      clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      joinToken: null,
      syncToken: null,
      sessionDeadlineMs: now + request.sessionTimeoutMs,
      connectionId: request.connectionId,
      connectionLostDeadlineMs: null,
    };
    this.members.delete(previousId);
    this.members.set(memberId, member);
    this.staticMembers.set(instanceId, memberId);
    if (this.leaderId === previousId) this.leaderId = memberId;
    this.emit({
      kind: 'member-replaced',
      fencedMemberId: previousId,
      memberId,
      groupInstanceId: instanceId,
    });

    const unchanged = sameProtocols(previous.protocols, request.protocols);
    if (this.currentState === 'Stable' && unchanged) {
      return this.replyCurrentGeneration(member, request.token, now, memberId === this.leaderId);
    }

    this.updateMember(member, request, now);
    if (this.currentState === 'PreparingRebalance') return this.maybeCompleteJoin(now);
    this.rebalance(now, `static member ${instanceId} rejoined`);
  }

  /** The previous incarnation of a static member: whatever it still waits for is refused. */
  private fence(member: Member): void {
    if (member.joinToken !== null) {
      this.replyJoinError(member.joinToken, member.memberId, ErrorCode.FENCED_INSTANCE_ID);
    }
    if (member.syncToken !== null) {
      this.replySyncError(member.syncToken, ErrorCode.FENCED_INSTANCE_ID);
    }
  }

  private updateMember(member: Member, request: JoinRequest, now: number): void {
    // A client only sends a second JoinGroup after giving up on the first; answer the abandoned
    // one so that nothing waits forever.
    if (member.joinToken !== null && member.joinToken !== request.token) {
      this.replyJoinError(member.joinToken, member.memberId, ErrorCode.REBALANCE_IN_PROGRESS);
    }

    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.joinToken = request.token;
    member.sessionDeadlineMs = now + request.sessionTimeoutMs;
  }

  private replyCurrentGeneration(member: Member, token: number, now: number, skip = false): void {
    const isLeader = member.memberId === this.leaderId;
    member.sessionDeadlineMs = now + member.sessionTimeoutMs;

    this.reply({
      token,
      kind: 'join',
      result: {
        errorCode: ErrorCode.NONE,
        generationId: this.generation,
        protocolType: this.type,
        protocolName: this.protocol,
        leader: this.leaderId ?? '',
        memberId: member.memberId,
        skipAssignment: skip,
        members: isLeader ? this.memberMetadata() : [],
      },
    });
  }

  // ---- Rebalancing -----------------------------------------------------------------------------

  /** Starts a rebalance, which completes at once when every member is already waiting. */
  private rebalance(now: number, reason: string): void {
    this.prepareRebalance(now, reason);
    this.maybeCompleteJoin(now);
  }

  private prepareRebalance(now: number, reason: string): void {
    invariant(this.currentState !== 'Dead', `rebalance of dead group ${this.groupId}`);

    // Assignments of the generation being abandoned must not reach anyone.
    if (this.currentState === 'CompletingRebalance') this.refuseWaitingSyncs(now);
    const fromEmpty = this.currentState === 'Empty';
    const timeoutMs = this.maxRebalanceTimeoutMs();

    this.currentState = 'PreparingRebalance';
    this.rebalanceDeadlineMs = now + timeoutMs;
    this.joinNotBeforeMs = null;
    if (fromEmpty && this.settings.initialRebalanceDelayMs > 0) {
      this.joinNotBeforeMs = now + Math.min(this.settings.initialRebalanceDelayMs, timeoutMs);
    }
    this.syncDeadlineMs = null;
    for (const member of this.members.values()) member.awaitingSync = false;

    this.emit({ kind: 'rebalance-started', generationId: this.generation, reason });
  }

  private extendInitialDelay(member: Member, now: number): void {
    if (this.joinNotBeforeMs === null) return;

    const extended = now + this.settings.initialRebalanceDelayMs;
    this.rebalanceDeadlineMs = Math.max(this.rebalanceDeadlineMs!, now + member.rebalanceTimeoutMs);
    this.joinNotBeforeMs = Math.min(
      Math.max(this.joinNotBeforeMs, extended),
      this.rebalanceDeadlineMs,
    );
  }

  private maybeCompleteJoin(now: number): void {
    if (this.currentState !== 'PreparingRebalance') return;
    // Nobody left to wait for: ids handed out but unused join the next generation instead.
    if (this.members.size === 0) return this.completeJoin(now);
    if (this.joinNotBeforeMs !== null && now < this.joinNotBeforeMs) return;
    if (this.pendingMembers.size > 0) return;

    for (const member of this.members.values()) if (member.joinToken === null) return;
    this.completeJoin(now);
  }

  /**
   * Forms the next generation from the members that rejoined. Dynamic members that did not are
   * dropped; static ones are kept, since their identity outlives a restart.
   */
  private completeJoin(now: number): void {
    for (const member of [...this.members.values()]) {
      if (member.joinToken === null && member.groupInstanceId === null) {
        this.removeMemberQuietly(member, 'not-rejoined');
      }
    }

    this.generation += 1;
    this.rebalanceDeadlineMs = null;
    this.joinNotBeforeMs = null;

    if (this.members.size === 0) {
      this.currentState = 'Empty';
      this.protocol = null;
      this.leaderId = null;
      this.emit({ kind: 'emptied', generationId: this.generation });
      return;
    }

    this.currentState = 'CompletingRebalance';
    this.protocol = this.selectProtocol();
    this.leaderId = this.nextLeader();
    this.syncDeadlineMs = now + this.maxRebalanceTimeoutMs();
    this.emit({
      kind: 'generation-formed',
      generationId: this.generation,
      leader: this.leaderId,
      protocolName: this.protocol,
    });

    for (const member of this.members.values()) {
      member.awaitingSync = true;
      if (member.joinToken === null) continue;

      const token = member.joinToken;
      member.joinToken = null;
      this.replyCurrentGeneration(member, token, now);
    }
  }

  /** The current leader if it rejoined, else the first member that did. */
  private nextLeader(): string {
    const current = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (current !== undefined && current.joinToken !== null) return current.memberId;

    for (const member of this.members.values()) {
      if (member.joinToken !== null) return member.memberId;
    }
    return this.members.keys().next().value!;
  }

  /**
   * Among the protocols every member supports, each member votes for its most preferred; the
   * most votes win, ties going to the earlier in the leader's order of preference.
   */
  private selectProtocol(): string {
    const all = [...this.members.values()];
    const first = this.leaderId !== null ? this.members.get(this.leaderId) : undefined;
    const order = (first ?? all[0]).protocols
      .map((p) => p.name)
      .filter((n) => this.supportedByAll(n));
    invariant(order.length > 0, `group ${this.groupId} has no protocol common to all members`);

    const votes = new Map<string, number>(order.map((name) => [name, 0]));
    for (const member of all) {
      const choice = member.protocols.find((p) => votes.has(p.name))!.name;
      votes.set(choice, votes.get(choice)! + 1);
    }

    let best = order[0];
    for (const name of order) if (votes.get(name)! > votes.get(best)!) best = name;
    return best;
  }

  private memberMetadata(): JoinedMember[] {
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.protocols.find((p) => p.name === this.protocol)?.metadata ?? EMPTY,
    }));
  }

  private maxRebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) {
      timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    }
    return timeoutMs;
  }

  // ---- SyncGroup -------------------------------------------------------------------------------

  sync(request: SyncRequest, now: number): Effects {
    const refusal = this.syncRefusal(request);
    if (refusal !== null) {
      this.replySyncError(request.token, refusal);
      return this.drain();
    }

    const member = this.members.get(request.memberId)!;
    member.awaitingSync = false;
    member.sessionDeadlineMs = now + member.sessionTimeoutMs;
    this.heardOn(member, request.connectionId);

    if (this.currentState === 'Stable') {
      this.replySync(request.token, member.assignment);
      return this.drain();
    }

    // As for joins, a second SyncGroup means the client gave up on the first.
    if (member.syncToken !== null) {
      this.replySyncError(member.syncToken, ErrorCode.REBALANCE_IN_PROGRESS);
    }
    member.syncToken = request.token;
    if (request.memberId === this.leaderId) this.completeSync(request.assignments, now);
    return this.drain();
  }

  private syncRefusal(request: SyncRequest): number | null {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.isFenced(request.memberId, request.groupInstanceId)) {
      return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (!this.members.has(request.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== this.generation) return ErrorCode.ILLEGAL_GENERATION;
    if (request.protocolType !== null && request.protocolType !== this.type) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (request.protocolName !== null && request.protocolName !== this.protocol) {
      return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (this.currentState === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;

    invariant(this.currentState !== 'Empty', `group ${this.groupId} is empty with members`);
    return null;
  }

  /** The leader's assignment arrived: the generation is stable, waiting members get theirs. */
  private completeSync(assignments: SyncRequest['assignments'], now: number): void {
    for (const member of this.members.values()) member.assignment = EMPTY;
    for (const { memberId, assignment } of assignments) {
      const member = this.members.get(memberId);
      if (member !== undefined) member.assignment = assignment;
    }

    this.currentState = 'Stable';
    this.emit({ kind: 'stable', generationId: this.generation });

    for (const member of this.members.values()) {
      if (member.syncToken === null) continue;

      const token = member.syncToken;
      member.syncToken = null;
      member.sessionDeadlineMs = now + member.sessionTimeoutMs;
      this.replySync(token, member.assignment);
    }
  }

  /** A member kept waiting was alive all along: its session restarts when it is answered. */
  private refuseWaitingSyncs(now: number): void {
    for (const member of this.members.values()) {
      member.assignment = EMPTY;
      if (member.syncToken === null) continue;

      this.replySyncError(member.syncToken, ErrorCode.REBALANCE_IN_PROGRESS);
      member.syncToken = null;
      member.sessionDeadlineMs = now + member.sessionTimeoutMs;
    }
  }

  // ---- Heartbeat, OffsetCommit checks --------------------------------------------------------

  /** A heartbeat keeps the member's session; its answer tells it whether to rejoin. */
  heartbeat(claim: MemberClaim, now: number): number {
    const refusal = this.claimRefusal(claim);
    if (refusal !== null) return refusal;

    const member = this.members.get(claim.memberId)!;
    member.sessionDeadlineMs = now + member.sessionTimeoutMs;
    this.heardOn(member, claim.connectionId ?? null);
    if (this.currentState === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /**
   * Whether an offset commit may be stored: it must come from a current member of the current
   * generation (a zombie from an older one is refused), or be a simple commit (generation below
   * zero) to a group without members, as tools and manually assigned consumers do.
   */
  validateCommit(claim: MemberClaim, now: number): number {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.isFenced(claim.memberId, claim.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (claim.generationId < 0 && this.currentState === 'Empty') return ErrorCode.NONE;

    const refusal = this.claimRefusal(claim);
    if (refusal !== null) return refusal;

    // Even a commit refused for the rebalance shows on which connection the member is alive.
    const member = this.members.get(claim.memberId)!;
    this.heardOn(member, claim.connectionId ?? null);
    if (this.currentState === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;

    member.sessionDeadlineMs = now + member.sessionTimeoutMs;
    return ErrorCode.NONE;
  }

  private claimRefusal(claim: MemberClaim): number | null {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.isFenced(claim.memberId, claim.groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!this.members.has(claim.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (claim.generationId !== this.generation) return ErrorCode.ILLEGAL_GENERATION;
    return null;
  }

  /** A static member's instance id now belongs to a newer incarnation than this member id. */
  private isFenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;

    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  // ---- LeaveGroup ------------------------------------------------------------------------------

  leave(leaving: LeavingMember[], now: number): { results: LeaveResult[]; effects: Effects } {
    const results = leaving.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode: this.leaveOne(m, now),
    }));
    return { results, effects: this.drain() };
  }

  private leaveOne(leaving: LeavingMember, now: number): number {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;

    // A static member may be removed by instance id alone (an operator's tool does that).
    if (leaving.groupInstanceId !== null) {
      const current = this.staticMembers.get(leaving.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (leaving.memberId !== '' && leaving.memberId !== current) {
        return ErrorCode.FENCED_INSTANCE_ID;
      }

      this.removeMember(this.members.get(current)!, 'left', now);
      return ErrorCode.NONE;
    }

    if (this.pendingMembers.delete(leaving.memberId)) {
      this.maybeCompleteJoin(now);
      return ErrorCode.NONE;
    }
    const member = this.members.get(leaving.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;

    this.removeMember(member, 'left', now);
    return ErrorCode.NONE;
  }

  private removeMember(member: Member, reason: RemovalReason, now: number): void {
    this.removeMemberQuietly(member, reason);

    if (this.currentState === 'Stable' || this.currentState === 'CompletingRebalance') {
      this.prepareRebalance(now, `member ${member.memberId} ${reason}`);
    }
    this.maybeCompleteJoin(now);
  }

  /** Takes the member out without deciding what the group does next. */
  private removeMemberQuietly(member: Member, reason: RemovalReason): void {
    if (member.joinToken !== null) {
      this.replyJoinError(member.joinToken, member.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (member.syncToken !== null) {
      this.replySyncError(member.syncToken, ErrorCode.UNKNOWN_MEMBER_ID);
    }

    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;

    this.emit({ kind: 'member-removed', memberId: member.memberId, reason });
  }

  // ---- Time ------------------------------------------------------------------------------------

  /** The earliest time at which tick() has something to do, or null when nothing is due. */
  nextDeadlineMs(): number | null {
    const deadlines = [...this.pendingMembers.values()].map((p) => p.deadlineMs);

    for (const member of this.members.values()) {
      if (member.joinToken === null && member.syncToken === null) {
        deadlines.push(member.sessionDeadlineMs);
      }
      if (member.connectionLostDeadlineMs !== null) deadlines.push(member.connectionLostDeadlineMs);
    }
    if (this.rebalanceDeadlineMs !== null) deadlines.push(this.rebalanceDeadlineMs);
    if (this.joinNotBeforeMs !== null) deadlines.push(this.joinNotBeforeMs);
    if (this.syncDeadlineMs !== null) deadlines.push(this.syncDeadlineMs);

    return deadlines.length === 0 ? null : Math.min(...deadlines);
  }

  /** Applies every deadline that has passed: lapsed ids, expired sessions, rebalance timeouts. */
  tick(now: number): Effects {
    if (this.currentState === 'Dead') return this.drain();

    this.expirePendingMembers(now);
    this.expireSessions(now);
    this.expireSync(now);

    if (this.joinNotBeforeMs !== null && now >= this.joinNotBeforeMs) this.joinNotBeforeMs = null;
    if (this.rebalanceDeadlineMs !== null && now >= this.rebalanceDeadlineMs) {
      this.completeJoin(now);
    }
    this.maybeCompleteJoin(now);
    return this.drain();
  }

  private expirePendingMembers(now: number): void {
    for (const [memberId, { deadlineMs }] of [...this.pendingMembers]) {
      if (now < deadlineMs) continue;

      this.pendingMembers.delete(memberId);
      this.emit({ kind: 'pending-member-expired', memberId });
    }
  }

  private expireSessions(now: number): void {
    for (const member of [...this.members.values()]) {
      if (this.members.get(member.memberId) !== member) continue;

      const lostDeadlineMs = member.connectionLostDeadlineMs;
      if (lostDeadlineMs !== null && now >= lostDeadlineMs) {
        this.removeMember(member, 'connection-lost', now);
        continue;
      }

      const waiting = member.joinToken !== null || member.syncToken !== null;
      if (waiting || now < member.sessionDeadlineMs) continue;
      this.removeMember(member, 'session-expired', now);
    }
  }

  /** Members given a generation that never asked for their assignment are dropped. */
  private expireSync(now: number): void {
    if (this.syncDeadlineMs === null || now < this.syncDeadlineMs) return;
    this.syncDeadlineMs = null;

    for (const member of [...this.members.values()]) {
      if (member.awaitingSync) this.removeMember(member, 'sync-timeout', now);
    }
  }

  // ---- Connections ------------------------------------------------------------------------------

  /**
   * The edge saw `connectionId` close. Each dynamic member whose latest request came on it, and
   * each member id handed out on it, must be heard from on another connection within the grace
   * or be removed. A member's JoinGroup or SyncGroup waiting on that connection no longer shields
   * it: its answer has nowhere to go. Removals happen at tick(), like every other deadline.
   */
  connectionClosed(connectionId: number, now: number): Effects {
    const graceMs = this.settings.connectionLossGraceMs;
    if (this.currentState === 'Dead' || graceMs <= 0) return this.drain();
    const deadlineMs = now + graceMs;

    for (const member of this.members.values()) {
      if (member.connectionId !== connectionId || member.groupInstanceId !== null) continue;

      const removalAtMs = Math.min(member.connectionLostDeadlineMs ?? deadlineMs, deadlineMs);
      member.connectionLostDeadlineMs = removalAtMs;
      this.emit({ kind: 'member-connection-closed', memberId: member.memberId, removalAtMs });
    }
    for (const pending of this.pendingMembers.values()) {
      if (pending.connectionId !== connectionId) continue;
      pending.deadlineMs = Math.min(pending.deadlineMs, deadlineMs);
    }
    return this.drain();
  }

  /**
   * The member sent a request on `connectionId`. On any other connection than the one that closed,
   * that proves it alive and its normal session deadline holds again. A request that arrives on
   * the closed connection itself (read before the close, handled after it) proves nothing.
   */
  private heardOn(member: Member, connectionId: ConnectionId): void {
    const lost = member.connectionLostDeadlineMs !== null;
    if (lost && connectionId !== null && connectionId === member.connectionId) return;

    member.connectionId = connectionId;
    member.connectionLostDeadlineMs = null;
  }

  // ---- Subscriptions ----------------------------------------------------------------------------

  /**
   * The topics the members subscribe to, read from every protocol's metadata each member offered
   * (a ConsumerProtocolSubscription), in any state: during a rebalance the chosen protocol may not
   * be known yet, so all of a member's protocols count. Null when this cannot be told: the group's
   * protocol type is not "consumer", or some member's metadata does not parse.
   */
  subscribedTopics(): Set<string> | null {
    if (this.members.size > 0 && this.type !== CONSUMER_PROTOCOL_TYPE) return null;

    const topics = new Set<string>();
    for (const member of this.members.values()) {
      for (const protocol of member.protocols) {
        const own = subscriptionTopics(protocol.metadata);
        if (own === null) return null;
        for (const topic of own) topics.add(topic);
      }
    }
    return topics;
  }

  // ---- Unloading, description ------------------------------------------------------------------

  /**
   * The group stops being served here (its coordinator moved, or it was deleted): everything that
   * waits is answered with `errorCode` so the clients look for the coordinator again.
   */
  unload(errorCode: number): Effects {
    for (const member of this.members.values()) {
      if (member.joinToken !== null) {
        this.replyJoinError(member.joinToken, member.memberId, errorCode);
      }
      if (member.syncToken !== null) this.replySyncError(member.syncToken, errorCode);
      this.emit({ kind: 'member-removed', memberId: member.memberId, reason: 'unloaded' });
    }

    this.currentState = 'Dead';
    this.members.clear();
    this.staticMembers.clear();
    this.pendingMembers.clear();
    this.leaderId = null;
    this.rebalanceDeadlineMs = this.joinNotBeforeMs = this.syncDeadlineMs = null;
    return this.drain();
  }

  /** No members, no ids handed out, nothing pending: only offsets (kept elsewhere) remain. */
  isIdle(): boolean {
    return this.currentState === 'Empty' && this.pendingMembers.size === 0;
  }

  describe(): GroupDescription {
    const stable = this.currentState === 'Stable';
    const metadata = new Map(this.memberMetadata().map((m) => [m.memberId, m.metadata]));

    return {
      groupId: this.groupId,
      groupState: this.currentState,
      protocolType: this.type ?? '',
      protocolData: stable ? (this.protocol ?? '') : '',
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        memberMetadata: stable ? metadata.get(member.memberId)! : EMPTY,
        memberAssignment: stable ? member.assignment : EMPTY,
      })),
    };
  }

  // ---- Effects ---------------------------------------------------------------------------------

  private replyJoinError(token: number, memberId: string, errorCode: number): void {
    this.reply({ token, kind: 'join', result: joinError(memberId, errorCode) });
  }

  private replySync(token: number, assignment: Buffer): void {
    this.reply({
      token,
      kind: 'sync',
      result: {
        errorCode: ErrorCode.NONE,
        protocolType: this.type,
        protocolName: this.protocol,
        assignment,
      },
    });
  }

  private replySyncError(token: number, errorCode: number): void {
    const result = { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
    this.reply({ token, kind: 'sync', result });
  }

  private reply(reply: Reply): void {
    this.effects.replies.push(reply);
  }

  private emit(event: GroupEvent): void {
    this.effects.events.push(event);
  }

  private drain(): Effects {
    const effects = this.effects;
    this.effects = { replies: [], events: [] };
    return effects;
  }
}

function sameProtocols(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => p.name === b[i].name && p.metadata.equals(b[i].metadata));
}

/**
 * The topics of one ConsumerProtocolSubscription (int16 version, then an array of topic names in
 * every version; what follows differs by version and is not read), or null when it does not parse.
 */
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
