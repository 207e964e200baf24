// Assembles a controller's parts around its database: state machine, command log, metadata feed,
// data node liveness and offset batching. main.ts adds Raft, the socket and the timers; tests use
// the same assembly with an in-memory database and a local command log, and drive the app through
// `app.request()`.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/logger.ts';
import type { ControllerDeps } from './app.ts';
import { NotLeaderError, type CommandLog, type QuorumMember } from './command-log.ts';
import { DataNodeLiveness } from './data-node-liveness.ts';
import { DataNodeSessions } from './data-node-sessions.ts';
import type { StateDb } from './db/database.ts';
import { readClusterId } from './db/queries.ts';
import { LocalCommandLog } from './local-command-log.ts';
import { MetadataFeed } from './metadata-feed.ts';
import { OffsetCommitBatcher } from './offset-commits.ts';
import {
  OFFSETS_RETENTION_CHECK_MS_DEFAULT,
  OFFSETS_RETENTION_MS_DEFAULT,
  OffsetRetention,
} from './offset-retention.ts';
import { PreferredLeaderBalancer } from './preferred-leaders.ts';
import { StateMachine } from './state-machine.ts';

export interface Clocks {
  /** Wall clock, ms since the epoch: stamped on log entries. */
  wallMs: () => number;
  /** Monotonic clock, ms: times data node sessions. */
  monotonicMs: () => number;
}

export const systemClocks: Clocks = { wallMs: Date.now, monotonicMs: () => performance.now() };

export interface ControllerCoreOptions {
  controllerId: number;
  db: StateDb;
  dataNodeSessionTimeoutMs: number;
  /** Grace after a data node's presence connection is cut (see DataNodeLiveness). */
  dataNodePresenceGraceMs?: number;
  logger: Logger;
  /** The admin URL other parties reach this controller at, once known. */
  adminUrl?: () => string | null;
  clocks?: Clocks;
  newTopicId?: () => string;
  /** The state machine over `db`, when the command log needs it first (main.ts: Raft). */
  stateMachine?: StateMachine;
  /** How commands are committed (main.ts: Raft); a single-member local log when absent. */
  commandLog?: ControllerCommandLog;
  /** The Raft term this controller leads in, null while it does not; liveness restarts on change. */
  leaderTerm?: () => number | null;
  /** Added to each data node's first session under a new leader (see DataNodeLiveness). */
  newLeaderGraceMs?: number;
  /** Offsets of a group without members for this long expire (default 7 days). */
  offsetsRetentionMs?: number;
  /** How often the leader looks for expired offsets (default 10 minutes). */
  offsetsRetentionCheckMs?: number;
}

/** A command log as the controller's parts use it. */
export interface ControllerCommandLog extends CommandLog, QuorumMember {
  /** Refuses further proposals. */
  close(): void;
}

/** How often the leader controller moves leadership back to preferred replicas. */
const PREFERRED_LEADER_CHECK_MS = 1000;

export interface ControllerCore extends ControllerDeps {
  commandLog: ControllerCommandLog;
  /** Not started here: main.ts starts it, so that in-process tests keep leaders where they are. */
  preferredLeaders: PreferredLeaderBalancer;
  /** Not started here either: main.ts runs it on the leader. */
  offsetRetention: OffsetRetention;
  /** Stops taking commands and answers parked long polls; the database stays open. */
  close(): void;
}

export function createControllerCore(options: ControllerCoreOptions): ControllerCore {
  const { controllerId, db, logger } = options;
  const clocks = options.clocks ?? systemClocks;

  const stateMachine = options.stateMachine ?? new StateMachine(db);
  const feed = new MetadataFeed(db);
  stateMachine.onApplied(() => feed.notify());
  stateMachine.onRestored(() => feed.notify());

  const commandLog =
    options.commandLog ??
    new LocalCommandLog(stateMachine, {
      controllerId,
      adminUrl: options.adminUrl ?? (() => null),
      clock: clocks.wallMs,
      logger: logger.child({ component: 'command-log' }),
    });
  const sessions = new DataNodeSessions();
  const liveness = new DataNodeLiveness({
    db,
    log: commandLog,
    sessions,
    sessionTimeoutMs: options.dataNodeSessionTimeoutMs,
    presenceGraceMs: options.dataNodePresenceGraceMs,
    leaderTerm: options.leaderTerm,
    newLeaderGraceMs: options.newLeaderGraceMs,
    monotonicMs: clocks.monotonicMs,
    wallMs: clocks.wallMs,
    logger: logger.child({ component: 'liveness' }),
  });

  const preferredLeaders = new PreferredLeaderBalancer({
    db,
    log: commandLog,
    intervalMs: PREFERRED_LEADER_CHECK_MS,
    logger: logger.child({ component: 'preferred-leaders' }),
  });

  const offsetRetention = new OffsetRetention({
    log: commandLog,
    retentionMs: options.offsetsRetentionMs ?? OFFSETS_RETENTION_MS_DEFAULT,
    checkMs: options.offsetsRetentionCheckMs ?? OFFSETS_RETENTION_CHECK_MS_DEFAULT,
    logger: logger.child({ component: 'offset-retention' }),
  });

  return {
    controllerId,
    stateMachine,
    log: commandLog,
    quorum: commandLog,
    commandLog,
    feed,
    liveness,
    sessions,
    offsetCommits: new OffsetCommitBatcher(commandLog),
    wallMs: clocks.wallMs,
    newTopicId: options.newTopicId ?? randomUUID,
    logger: logger.child({ component: 'http' }),
    preferredLeaders,
    offsetRetention,
    close() {
      liveness.stop();
      preferredLeaders.stop();
      offsetRetention.stop();
      commandLog.close();
      feed.close();
    },
  };
}

/** Thrown at start when the data directory belongs to another cluster than the config names. */
export class ClusterIdMismatch extends Error {
  override name = 'ClusterIdMismatch';
}

/** Refuses a data directory whose stored cluster id is not the configured one. */
export function refuseOtherCluster(
  db: StateDb,
  configured: string | undefined,
  dataDir: string,
): void {
  const stored = readClusterId(db);
  if (stored === null || configured === undefined || stored === configured) return;

  throw new ClusterIdMismatch(
    `data directory ${dataDir} belongs to cluster ${stored}, but the configuration names ` +
      `cluster ${configured}; point dataDir elsewhere or fix clusterId`,
  );
}

export interface ClusterIdOptions {
  signal?: AbortSignal;
  /** Resolves once this controller leads: it may then commit the id without further delay. */
  whenLeading?: (signal: AbortSignal) => Promise<void>;
}

/** Pause between looks at the applied state while the cluster id is not known yet. */
const CLUSTER_ID_RETRY_MS = 100;

/**
 * Makes sure the cluster has an id: the stored one, else the configured one, else a new one in
 * Kafka's form (22 characters of base64url). Only a leader can commit it, so this waits until one
 * does (this controller, or another whose log reaches here). An id learnt from the quorum that
 * differs from the configured one means the peers belong to another cluster: refuse to go on.
 */
export async function ensureClusterId(
  core: ControllerCore,
  configured: string | undefined,
  options: ClusterIdOptions = {},
): Promise<string> {
  const { signal, whenLeading } = options;
  const { db } = core.stateMachine;
  const proposed = configured ?? randomBytes(16).toString('base64url');

  for (;;) {
    const stored = readClusterId(db);
    if (stored !== null && configured !== undefined && stored !== configured) {
      throw new ClusterIdMismatch(
        `the quorum serves cluster ${stored}, but the configuration names cluster ` +
          `${configured}; check peers and clusterId`,
      );
    }
    if (stored !== null) return stored;

    if (core.log.isLeader()) {
      try {
        const result = await core.log.propose({ type: 'initCluster', clusterId: proposed });
        if (result.ok) return result.value.clusterId;
        continue; // another id was committed first: the next look reads it
      } catch (err) {
        if (!(err instanceof NotLeaderError)) throw err;
      }
    }

    signal?.throwIfAborted();
    const wait = new AbortController();
    const woken = signal ? AbortSignal.any([signal, wait.signal]) : wait.signal;
    await Promise.race([
      sleep(CLUSTER_ID_RETRY_MS, undefined, { signal: woken }),
      whenLeading?.(woken),
    ]).catch(() => undefined);
    wait.abort();
  }
}
