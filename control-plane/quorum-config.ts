// Checks a controller's view of its quorum before it joins, and turns it into a plan: who votes,
// where the other controllers' raft ports and admin APIs are, and the election timing in ticks.
// `peers` lists every controller, this one included, with the same list on each; an empty list
// (or this controller alone) is a quorum of one. Each problem found is named in words an operator
// can act on, and all of them are reported together.
import type { ControllerId } from '../shared/ids.ts';
import { controllerId } from '../shared/ids.ts';

export interface PeerConfig {
  id: number;
  host: string;
  adminPort: number;
  raftPort: number;
}

/** The part of the controller's configuration that shapes the quorum. */
export interface QuorumConfig {
  controllerId: number;
  host: string;
  adminPort: number;
  raftPort?: number;
  peers: readonly PeerConfig[];
  raftTickMs: number;
  electionTimeoutMs: number;
}

export interface OtherController {
  id: ControllerId;
  raftHost: string;
  raftPort: number;
  adminUrl: string;
}

export interface QuorumPlan {
  id: ControllerId;
  /** The voters a new cluster starts with, sorted. */
  voters: ControllerId[];
  others: OtherController[];
  /** Where this controller's raft port listens; null in a quorum of one, which needs none. */
  raftListen: { host: string; port: number } | null;
  tickMs: number;
  electionTicks: number;
}

/** The configuration cannot form a quorum; the message names every problem. */
export class QuorumConfigError extends Error {
  override name = 'QuorumConfigError';

  constructor(readonly problems: readonly string[]) {
    super(`controller configuration: ${problems.join('; ')}`);
  }
}

/** Fewest ticks in an election timeout: a leader must beat it with heartbeats, one per tick. */
const ELECTION_TICKS_MIN = 3;

/** A quorum of one campaigns after this many ticks: nobody else can interrupt it. */
const SOLO_ELECTION_TICKS = 2;

export function quorumConfigProblems(config: QuorumConfig): string[] {
  const problems = [...duplicateIds(config.peers), ...timingProblems(config)];
  if (config.peers.length === 0) return problems;

  const self = config.peers.find((p) => p.id === config.controllerId);
  if (self === undefined) {
    const ids = config.peers.map((p) => p.id).join(', ');
    problems.push(
      `controllerId ${config.controllerId} is not among peers (ids ${ids}); ` +
        'peers must list every controller, this one included',
    );
  } else {
    problems.push(...selfProblems(config, self));
  }

  if (config.peers.length > 1) problems.push(...portProblems(config.peers));
  return problems;
}

/** The plan for a valid configuration; throws QuorumConfigError naming what is wrong. */
export function planQuorum(config: QuorumConfig): QuorumPlan {
  const problems = quorumConfigProblems(config);
  if (problems.length > 0) throw new QuorumConfigError(problems);

  const others = config.peers
    .filter((p) => p.id !== config.controllerId)
    .map((p) => ({
      id: controllerId(p.id),
      raftHost: p.host,
      raftPort: p.raftPort,
      adminUrl: adminUrlOf(p.host, p.adminPort),
    }));
  const voters = [config.controllerId, ...others.map((o) => o.id)].sort((a, b) => a - b);

  const self = config.peers.find((p) => p.id === config.controllerId);
  const raftPort = config.raftPort ?? self?.raftPort ?? 0;
  const solo = others.length === 0;
  return {
    id: controllerId(config.controllerId),
    voters: voters.map(controllerId),
    others,
    raftListen: solo ? null : { host: config.host, port: raftPort },
    tickMs: config.raftTickMs,
    electionTicks: solo
      ? SOLO_ELECTION_TICKS
      : Math.round(config.electionTimeoutMs / config.raftTickMs),
  };
}

export function adminUrlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function duplicateIds(peers: readonly PeerConfig[]): string[] {
  const counts = new Map<number, number>();
  for (const p of peers) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);

  return [...counts]
    .filter(([, count]) => count > 1)
    .map(([id, count]) => `peers list controller ${id} ${count} times; ids must be unique`);
}

function timingProblems(config: QuorumConfig): string[] {
  if (config.electionTimeoutMs >= ELECTION_TICKS_MIN * config.raftTickMs) return [];
  return [
    `electionTimeoutMs ${config.electionTimeoutMs} must be at least ${ELECTION_TICKS_MIN} ` +
      `raft ticks (raftTickMs ${config.raftTickMs})`,
  ];
}

/** This controller's own entry must match where it listens, or the others cannot reach it. */
function selfProblems(config: QuorumConfig, self: PeerConfig): string[] {
  const problems: string[] = [];
  const solo = config.peers.length === 1;

  if (!solo && config.adminPort !== self.adminPort) {
    problems.push(
      `adminPort ${config.adminPort} differs from this controller's entry in peers ` +
        `(${self.adminPort}); the other controllers forward requests there`,
    );
  }
  if (!solo && config.raftPort !== undefined && config.raftPort !== self.raftPort) {
    problems.push(
      `raftPort ${config.raftPort} differs from this controller's entry in peers ` +
        `(${self.raftPort}); the other controllers send raft messages there`,
    );
  }
  return problems;
}

/** No port of one controller may be zero, nor shared with any other listener on its host. */
function portProblems(peers: readonly PeerConfig[]): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string[]>();

  for (const p of peers) {
    for (const [kind, port] of [
      ['admin', p.adminPort],
      ['raft', p.raftPort],
    ] as const) {
      if (port === 0) problems.push(`peer ${p.id} has ${kind}Port 0; peers need fixed ports`);
      const key = `${p.host}:${port}`;
      owners.set(key, [...(owners.get(key) ?? []), `${kind} port of controller ${p.id}`]);
    }
  }

  for (const [address, users] of owners) {
    if (users.length > 1 && !address.endsWith(':0')) {
      problems.push(`duplicate port ${address} in peers: ${users.join(' and ')}`);
    }
  }
  return problems;
}
