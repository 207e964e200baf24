// Starting and stopping one controller process: check its configuration and its place in the
// quorum, open its database (applying migrations) and its Raft storage, join the quorum, serve
// the HTTP API on `adminPort`, and make sure the cluster has an id. The timers that judge data
// nodes (liveness, preferred leaders) run only while this controller leads, and start afresh each
// time it becomes leader.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { z } from 'zod';
import type { Logger } from '../shared/logger.ts';
import { buildApp } from './app.ts';
import {
  createControllerCore,
  ensureClusterId,
  refuseOtherCluster,
  type ControllerCore,
} from './controller.ts';
import { openStateDb } from './db/database.ts';
import { openRaftStorage, openRaftTransport, startRaftCommandLog } from './quorum.ts';
import { planQuorum } from './quorum-config.ts';
import {
  OFFSETS_RETENTION_CHECK_MS_DEFAULT,
  OFFSETS_RETENTION_MS_DEFAULT,
} from './offset-retention.ts';
import type { RaftCommandLog } from './raft-command-log.ts';
import { StateMachine } from './state-machine.ts';

const Port = z.number().int().min(0).max(65535);

/** Node.js timers hold at most 2^31 - 1 ms; a longer delay fires after 1 ms instead. */
const TIMER_MS_MAX = 2 ** 31 - 1;

export const controllerConfigSchema = z.strictObject({
  controllerId: z.number().int().min(0),
  /** Generated at first start if absent, then stored; a differing stored one stops start. */
  clusterId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, . _ -')
    .optional(),
  dataDir: z.string().min(1),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (a quorum of one only); the chosen one is in `adminUrl`. */
  adminPort: Port,
  /** Where the other controllers send raft messages; defaults to this controller's peer entry. */
  raftPort: Port.optional(),
  /**
   * Every controller of the quorum, this one included, the same list on each controller. Empty
   * (or this controller alone) runs a quorum of one.
   */
  peers: z
    .array(
      z.strictObject({
        id: z.number().int().min(0),
        host: z.string().min(1),
        adminPort: Port,
        raftPort: Port,
      }),
    )
    .default([]),
  /** One Raft tick; the leader sends heartbeats every tick. */
  raftTickMs: z.number().int().min(5).max(1000).default(100),
  /** A follower that hears no leader for between this and twice this starts an election. */
  electionTimeoutMs: z.number().int().min(15).max(60_000).default(1000),
  /** Applied entries after which the Raft log is compacted into a snapshot of the state. */
  raftSnapshotEveryEntries: z.number().int().min(10).default(10_000),
  /**
   * A data node silent for this long is fenced and loses its leaderships. This is what finds a
   * paused or cut-off node; a node whose process died is found through its presence connection.
   * Data nodes heartbeat every 500 ms by default, so the default allows five missed in a row.
   */
  dataNodeSessionTimeoutMs: z.number().int().min(100).max(TIMER_MS_MAX).default(3000),
  /**
   * A data node whose presence connection closed without an answer is fenced unless it opens
   * another (or heartbeats) within this long. A live node reopens it at once.
   */
  dataNodePresenceGraceMs: z.number().int().min(0).max(TIMER_MS_MAX).default(500),
  /**
   * Added to each data node's first session under a new leader: a data node may still be waiting
   * on a controller that stopped answering, for up to its heartbeat timeout (about 1 s).
   */
  newLeaderSessionGraceMs: z.number().int().min(0).max(TIMER_MS_MAX).default(2000),
  /**
   * The committed offsets of a consumer group that has had no members (and no commits) for this
   * long are deleted, as Kafka's offsets.retention.minutes (7 days by default).
   */
  offsetsRetentionMs: z
    .number('must be a number of milliseconds, e.g. 604800000 for 7 days')
    .int('must be a whole number of milliseconds')
    .min(1, 'must be at least 1 ms')
    .default(OFFSETS_RETENTION_MS_DEFAULT),
  /** How often the leader controller looks for expired offsets (10 minutes by default). */
  offsetsRetentionCheckMs: z
    .number('must be a number of milliseconds, e.g. 600000 for 10 minutes')
    .int('must be a whole number of milliseconds')
    .min(10, 'must be at least 10 ms')
    .max(24 * 60 * 60 * 1000, 'must be at most a day (86400000 ms)')
    .default(OFFSETS_RETENTION_CHECK_MS_DEFAULT),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;

export interface RunningController {
  stop(): Promise<void>;
  /** Base URL of the admin API, e.g. http://127.0.0.1:9600. */
  adminUrl: string;
  /**
   * Settles with the error that stopped this controller after start (the quorum turned out to
   * serve another cluster); stays pending otherwise.
   */
  failed: Promise<Error>;
}

/** Grace for requests in flight at stop before their connections are cut. */
const STOP_GRACE_MS = 2000;

export async function startController(
  config: ControllerConfig,
  logger: Logger,
): Promise<RunningController> {
  const plan = planQuorum(config);
  const log = logger.child({ component: 'controller' });
  const opened = openStateDb(join(config.dataDir, 'controller.sqlite'));
  const stateMachine = new StateMachine(opened.db);
  let adminUrl: string | null = null;

  let raftLog: RaftCommandLog;
  try {
    refuseOtherCluster(opened.db, config.clusterId, config.dataDir);
    const storage = openRaftStorage(config.dataDir, stateMachine, plan, log);
    const transport = await openRaftTransport(plan, logger).catch((err: unknown) => {
      storage.close();
      throw err;
    });
    raftLog = startRaftCommandLog({
      plan,
      storage,
      transport,
      stateMachine,
      adminUrl: () => adminUrl,
      clock: Date.now,
      snapshotEveryEntries: config.raftSnapshotEveryEntries,
      logger,
    });
  } catch (err) {
    opened.close();
    throw err;
  }

  const core = createControllerCore({
    controllerId: config.controllerId,
    db: opened.db,
    stateMachine,
    commandLog: raftLog,
    leaderTerm: () => raftLog.leaderTerm(),
    dataNodeSessionTimeoutMs: config.dataNodeSessionTimeoutMs,
    newLeaderGraceMs: config.newLeaderSessionGraceMs,
    dataNodePresenceGraceMs: config.dataNodePresenceGraceMs,
    offsetsRetentionMs: config.offsetsRetentionMs,
    offsetsRetentionCheckMs: config.offsetsRetentionCheckMs,
    logger,
    adminUrl: () => adminUrl,
  });
  raftLog.onLeadershipChange((leading) => runLeaderTimers(core, leading));

  let stopping = false;
  const app = buildApp(core);
  const server = createAdaptorServer({
    fetch: async (request, env) => {
      const response = await app.fetch(request, env);
      // While stopping, close each connection after its answer instead of keeping it alive.
      if (stopping) response.headers.set('connection', 'close');
      return response;
    },
  });

  const settling = new AbortController();
  const stopOnce = async () => {
    if (stopping) return;
    stopping = true;
    settling.abort();
    await stop(server, core, raftLog, opened.close, log);
  };

  try {
    const address = await listen(server, config.adminPort, config.host);
    adminUrl = `http://${urlHost(config.host)}:${address.port}`;
  } catch (err) {
    await stopOnce();
    throw err;
  }

  // Only a leader can commit the cluster id. A quorum of one elects itself within a few ticks, so
  // start-up waits for that and for the id; a larger one may be waiting for its other members, so the id is
  // settled in the background and a wrong one stops the controller later (`failed`).
  const clusterId = ensureClusterId(core, config.clusterId, {
    signal: settling.signal,
    whenLeading: (signal) => raftLog.whenLeading(signal),
  });
  if (plan.voters.length === 1) {
    try {
      await raftLog.whenLeading(settling.signal);
      await clusterId;
    } catch (err) {
      await stopOnce();
      throw err;
    }
  }

  const failed = clusterId.then(
    (id) => {
      log.info({ clusterId: id }, 'cluster id known');
      return never();
    },
    async (err: Error) => {
      if (settling.signal.aborted) return never();
      log.fatal({ err }, 'controller stops');
      await stopOnce();
      return err;
    },
  );
  log.info(
    { adminUrl, voters: plan.voters, appliedIndex: stateMachine.appliedIndex },
    'controller started',
  );
  return { adminUrl, stop: stopOnce, failed };
}

function never(): Promise<Error> {
  return new Promise<Error>(() => undefined);
}

/** Liveness checks, preferred leader elections and offset expiry run on the leader only. */
function runLeaderTimers(core: ControllerCore, leading: boolean): void {
  if (leading) {
    core.liveness.start();
    core.preferredLeaders.start();
    core.offsetRetention.start();
  } else {
    core.liveness.stop();
    core.preferredLeaders.stop();
    core.offsetRetention.stop();
  }
}

type Server = ReturnType<typeof createAdaptorServer>;

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function stop(
  server: Server,
  core: ControllerCore,
  raftLog: RaftCommandLog,
  closeDb: () => void,
  logger: Logger,
): Promise<void> {
  runLeaderTimers(core, false);
  core.close();

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
  http.closeIdleConnections();
  const cut = setTimeout(() => http.closeAllConnections(), STOP_GRACE_MS);
  await closed;
  clearTimeout(cut);

  // Nothing may be applied once the database is closed.
  await raftLog.stop();
  closeDb();
  logger.info('controller stopped');
}
