// Registration, heartbeats and fencing of data nodes, on the leader controller. Heartbeats update
// in-memory sessions (data-node-sessions.ts); a periodic check proposes fenceDataNode for nodes
// whose session lapsed, and a heartbeat from a fenced node under its current registration
// proposes unfenceDataNode.
// Each data node also keeps one presence request open here. A process that dies has its sockets
// closed by its kernel, so the leader sees that request cut without an answer within
// milliseconds; the node is fenced after a short grace unless it shows itself again (a new
// presence request or a heartbeat), instead of after a whole session timeout. A node that is
// paused or cut off by the network keeps its connection, and is found by the session timeout.
// Timing stays here, on the leader: what enters the log is a decision naming the broker epoch it
// was made for, so a late decision cannot fence a newer registration.
// Each time this controller starts leading (a new Raft term), every node gets a fresh session, so
// nobody is fenced for heartbeats that went to the previous leader; the same after this process
// was paused (stopped, or its event loop stalled), when it could not have seen heartbeats.
import { invariant } from '../shared/assert.ts';
import type { DataNodeRecord } from '../shared/cluster-metadata.ts';
import type {
  HeartbeatRequest as DataNodeHeartbeat,
  PresenceRequest,
  RegisterRequest,
} from '../shared/data-node-api.ts';
import type { Logger } from '../shared/logger.ts';
import { NotLeaderError, type CommandLog } from './command-log.ts';
import { reject, unwrap } from './commands.ts';
import type { StateDb } from './db/database.ts';
import { readClusterId, readDataNode, readDataNodes, readMeta } from './db/queries.ts';
import type { DataNodeSessions, PartitionReport } from './data-node-sessions.ts';

export type { PresenceRequest, RegisterRequest } from '../shared/data-node-api.ts';

/** A heartbeat as the route hands it over: offsets parsed into bigints. */
export type HeartbeatRequest = DataNodeHeartbeat<PartitionReport>;

export interface LivenessOptions {
  db: StateDb;
  log: CommandLog;
  sessions: DataNodeSessions;
  sessionTimeoutMs: number;
  /**
   * How long a node whose presence connection was cut may take to open another (or heartbeat)
   * before it is fenced. Defaults to the session timeout, which ignores presence connections.
   */
  presenceGraceMs?: number;
  /**
   * The term this controller leads in, null while it does not lead; a change restarts every
   * session. Defaults to 0 while the log says it leads.
   */
  leaderTerm?: () => number | null;
  /**
   * Extra time in each node's first session under a new leader: a node may still be waiting on a
   * request to the old leader (one that stopped answering) for up to its request timeout.
   */
  newLeaderGraceMs?: number;
  /** Monotonic clock in ms, for session timing. */
  monotonicMs: () => number;
  /** Wall clock in ms, only to show when a node last heartbeated. */
  wallMs: () => number;
  logger: Logger;
}

/** Timed checks this many intervals apart mean the process did not run in between. */
const PAUSED_AFTER_INTERVALS = 3;

/** How often a held presence request looks whether this controller still leads. */
const PRESENCE_LEADERSHIP_CHECK_MS = 250;
/**
 * Presence requests one node may hold open at once. A data node keeps one (two for a moment
 * while it reconnects); more are a misbehaving client, refused before they pile up.
 */
export const PRESENCE_OPEN_MAX = 4;

export class DataNodeLiveness {
  private timer: NodeJS.Timeout | null = null;
  /** The term this controller led in at the last check; a new one restarts every session. */
  private ledTerm: number | null = null;
  /** Monotonic time of the last timed check; a long gap since means this process was paused. */
  private lastTimedCheckMs = 0;
  /** Nodes with a fence proposal in flight, so that one lapse gives one proposal. */
  private readonly fencing = new Set<number>();

  constructor(private readonly options: LivenessOptions) {}

  async register(request: RegisterRequest): Promise<{ brokerEpoch: number; clusterId: string }> {
    const { log, db } = this.options;
    this.requireLeader();
    const clusterId = readClusterId(db);
    if (clusterId === null) throw new NotLeaderError(log.leaderHint());

    const result = await log.propose({ type: 'registerDataNode', ...request });
    const { brokerEpoch } = unwrap(result);
    this.touch(request.nodeId, brokerEpoch);

    this.options.logger.info({ nodeId: request.nodeId, brokerEpoch }, 'data node registered');
    return { brokerEpoch, clusterId };
  }

  /** Refreshes the node's session; a fenced node under its current registration is unfenced. */
  async heartbeat(
    request: HeartbeatRequest,
  ): Promise<{ fenced: boolean; metadataVersion: number }> {
    const { log, db, sessions } = this.options;
    this.requireLeader();

    const node = this.registered(request.nodeId, request.brokerEpoch);
    this.touch(node.nodeId, node.brokerEpoch);
    sessions.report(node.nodeId, request.partitions);

    if (node.fenced) {
      const { nodeId, brokerEpoch } = node;
      unwrap(await log.propose({ type: 'unfenceDataNode', nodeId, brokerEpoch }));
      this.options.logger.info({ nodeId, brokerEpoch }, 'data node unfenced');
    }
    return { fenced: false, metadataVersion: readMeta(db, 'metadataVersion') };
  }

  /**
   * Holds a node's presence request until `holdMs` passes, this controller stops leading, or the
   * node's side closes it. A close before the answer means the node may be gone: the check after
   * the presence grace fences it unless it has shown itself again by then.
   */
  async presence(request: PresenceRequest, signal: AbortSignal): Promise<{ heldMs: number }> {
    const { sessions, monotonicMs, wallMs } = this.options;
    this.requireLeader();
    const node = this.registered(request.nodeId, request.brokerEpoch);
    if (sessions.presenceOpen(node.nodeId, node.brokerEpoch) >= PRESENCE_OPEN_MAX) {
      reject(
        'tooManyPresenceRequests',
        `data node ${node.nodeId} already holds ${PRESENCE_OPEN_MAX} presence requests open`,
      );
    }

    const openedMs = monotonicMs();
    sessions.presenceOpened(node.nodeId, node.brokerEpoch, openedMs, wallMs());
    const lost = await this.holdPresence(request.holdMs, signal);
    sessions.presenceClosed(node.nodeId, node.brokerEpoch, lost, monotonicMs());

    if (lost) {
      const graceMs = this.presenceGraceMs();
      // Debug only: a node that reopens at once is fine, and the fence that may follow is logged.
      this.options.logger.debug({ nodeId: node.nodeId, graceMs }, 'data node presence lost');
      setTimeout(() => void this.check(), graceMs).unref();
    }
    return { heldMs: monotonicMs() - openedMs };
  }

  /** Checks sessions every eighth of the timeout, between 50 and 500 ms apart. */
  start(): void {
    invariant(this.timer === null, 'liveness checks started twice');
    const intervalMs = Math.max(50, Math.min(500, Math.floor(this.options.sessionTimeoutMs / 8)));
    this.lastTimedCheckMs = this.options.monotonicMs();
    this.timer = setInterval(() => this.timedCheck(intervalMs), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One liveness check; returns the fence proposals it started (tests await them). */
  check(): Promise<void>[] {
    const { db, sessions, sessionTimeoutMs } = this.options;
    const term = this.leaderTerm();
    if (term === null) {
      this.ledTerm = null;
      return [];
    }

    const nodes = readDataNodes(db);
    const now = this.options.monotonicMs();
    if (term !== this.ledTerm) {
      this.ledTerm = term;
      sessions.restartAll(nodes, now + (this.options.newLeaderGraceMs ?? 0));
      this.options.logger.info({ term, dataNodes: nodes.length }, 'data node sessions restarted');
      return [];
    }

    return sessions
      .expired(nodes, now, sessionTimeoutMs, this.presenceGraceMs())
      .filter((node) => !this.fencing.has(node.nodeId))
      .map((node) => this.fence(node.nodeId, node.brokerEpoch));
  }

  /** A check from the timer; after a gap of several intervals every session starts afresh. */
  private timedCheck(intervalMs: number): void {
    const now = this.options.monotonicMs();
    const gapMs = now - this.lastTimedCheckMs;
    this.lastTimedCheckMs = now;

    if (gapMs > PAUSED_AFTER_INTERVALS * intervalMs && this.ledTerm !== null) {
      this.ledTerm = null;
      this.options.logger.info({ gapMs }, 'liveness checks resumed after a pause');
    }
    void this.check();
  }

  private async fence(nodeId: number, brokerEpoch: number): Promise<void> {
    const logger = this.options.logger.child({ nodeId, brokerEpoch });
    this.fencing.add(nodeId);
    if (this.options.sessions.presenceLost(nodeId)) {
      const presenceGraceMs = this.presenceGraceMs();
      logger.warn({ presenceGraceMs }, 'data node presence connection lost and not reopened');
    } else {
      logger.warn({ sessionTimeoutMs: this.options.sessionTimeoutMs }, 'data node session lapsed');
    }

    try {
      const result = await this.options.log.propose({ type: 'fenceDataNode', nodeId, brokerEpoch });
      if (result.ok) {
        logger.warn({ changedPartitions: result.value.changedPartitions }, 'data node fenced');
      } else {
        // Registered again (or fenced) since the decision: the epoch in the command saw to it.
        logger.info({ reason: result.rejection.reason }, 'fence refused as stale');
      }
    } catch (err) {
      logger.error({ err }, 'fence proposal failed');
    } finally {
      this.fencing.delete(nodeId);
    }
  }

  /** Resolves true if the other side closed the request first, false when it is time to answer. */
  private holdPresence(holdMs: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(true);

    return new Promise((resolve) => {
      const finish = (lost: boolean): void => {
        clearTimeout(timer);
        clearInterval(leadership);
        signal.removeEventListener('abort', onAbort);
        resolve(lost);
      };
      const onAbort = (): void => finish(true);
      const timer = setTimeout(() => finish(false), holdMs).unref();
      const leadership = setInterval(() => {
        if (!this.options.log.isLeader()) finish(false);
      }, PRESENCE_LEADERSHIP_CHECK_MS).unref();
      signal.addEventListener('abort', onAbort);
    });
  }

  /** The node's record, refusing an unknown node or a broker epoch other than its current one. */
  private registered(nodeId: number, brokerEpoch: number): DataNodeRecord {
    const node = readDataNode(this.options.db, nodeId);
    if (node === undefined) {
      reject('unknownDataNode', `data node ${nodeId} is not registered`);
    }
    if (node.brokerEpoch !== brokerEpoch) {
      reject(
        'staleBrokerEpoch',
        `data node ${nodeId} has broker epoch ${node.brokerEpoch}, not ${brokerEpoch}`,
      );
    }
    return node;
  }

  private presenceGraceMs(): number {
    return this.options.presenceGraceMs ?? this.options.sessionTimeoutMs;
  }

  private leaderTerm(): number | null {
    const { leaderTerm, log } = this.options;
    if (leaderTerm !== undefined) return leaderTerm();
    return log.isLeader() ? 0 : null;
  }

  private touch(nodeId: number, brokerEpoch: number): void {
    const { sessions, monotonicMs, wallMs } = this.options;
    sessions.heartbeat(nodeId, brokerEpoch, monotonicMs(), wallMs());
  }

  private requireLeader(): void {
    if (!this.options.log.isLeader()) throw new NotLeaderError(this.options.log.leaderHint());
  }
}
