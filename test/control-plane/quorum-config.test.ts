// The checks a controller makes of its place in the quorum before joining: each problem an
// operator can make in `peers` is named in words, all of them at once, and a valid configuration
// becomes a plan (voters, the other controllers, election timing in ticks).
import { describe, expect, it } from 'vitest';
import {
  planQuorum,
  QuorumConfigError,
  quorumConfigProblems,
  type QuorumConfig,
} from '../../control-plane/quorum-config.ts';

const peers = [1, 2, 3].map((id) => ({
  id,
  host: '10.0.0.' + id,
  adminPort: 9600,
  raftPort: 9700,
}));

function config(extra: Partial<QuorumConfig> = {}): QuorumConfig {
  return {
    controllerId: 2,
    host: '0.0.0.0',
    adminPort: 9600,
    peers,
    raftTickMs: 100,
    electionTimeoutMs: 1000,
    ...extra,
  };
}

describe('quorum configuration', () => {
  it('plans a quorum of every peer, with this controller listening on its own raft port', () => {
    const plan = planQuorum(config());

    expect(plan).toEqual({
      id: 2,
      voters: [1, 2, 3],
      others: [
        { id: 1, raftHost: '10.0.0.1', raftPort: 9700, adminUrl: 'http://10.0.0.1:9600' },
        { id: 3, raftHost: '10.0.0.3', raftPort: 9700, adminUrl: 'http://10.0.0.3:9600' },
      ],
      raftListen: { host: '0.0.0.0', port: 9700 },
      tickMs: 100,
      electionTicks: 10,
    });
  });

  it('runs a quorum of one without peers, or with only itself listed', () => {
    const alone = planQuorum(config({ peers: [] }));
    const listed = planQuorum(config({ peers: [peers[1]!], adminPort: 0 }));

    for (const plan of [alone, listed]) {
      expect(plan).toMatchObject({ voters: [2], others: [], raftListen: null });
    }
  });

  it('refuses a controller that is not among its peers', () => {
    const problems = quorumConfigProblems(config({ controllerId: 4 }));

    expect(problems).toEqual([
      'controllerId 4 is not among peers (ids 1, 2, 3); peers must list every controller, ' +
        'this one included',
    ]);
  });

  it('refuses two peers with one id', () => {
    const twice = [...peers, { ...peers[0]!, host: '10.0.0.9' }];

    expect(quorumConfigProblems(config({ peers: twice }))).toEqual([
      'peers list controller 1 2 times; ids must be unique',
    ]);
  });

  it('refuses a port used twice on one host', () => {
    const shared = peers.map((p) => ({ ...p, host: '127.0.0.1', adminPort: 9600 + p.id }));
    shared[2] = { ...shared[2]!, raftPort: 9601 };

    expect(quorumConfigProblems(config({ peers: shared, adminPort: 9602 }))).toEqual([
      'duplicate port 127.0.0.1:9601 in peers: admin port of controller 1 and raft port of ' +
        'controller 3',
      'duplicate port 127.0.0.1:9700 in peers: raft port of controller 1 and raft port of ' +
        'controller 2',
    ]);
  });

  it('refuses ports of its own that differ from its entry in peers, and port 0', () => {
    const zero = peers.map((p) => (p.id === 3 ? { ...p, raftPort: 0 } : p));

    const problems = quorumConfigProblems(config({ adminPort: 0, raftPort: 9701, peers: zero }));

    expect(problems).toEqual([
      "adminPort 0 differs from this controller's entry in peers (9600); the other " +
        'controllers forward requests there',
      "raftPort 9701 differs from this controller's entry in peers (9700); the other " +
        'controllers send raft messages there',
      'peer 3 has raftPort 0; peers need fixed ports',
    ]);
  });

  it('refuses an election timeout shorter than three ticks', () => {
    expect(quorumConfigProblems(config({ electionTimeoutMs: 250 }))).toEqual([
      'electionTimeoutMs 250 must be at least 3 raft ticks (raftTickMs 100)',
    ]);
  });

  it('names every problem at once when it refuses', () => {
    const attempt = () => planQuorum(config({ controllerId: 7, electionTimeoutMs: 10 }));

    expect(attempt).toThrow(QuorumConfigError);
    expect(attempt).toThrow(/electionTimeoutMs 10 .*; controllerId 7 is not among peers/);
  });
});
