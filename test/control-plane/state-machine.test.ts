// The controller's state machine: commands in, rows out. Refusals carry a typed reason and the
// Kafka error code clients see, and change nothing but the applied index; the same commands give
// the same rows on any two controllers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../control-plane/commands.ts';
import {
  readDataNode,
  readGroupOffsets,
  readMeta,
  readTopic,
  readTopics,
} from '../../control-plane/db/queries.ts';
import { checkPartition } from '../../control-plane/partition-change.ts';
import { applyCommand } from '../../control-plane/state-machine.ts';
import { InvariantError } from '../../shared/assert.ts';
import { Applier, createTopic, dumpState, memoryDb, register } from './helpers.ts';

function clusterOf(nodes: number[], racks: (string | null)[] = []): Applier {
  const applier = new Applier();
  applier.ok({ type: 'initCluster', clusterId: 'test-cluster' });
  nodes.forEach((n, i) => applier.ok(register(n, racks[i] ?? null)));
  return applier;
}

/** State without the applied index, which every command advances, refused or not. */
function stateBesidesIndex(applier: Applier) {
  const { meta, ...rest } = dumpState(applier.db);
  return { ...rest, meta: (meta as { key: string }[]).filter((row) => row.key !== 'appliedIndex') };
}

describe('topic creation', () => {
  it('places replicas on live data nodes, leader first, ISR = replicas, epochs 0', () => {
    const applier = clusterOf([1, 2, 3]);

    const topic = applier.ok(createTopic('orders', 3, 3));

    expect(topic.partitions.map((p) => p.leader).sort()).toEqual([1, 2, 3]);
    for (const p of topic.partitions) {
      expect(new Set(p.replicas).size).toBe(3);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.isr).toEqual(p.replicas);
      expect([p.leaderEpoch, p.partitionEpoch]).toEqual([0, 0]);
    }
    expect(readTopic(applier.db, 'orders')).toEqual(topic);
  });

  it.each([
    ['', 'invalidTopicName'],
    ['.', 'invalidTopicName'],
    ['..', 'invalidTopicName'],
    ['a'.repeat(250), 'invalidTopicName'],
    ['a/b', 'invalidTopicName'],
    ['ü', 'invalidTopicName'],
  ])('refuses the name %j with INVALID_TOPIC_EXCEPTION', (name, reason) => {
    const applier = clusterOf([1]);
    const before = stateBesidesIndex(applier);

    const result = applier.apply(createTopic(name, 1, 1));

    expect(result).toMatchObject({
      ok: false,
      rejection: { reason, errorCode: 17, field: 'name' },
    });
    expect(stateBesidesIndex(applier)).toEqual(before);
  });

  it('accepts a 249-character name', () => {
    expect(clusterOf([1]).apply(createTopic('a'.repeat(249), 1, 1)).ok).toBe(true);
  });

  it("refuses an existing name (36) and one colliding once '.' and '_' are alike (17)", () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('foo.bar', 1, 1, 0));

    const same = applier.apply(createTopic('foo.bar', 1, 1, 1));
    const colliding = applier.apply(createTopic('foo_bar', 1, 1, 2));

    expect(same).toMatchObject({ ok: false, rejection: { reason: 'topicExists', errorCode: 36 } });
    expect(colliding).toMatchObject({
      ok: false,
      rejection: { reason: 'topicNameCollision', errorCode: 17 },
    });
    expect(colliding.ok || colliding.rejection.message).toMatch(/foo\.bar/);
  });

  it.each([
    [{ 'compression.type': 'foo' }, 'configs.compression.type'],
    [{ 'retention.ms': 'abc' }, 'configs.retention.ms'],
    [{ 'no.such.config': '1' }, 'configs.no.such.config'],
  ])('refuses configs %j with INVALID_CONFIG naming the config', (configs, field) => {
    const applier = clusterOf([1]);

    const result = applier.apply({ ...createTopic('t', 1, 1), configs });

    expect(result).toMatchObject({ ok: false, rejection: { errorCode: 40, field } });
    expect(result.ok || result.rejection.message).toContain(field.slice('configs.'.length));
  });

  it('refuses 0 partitions (37) and more replicas than live data nodes (38)', () => {
    const applier = clusterOf([1, 2]);
    applier.ok({ type: 'fenceDataNode', nodeId: 2, brokerEpoch: 3 });

    expect(applier.apply(createTopic('t', 0, 1))).toMatchObject({
      rejection: { reason: 'invalidPartitions', errorCode: 37, field: 'partitions' },
    });
    expect(applier.apply(createTopic('t', 1, 2))).toMatchObject({
      rejection: { reason: 'invalidReplicationFactor', errorCode: 38 },
    });
  });

  it('grows a topic with new partitions and refuses shrinking it', () => {
    const applier = clusterOf([1, 2, 3]);
    applier.ok(createTopic('t', 2, 2));

    const grown = applier.ok({ type: 'createPartitions', topic: 't', count: 5 });
    const shrink = applier.apply({ type: 'createPartitions', topic: 't', count: 4 });

    expect(grown.partitions.map((p) => [p.partition, p.replicas.length])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
      [3, 2],
      [4, 2],
    ]);
    expect(shrink).toMatchObject({ ok: false, rejection: { errorCode: 37 } });
  });
});

describe('data node fencing and registration', () => {
  it('moves leadership of a fenced node to an ISR member and drops it from ISRs', () => {
    const applier = clusterOf([1, 2, 3]);
    const before = applier.ok(createTopic('t', 3, 3));
    const brokerEpoch = readDataNode(applier.db, 1)!.brokerEpoch;

    applier.ok({ type: 'fenceDataNode', nodeId: 1, brokerEpoch });

    const after = readTopic(applier.db, 't')!;
    for (const [i, p] of after.partitions.entries()) {
      const old = before.partitions[i];
      expect(p.isr).not.toContain(1);
      expect(p.leader).not.toBe(1);
      expect(p.leaderEpoch).toBe(old.leaderEpoch + (old.leader === 1 ? 1 : 0));
      expect(p.partitionEpoch).toBe(old.partitionEpoch + 1);
    }
    expect(readDataNode(applier.db, 1)!.fenced).toBe(true);
  });

  it('refuses to fence under an older broker epoch, changing nothing', () => {
    const applier = clusterOf([1, 2]);
    applier.ok(createTopic('t', 1, 2));
    applier.ok(register(1, null, 'restarted'));
    const before = stateBesidesIndex(applier);

    const result = applier.apply({ type: 'fenceDataNode', nodeId: 1, brokerEpoch: 2 });

    expect(result).toMatchObject({ ok: false, rejection: { reason: 'staleBrokerEpoch' } });
    expect(stateBesidesIndex(applier)).toEqual(before);
  });

  it('keeps the last ISR member, leaderless, until it registers again and leads', () => {
    const applier = clusterOf([1, 2]);
    applier.ok(createTopic('t', 1, 1));
    const leader = readTopic(applier.db, 't')!.partitions[0].leader;
    const epoch = readDataNode(applier.db, leader)!.brokerEpoch;

    applier.ok({ type: 'fenceDataNode', nodeId: leader, brokerEpoch: epoch });
    const fenced = readTopic(applier.db, 't')!.partitions[0];
    applier.ok(register(leader, null, 'second'));
    const back = readTopic(applier.db, 't')!.partitions[0];

    expect(fenced).toMatchObject({ leader: -1, isr: [leader], leaderEpoch: 1 });
    expect(back.leader).toBe(leader);
    expect(back.leaderEpoch).toBeGreaterThan(fenced.leaderEpoch);
  });

  it('treats a new incarnation of a live node as a failure first: it loses leadership', () => {
    const applier = clusterOf([1, 2]);
    const before = applier.ok(createTopic('t', 2, 2));
    const led = before.partitions.find((p) => p.leader === 1)!;

    applier.ok(register(1, null, 'restarted'));

    const after = readTopic(applier.db, 't')!.partitions[led.partition];
    expect(after.leader).toBe(2);
    expect(after.isr).toEqual([2]);
    expect(after.leaderEpoch).toBe(led.leaderEpoch + 1);
  });

  it('re-registration of the same incarnation changes only the broker epoch', () => {
    const applier = clusterOf([1, 2]);
    const topic = applier.ok(createTopic('t', 2, 2));

    const { brokerEpoch } = applier.ok(register(1));

    expect(brokerEpoch).toBe(applier.index);
    expect(readTopic(applier.db, 't')).toEqual(topic);
  });

  it('unfencing lets a node lead the leaderless partitions it is in the ISR of', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 1, 1));
    applier.ok({ type: 'fenceDataNode', nodeId: 1, brokerEpoch: 2 });

    applier.ok({ type: 'unfenceDataNode', nodeId: 1, brokerEpoch: 2 });

    expect(readTopic(applier.db, 't')!.partitions[0]).toMatchObject({ leader: 1, leaderEpoch: 2 });
  });

  it('elects outside the ISR only where unclean.leader.election.enable is set', () => {
    const applier = clusterOf([1, 2]);
    for (const [name, unclean] of [
      ['clean', 'false'],
      ['unclean', 'true'],
    ]) {
      const n = name === 'clean' ? 0 : 1;
      applier.ok({
        ...createTopic(name, 1, 2, n),
        configs: { 'unclean.leader.election.enable': unclean },
      });
    }
    // Node 2 leaves every ISR, then the leaders go away as well.
    applier.ok({ type: 'fenceDataNode', nodeId: 2, brokerEpoch: 3 });
    applier.ok({ type: 'fenceDataNode', nodeId: 1, brokerEpoch: 2 });
    applier.ok({ type: 'unfenceDataNode', nodeId: 2, brokerEpoch: 3 });

    expect(readTopic(applier.db, 'clean')!.partitions[0]).toMatchObject({ leader: -1, isr: [1] });
    expect(readTopic(applier.db, 'unclean')!.partitions[0]).toMatchObject({ leader: 2, isr: [2] });
  });
});

describe('ISR changes from partition leaders', () => {
  function setUp() {
    const applier = clusterOf([1, 2, 3]);
    const p = applier.ok(createTopic('t', 1, 3)).partitions[0];
    const epoch = readDataNode(applier.db, p.leader)!.brokerEpoch;
    const request = {
      type: 'changeIsr' as const,
      topic: 't',
      partition: 0,
      nodeId: p.leader,
      brokerEpoch: epoch,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      isr: [p.leader],
    };
    return { applier, p, request };
  }

  it('shrinks the ISR and advances the partition epoch only', () => {
    const { applier, p, request } = setUp();

    const next = applier.ok(request);

    expect(next).toMatchObject({ isr: [p.leader], leaderEpoch: 0, partitionEpoch: 1 });
    expect(readTopic(applier.db, 't')!.partitions[0]).toEqual(next);
  });

  it.each([
    ['stale partition epoch', { partitionEpoch: 7 }, 'stalePartitionEpoch', 108],
    ['stale leader epoch', { leaderEpoch: 5 }, 'fencedLeaderEpoch', 74],
    ['stale broker epoch', { brokerEpoch: 1 }, 'staleBrokerEpoch', 77],
    ['an ISR without the leader', { isr: [] as number[] }, 'invalidIsr', 42],
    ['a non-replica in the ISR', { isr: [9] }, 'invalidIsr', 42],
  ])('refuses %s', (_what, change, reason, errorCode) => {
    const { applier, request } = setUp();
    const before = stateBesidesIndex(applier);

    const result = applier.apply({ ...request, ...change });

    expect(result).toMatchObject({ ok: false, rejection: { reason, errorCode } });
    expect(stateBesidesIndex(applier)).toEqual(before);
  });

  it('refuses a request from a replica that does not lead', () => {
    const { applier, p, request } = setUp();
    const follower = p.replicas.find((id) => id !== p.leader)!;
    const epoch = readDataNode(applier.db, follower)!.brokerEpoch;

    const result = applier.apply({ ...request, nodeId: follower, brokerEpoch: epoch });

    expect(result).toMatchObject({ ok: false, rejection: { reason: 'notLeader', errorCode: 6 } });
  });

  it('refuses to add a fenced replica back (107)', () => {
    const { applier, p, request } = setUp();
    const follower = p.replicas.find((id) => id !== p.leader)!;
    applier.ok({
      type: 'fenceDataNode',
      nodeId: follower,
      brokerEpoch: readDataNode(applier.db, follower)!.brokerEpoch,
    });
    const now = readTopic(applier.db, 't')!.partitions[0];

    const result = applier.apply({
      ...request,
      partitionEpoch: now.partitionEpoch,
      isr: [...now.isr, follower],
    });

    expect(result).toMatchObject({ ok: false, rejection: { reason: 'ineligibleReplica' } });
  });
});

describe('group offsets', () => {
  function commit(offsets: { partition: number; offset: string; metadata?: string }[]) {
    return {
      type: 'commitOffsets' as const,
      commits: [
        {
          groupId: 'g',
          coordinator: null,
          offsets: offsets.map((o) => ({
            topic: 't',
            leaderEpoch: 3,
            metadata: 'ckpt-7',
            ...o,
          })),
        },
      ],
    };
  }

  it('stores offsets, refusing oversized metadata and unknown partitions', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 2, 1));

    const { errorCodes } = applier.ok(
      commit([
        { partition: 0, offset: '42' },
        { partition: 1, offset: '9', metadata: 'x'.repeat(5000) },
        { partition: 2, offset: '9' },
      ]),
    );

    expect(errorCodes).toEqual([[0, 12, 3]]);
    expect(readGroupOffsets(applier.db, 'g', null)).toEqual([
      {
        topic: 't',
        partition: 0,
        offset: 42n,
        leaderEpoch: 3,
        metadata: 'ckpt-7',
        commitTimeMs: expect.any(Number),
      },
    ]);
  });

  it('keeps int64 offsets exact beyond 2^53', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 1, 1));

    applier.ok(commit([{ partition: 0, offset: '9223372036854775807' }]));

    expect(readGroupOffsets(applier.db, 'g', ['t'])[0].offset).toBe(9223372036854775807n);
  });

  it('applies commits of one batch in order, the later one winning', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 1, 1));
    const first = commit([{ partition: 0, offset: '5' }]).commits[0];
    const second = commit([{ partition: 0, offset: '7' }]).commits[0];

    applier.ok({ type: 'commitOffsets', commits: [first, second] });

    expect(readGroupOffsets(applier.db, 'g', null)[0].offset).toBe(7n);
  });

  it('refuses a coordinator whose registration is not current (NOT_COORDINATOR)', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 1, 1));
    const stale = {
      ...commit([{ partition: 0, offset: '5' }]).commits[0],
      coordinator: { nodeId: 1, brokerEpoch: 1 },
    };

    const { errorCodes } = applier.ok({ type: 'commitOffsets', commits: [stale] });

    expect(errorCodes).toEqual([[16]]);
    expect(readGroupOffsets(applier.db, 'g', null)).toEqual([]);
  });

  it('forgets offsets of a deleted topic, and of a group on request', () => {
    const applier = clusterOf([1]);
    applier.ok(createTopic('t', 1, 1, 0));
    applier.ok(createTopic('u', 1, 1, 1));
    applier.ok(commit([{ partition: 0, offset: '5' }]));
    applier.ok({
      type: 'commitOffsets',
      commits: [{ groupId: 'g', coordinator: null, offsets: [offsetFor('u')] }],
    });

    applier.ok({ type: 'deleteTopic', name: 't' });
    expect(readGroupOffsets(applier.db, 'g', null).map((o) => o.topic)).toEqual(['u']);

    expect(applier.ok({ type: 'deleteGroupOffsets', groupId: 'g', topics: null })).toEqual({
      deleted: 1,
    });
  });

  function offsetFor(topic: string) {
    return { topic, partition: 0, offset: '1', leaderEpoch: -1, metadata: '' };
  }
});

describe('cluster id and the applied index', () => {
  it('keeps the first cluster id and refuses another', () => {
    const applier = clusterOf([]);

    const again = applier.apply({ type: 'initCluster', clusterId: 'test-cluster' });
    const other = applier.apply({ type: 'initCluster', clusterId: 'other' });

    expect(again.ok).toBe(true);
    expect(other).toMatchObject({ ok: false, rejection: { reason: 'clusterIdMismatch' } });
  });

  it('advances the applied index on refusals too, and asserts commands come in order', () => {
    const applier = clusterOf([1]);
    applier.apply(createTopic('', 1, 1));
    expect(readMeta(applier.db, 'appliedIndex')).toBe(applier.index);

    const skip = () => applyCommand(applier.db, applier.index + 2, register(5), 0);
    expect(skip).toThrow(InvariantError);
  });
});

// Determinism: abstract operations are turned into concrete commands against one controller's
// state, and the same commands are applied to a second controller. Partition invariants are
// checked after every command.
type Op =
  | { op: 'register'; node: number; incarnation: string; rack: string | null }
  | { op: 'fence' | 'unfence'; node: number; stale: boolean }
  | { op: 'create'; topic: string; partitions: number; replicationFactor: number }
  | { op: 'delete'; topic: string }
  | { op: 'shrinkIsr'; topic: string }
  | { op: 'elect'; election: 'preferred' | 'unclean' }
  | { op: 'commit'; topic: string; offset: number };

const topicName = fc.constantFrom('a', 'b', 'c');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('register' as const),
    node: fc.integer({ min: 1, max: 5 }),
    incarnation: fc.constantFrom('x', 'y'),
    rack: fc.constantFrom(null, 'r1', 'r2'),
  }),
  fc.record({
    op: fc.constantFrom('fence' as const, 'unfence' as const),
    node: fc.integer({ min: 1, max: 5 }),
    stale: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('create' as const),
    topic: topicName,
    partitions: fc.integer({ min: 1, max: 4 }),
    replicationFactor: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ op: fc.constant('delete' as const), topic: topicName }),
  fc.record({ op: fc.constant('shrinkIsr' as const), topic: topicName }),
  fc.record({
    op: fc.constant('elect' as const),
    election: fc.constantFrom('preferred', 'unclean'),
  }),
  fc.record({
    op: fc.constant('commit' as const),
    topic: topicName,
    offset: fc.integer({ min: 0, max: 1000 }),
  }),
);

function toCommand(applier: Applier, op: Op, n: number): Command {
  const db = applier.db;
  switch (op.op) {
    case 'register':
      return { ...register(op.node, op.rack, op.incarnation) };
    case 'fence':
    case 'unfence': {
      const epoch = readDataNode(db, op.node)?.brokerEpoch ?? 0;
      const type = op.op === 'fence' ? 'fenceDataNode' : 'unfenceDataNode';
      return { type, nodeId: op.node, brokerEpoch: op.stale ? epoch - 1 : epoch };
    }
    case 'create':
      return { ...createTopic(op.topic, op.partitions, op.replicationFactor), topicId: uuid(n) };
    case 'delete':
      return { type: 'deleteTopic', name: op.topic };
    case 'shrinkIsr': {
      const p = readTopic(db, op.topic)?.partitions[0];
      const leader = p?.leader ?? -1;
      return {
        type: 'changeIsr',
        topic: op.topic,
        partition: 0,
        nodeId: Math.max(0, leader),
        brokerEpoch: readDataNode(db, leader)?.brokerEpoch ?? 0,
        leaderEpoch: p?.leaderEpoch ?? 0,
        partitionEpoch: p?.partitionEpoch ?? 0,
        isr: [Math.max(0, leader)],
      };
    }
    case 'elect':
      return { type: 'electLeaders', election: op.election, partitions: null };
    case 'commit':
      return {
        type: 'commitOffsets',
        commits: [
          {
            groupId: 'g',
            coordinator: null,
            offsets: [
              {
                topic: op.topic,
                partition: 0,
                offset: String(op.offset),
                leaderEpoch: 0,
                metadata: '',
              },
            ],
          },
        ],
      };
  }
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

describe('determinism', () => {
  it('gives the same rows on two controllers applying the same commands', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const first = new Applier(memoryDb());
        const second = new Applier(memoryDb());

        ops.forEach((op, n) => {
          const command = toCommand(first, op, n);
          expect(second.apply(command)).toEqual(first.apply(command));
          checkInvariants(first);
        });

        expect(dumpState(second.db)).toEqual(dumpState(first.db));
      }),
      { numRuns: 60 },
    );
  });
});

function checkInvariants(applier: Applier): void {
  for (const topic of readTopics(applier.db)) {
    for (const p of topic.partitions) {
      checkPartition(p);
      if (p.leader !== -1) expect(readDataNode(applier.db, p.leader)?.fenced).toBe(false);
    }
  }
}
