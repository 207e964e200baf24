// Assembles a controller's parts around its database: state machine, command log, metadata feed,
// data node liveness and offset batching. main.ts adds the socket and the timers; tests use the
// same assembly with an in-memory database and drive the app through `app.request()`.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.ts';
import type { ControllerDeps } from './app.ts';
import { unwrap } from './commands.ts';
import { DataNodeLiveness } from './data-node-liveness.ts';
import { DataNodeSessions } from './data-node-sessions.ts';
import type { StateDb } from './db/database.ts';
import { readClusterId } from './db/queries.ts';
import { LocalCommandLog } from './local-command-log.ts';
import { MetadataFeed } from './metadata-feed.ts';
import { OffsetCommitBatcher } from './offset-commits.ts';
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
  logger: Logger;
  /** The admin URL other parties reach this controller at, once known. */
  adminUrl?: () => string | null;
  clocks?: Clocks;
  newTopicId?: () => string;
}

export interface ControllerCore extends ControllerDeps {
  commandLog: LocalCommandLog;
  /** Stops taking commands and answers parked long polls; the database stays open. */
  close(): void;
}

export function createControllerCore(options: ControllerCoreOptions): ControllerCore {
  const { controllerId, db, logger } = options;
  const clocks = options.clocks ?? systemClocks;

  const stateMachine = new StateMachine(db);
  const feed = new MetadataFeed(db);
  stateMachine.onApplied(() => feed.notify());

  const commandLog = new LocalCommandLog(stateMachine, {
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
    monotonicMs: clocks.monotonicMs,
    wallMs: clocks.wallMs,
    logger: logger.child({ component: 'liveness' }),
  });

  return {
    controllerId,
    stateMachine,
    log: commandLog,
    commandLog,
    feed,
    liveness,
    sessions,
    offsetCommits: new OffsetCommitBatcher(commandLog),
    wallMs: clocks.wallMs,
    newTopicId: options.newTopicId ?? randomUUID,
    logger: logger.child({ component: 'http' }),
    close() {
      liveness.stop();
      commandLog.close();
      feed.close();
    },
  };
}

/** Thrown at start when the data directory belongs to another cluster than the config names. */
export class ClusterIdMismatch extends Error {
  override name = 'ClusterIdMismatch';
}

/**
 * Makes sure the cluster has an id: the stored one, else the configured one, else a new one in
 * Kafka's form (22 characters of base64url). A stored id that differs from the configured one
 * means the data directory belongs to another cluster: refuse to start rather than mix them.
 */
export async function ensureClusterId(
  core: ControllerCore,
  configured: string | undefined,
  dataDir: string,
): Promise<string> {
  const stored = readClusterId(core.stateMachine.db);
  if (stored !== null && configured !== undefined && stored !== configured) {
    throw new ClusterIdMismatch(
      `data directory ${dataDir} belongs to cluster ${stored}, but the configuration names ` +
        `cluster ${configured}; point dataDir elsewhere or fix clusterId`,
    );
  }
  if (stored !== null) return stored;

  const clusterId = configured ?? randomBytes(16).toString('base64url');
  const result = await core.log.propose({ type: 'initCluster', clusterId });
  return unwrap(result).clusterId;
}
