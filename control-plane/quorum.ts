// Joins this controller to its quorum: opens the Raft storage beside the state database, listens
// on the raft port (a quorum of one needs no network), and starts the Raft node over the
// controller's state machine, wrapped as the controller's command log. New clusters are
// bootstrapped with every peer as a voter; a data directory written before the controllers ran
// Raft becomes the first snapshot of a quorum of one.
import { join } from 'node:path';
import { raftIndex, term } from '../shared/ids.ts';
import type { Logger } from '../shared/logger.ts';
import type { QuorumPlan } from './quorum-config.ts';
import { RaftCommandLog } from './raft-command-log.ts';
import { ControllerRaftMachine } from './raft-state-machine.ts';
import { RaftNode } from './raft/node.ts';
import { SqliteRaftStorage } from './raft/sqlite-storage.ts';
import { isEmptyState, type RaftStorage } from './raft/storage.ts';
import { TcpTransport, type PeerAddress, type RaftTransport } from './raft/transport.ts';
import type { ControllerId } from './raft/types.ts';
import type { StateMachine } from './state-machine.ts';

export const RAFT_STORAGE_FILE = 'raft.sqlite';

/** Raft storage cannot be reconciled with the state database beside it. */
export class RaftStorageMismatch extends Error {
  override name = 'RaftStorageMismatch';
}

/**
 * Opens the Raft storage in `dataDir`. When it is empty but the state database already holds
 * applied commands (written before the controllers ran Raft), a quorum of one takes that state as
 * its first snapshot; a larger quorum cannot, because the other members would not hold the same
 * one, so start-up stops.
 */
export function openRaftStorage(
  dataDir: string,
  stateMachine: StateMachine,
  plan: QuorumPlan,
  logger: Logger,
): SqliteRaftStorage {
  const path = join(dataDir, RAFT_STORAGE_FILE);
  const storage = new SqliteRaftStorage(path);
  const applied = stateMachine.appliedIndex;
  if (!isEmptyState(storage.load()) || applied === 0) return storage;

  if (plan.voters.length > 1) {
    storage.close();
    throw new RaftStorageMismatch(
      `${path} holds no raft log, but the state database beside it has applied ${applied} ` +
        'commands; a quorum of several controllers cannot adopt that state: start this ' +
        'controller with an empty dataDir so that it copies the state from the others',
    );
  }

  adoptState(storage, stateMachine, plan.voters);
  logger.info({ index: applied }, 'raft log started from the existing state');
  return storage;
}

function adoptState(
  storage: RaftStorage,
  stateMachine: StateMachine,
  voters: readonly ControllerId[],
): void {
  const index = raftIndex(stateMachine.appliedIndex);
  storage.save({
    hardState: { term: term(1), vote: null, commit: index },
    snapshot: { meta: { index, term: term(1), voters }, data: stateMachine.snapshot() },
    entries: [],
  });
}

/** A quorum of one talks to nobody. */
const soloTransport: RaftTransport = {
  send: () => undefined,
  onMessage: () => undefined,
  close: async () => undefined,
};

/** Listens on the raft port when there are other controllers to talk to. */
export async function openRaftTransport(plan: QuorumPlan, logger: Logger): Promise<RaftTransport> {
  if (plan.raftListen === null) return soloTransport;

  const peers = new Map<ControllerId, PeerAddress>(
    plan.others.map((o) => [o.id, { host: o.raftHost, port: o.raftPort }]),
  );
  return TcpTransport.listen({
    id: plan.id,
    host: plan.raftListen.host,
    port: plan.raftListen.port,
    peers,
    logger: logger.child({ component: 'raft-transport' }),
  });
}

export interface RaftCommandLogStart {
  plan: QuorumPlan;
  storage: RaftStorage;
  transport: RaftTransport;
  stateMachine: StateMachine;
  /** This controller's admin URL, once it listens. */
  adminUrl: () => string | null;
  clock: () => number;
  snapshotEveryEntries: number;
  logger: Logger;
}

/** Starts the Raft node; it begins ticking, and campaigning when due, at once. */
export function startRaftCommandLog(start: RaftCommandLogStart): RaftCommandLog {
  const { plan, logger } = start;
  const machine = new ControllerRaftMachine(start.stateMachine);
  const raft = RaftNode.start({
    id: plan.id,
    storage: start.storage,
    transport: start.transport,
    stateMachine: machine,
    logger,
    bootstrap: plan.voters,
    tickMs: plan.tickMs,
    electionTicks: plan.electionTicks,
    snapshotEveryEntries: start.snapshotEveryEntries,
  });

  return new RaftCommandLog({
    controllerId: plan.id,
    raft,
    machine,
    peerAdminUrls: new Map(plan.others.map((o) => [o.id as number, o.adminUrl])),
    adminUrl: start.adminUrl,
    clock: start.clock,
    logger: logger.child({ component: 'command-log' }),
  });
}
