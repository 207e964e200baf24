// The group coordinator as a client sees it, request and response bytes through the codec: who
// coordinates a group, JoinGroup answered when the rebalance completes, the member id handshake
// by version (case P2), committed offsets round trip (case P6), zombie commits refused, commits
// stored in order, and the group listing, description and deletion APIs.
import { describe, expect, it } from 'vitest';
import { MemoryOffsetStore, type CommittedOffset } from '../../data-node/groups/offset-store.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import {
  dataNode,
  groupOn,
  harness,
  isSettled,
  settle,
  snapshot,
  type Harness,
} from './coordinator-harness.ts';

const consumer = (metadata = 'sub') => ({
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from(metadata) }],
});

/** Joins one dynamic member the v4+ way (MEMBER_ID_REQUIRED, then again with the id). */
async function joinV5(h: Harness, groupId: string, clientId: string) {
  const body = { groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, ...consumer() };
  const first = await h.call(ApiKey.JoinGroup, 5, { ...body, memberId: '' }, clientId);
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  return h.call(ApiKey.JoinGroup, 5, { ...body, memberId: first.memberId }, clientId);
}

/** A stable group of one member; returns its member id and generation. */
async function stableOne(h: Harness, groupId: string) {
  const joined = await joinV5(h, groupId, 'a');
  const synced = await h.call(ApiKey.SyncGroup, 3, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('t:0,1,2') }],
  });
  expect(synced).toMatchObject({ errorCode: 0, assignment: Buffer.from('t:0,1,2') });
  return { memberId: joined.memberId, generationId: joined.generationId };
}

describe('FindCoordinator', () => {
  it('names the same live node for a group on every node, and skips fenced nodes', async () => {
    const answers = await Promise.all(
      [1, 2, 3].map((nodeId) =>
        harness({ nodeId }).call(ApiKey.FindCoordinator, 2, { key: 'orders' }),
      ),
    );
    expect(new Set(answers.map((a) => a.nodeId)).size).toBe(1);
    expect(answers[0]).toMatchObject({ errorCode: 0, host: '127.0.0.1' });
    expect(answers[0].port).toBe(19300 + answers[0].nodeId);

    const h = harness();
    const onTwo = groupOn(2, h.view.current);
    h.view.current = snapshot([dataNode(1), dataNode(2, true), dataNode(3)]);
    const moved = await h.call(ApiKey.FindCoordinator, 1, { key: onTwo, keyType: 0 });
    expect([1, 3]).toContain(moved.nodeId);
  });

  it('answers every key from v4, and COORDINATOR_NOT_AVAILABLE without live nodes', async () => {
    const h = harness();
    const batched = await h.call(ApiKey.FindCoordinator, 4, { coordinatorKeys: ['a', 'b'] });
    expect(batched.coordinators.map((c) => [c.key, c.errorCode])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);

    h.view.current = snapshot([dataNode(1, true)]);
    const none = await h.call(ApiKey.FindCoordinator, 6, { coordinatorKeys: ['a'] });
    expect(none.coordinators[0]).toMatchObject({ errorCode: 15, nodeId: -1, port: -1 });
  });

  it('a node asked about a group it does not coordinate answers NOT_COORDINATOR', async () => {
    const h = harness({ nodeId: 1 });
    const elsewhere = groupOn(2, h.view.current);
    const join = { groupId: elsewhere, memberId: '', sessionTimeoutMs: 10_000, ...consumer() };

    expect((await h.call(ApiKey.JoinGroup, 3, join)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    const fetched = await h.call(ApiKey.OffsetFetch, 5, { groupId: elsewhere, topics: null });
    expect(fetched.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    const old = await h.call(ApiKey.OffsetFetch, 1, {
      groupId: elsewhere,
      topics: [{ name: 't', partitionIndexes: [0] }],
    });
    expect(old.topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  });
});

describe('JoinGroup through the coordinator', () => {
  it('P2: v1-3 join at once; v4+ get MEMBER_ID_REQUIRED; static members do not', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const body = { groupId: g, memberId: '', sessionTimeoutMs: 10_000, ...consumer() };

    for (const version of [1, 2, 3]) {
      const h2 = harness();
      const joined = await h2.call(ApiKey.JoinGroup, version, body);
      expect(joined).toMatchObject({ errorCode: 0, generationId: 1 });
      expect(joined.memberId).toMatch(/^client-/);
    }
    for (const version of [4, 6, 9]) {
      const refused = await h.call(ApiKey.JoinGroup, version, body);
      expect(refused).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, generationId: -1 });
      expect(refused.memberId).not.toBe('');
    }
    const h3 = harness();
    const staticJoin = await h3.call(ApiKey.JoinGroup, 5, { ...body, groupInstanceId: 'host-1' });
    expect(staticJoin).toMatchObject({ errorCode: 0, generationId: 1 });
  });

  it('P2: an assigned member id never used expires after the session timeout', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const body = { groupId: g, memberId: '', sessionTimeoutMs: 10_000, ...consumer() };
    const first = await h.call(ApiKey.JoinGroup, 4, body);

    h.clock.advance(10_000);
    const late = await h.call(ApiKey.JoinGroup, 4, { ...body, memberId: first.memberId });
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(h.clock.pending).toBe(0);
  });

  it('answers JoinGroup when the rebalance completes, serving others meanwhile', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const a = await stableOne(h, g);

    const joiningB = joinV5(h, g, 'b');
    expect(await isSettled(joiningB)).toBe(false);

    const beat = await h.call(ApiKey.Heartbeat, 3, { groupId: g, ...a });
    expect(beat.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const described = await h.call(ApiKey.DescribeGroups, 5, { groups: [g] });
    expect(described.groups[0].groupState).toBe('PreparingRebalance');

    const rejoinA = await h.call(ApiKey.JoinGroup, 5, {
      groupId: g,
      memberId: a.memberId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      ...consumer(),
    });
    const b = await joiningB;
    expect(rejoinA).toMatchObject({ errorCode: 0, generationId: 2, leader: a.memberId });
    expect(rejoinA.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
    expect(b).toMatchObject({ errorCode: 0, generationId: 2, leader: a.memberId, members: [] });
  });

  it('serves flexible versions: JoinGroup 9, SyncGroup 5, Heartbeat 4, LeaveGroup 5', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const body = {
      groupId: g,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      ...consumer(),
    };
    const first = await h.call(ApiKey.JoinGroup, 9, { ...body, memberId: '', reason: 'start' });
    const joined = await h.call(ApiKey.JoinGroup, 9, { ...body, memberId: first.memberId });
    expect(joined).toMatchObject({ protocolType: 'consumer', protocolName: 'range' });

    const member = { groupId: g, generationId: 1, memberId: joined.memberId };
    const wrongName = await h.call(ApiKey.SyncGroup, 5, { ...member, protocolName: 'roundrobin' });
    expect(wrongName.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const synced = await h.call(ApiKey.SyncGroup, 5, {
      ...member,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from('x') }],
    });
    expect(synced).toMatchObject({
      errorCode: 0,
      protocolName: 'range',
      assignment: Buffer.from('x'),
    });
    expect((await h.call(ApiKey.Heartbeat, 4, member)).errorCode).toBe(0);

    const left = await h.call(ApiKey.LeaveGroup, 5, {
      groupId: g,
      members: [
        { memberId: joined.memberId, reason: 'bye' },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(left.errorCode).toBe(0);
    expect(left.members.map((m) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
  });

  it('answers a waiting JoinGroup with NOT_COORDINATOR when the group moves away', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const a = await stableOne(h, g);
    const joiningB = joinV5(h, g, 'b');
    await settle();

    h.view.current = snapshot([dataNode(1, true), dataNode(2), dataNode(3)]);
    h.coordinator.onMetadataChange();
    await expect(joiningB).resolves.toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
    expect(h.clock.pending).toBe(0);

    const beat = await h.call(ApiKey.Heartbeat, 1, { groupId: g, ...a });
    expect(beat.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  });

  it('LeaveGroup v0-2 answers the member error at the top level', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const a = await stableOne(h, g);

    const ghost = await h.call(ApiKey.LeaveGroup, 1, { groupId: g, memberId: 'ghost' });
    expect(ghost.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const left = await h.call(ApiKey.LeaveGroup, 0, { groupId: g, memberId: a.memberId });
    expect(left.errorCode).toBe(0);
  });
});

describe('committed offsets (case P6)', () => {
  async function commitP6(h: Harness, g: string, metadata = 'ckpt-7') {
    return h.call(ApiKey.OffsetCommit, 7, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42n,
              committedLeaderEpoch: 3,
              committedMetadata: metadata,
            },
          ],
        },
      ],
    });
  }

  it('round trips offset, leader epoch and metadata; unknown partitions answer -1', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const committed = await commitP6(h, g);
    expect(committed.topics[0].partitions[0].errorCode).toBe(0);

    const asked = await h.call(ApiKey.OffsetFetch, 5, {
      groupId: g,
      topics: [{ name: 't', partitionIndexes: [0, 1] }],
    });
    expect(asked.errorCode).toBe(0);
    expect(asked.topics[0].partitions).toEqual([
      {
        partitionIndex: 0,
        committedOffset: 42n,
        committedLeaderEpoch: 3,
        metadata: 'ckpt-7',
        errorCode: 0,
      },
      {
        partitionIndex: 1,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: 0,
      },
    ]);

    const all = await h.call(ApiKey.OffsetFetch, 7, { groupId: g, topics: null });
    expect(all.topics).toEqual([{ name: 't', partitions: [asked.topics[0].partitions[0]] }]);
  });

  it('answers batched groups from v8, an unknown group with -1 and no error', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const unknown = groupOn(1, h.view.current, 'never-');
    await commitP6(h, g);

    const fetched = await h.call(ApiKey.OffsetFetch, 8, {
      groups: [
        { groupId: g, topics: null },
        { groupId: unknown, topics: [{ name: 't', partitionIndexes: [0] }] },
      ],
    });
    expect(fetched.groups[0]).toMatchObject({ groupId: g, errorCode: 0 });
    expect(fetched.groups[0].topics[0].partitions[0]).toMatchObject({ committedOffset: 42n });
    expect(fetched.groups[1]).toEqual({
      groupId: unknown,
      errorCode: 0,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: -1n,
              committedLeaderEpoch: -1,
              metadata: '',
              errorCode: 0,
            },
          ],
        },
      ],
    });
  });

  it('refuses metadata over 4096 bytes (OFFSET_METADATA_TOO_LARGE), storing nothing', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    await commitP6(h, g);

    const big = await commitP6(h, g, 'm'.repeat(5_000));
    expect(big.topics[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    expect(await h.store.fetch(g, null)).toEqual([
      { topic: 't', partition: 0, offset: 42n, leaderEpoch: 3, metadata: 'ckpt-7' },
    ]);
  });

  it('refuses partitions the cluster does not have', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const answer = await h.call(ApiKey.OffsetCommit, 2, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 9, committedOffset: 1n }] },
        { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
      ],
    });
    expect(answer.topics.map((t) => t.partitions[0].errorCode)).toEqual([3, 3]);
  });

  it('refuses commits of zombies: an older generation, an unknown member', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const a = await stableOne(h, g);
    const commit = (generationIdOrMemberEpoch: number, memberId: string) =>
      h.call(ApiKey.OffsetCommit, 5, {
        groupId: g,
        generationIdOrMemberEpoch,
        memberId,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n }] }],
      });

    const old = await commit(a.generationId - 1, a.memberId);
    expect(old.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const ghost = await commit(a.generationId, 'ghost');
    expect(ghost.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const simple = await commit(-1, '');
    expect(simple.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await h.store.fetch(g, null)).toEqual([]);

    const good = await commit(a.generationId, a.memberId);
    expect(good.topics[0].partitions[0].errorCode).toBe(0);

    const unknownGroup = groupOn(1, h.view.current, 'fresh-');
    const stale = await h.call(ApiKey.OffsetCommit, 5, {
      groupId: unknownGroup,
      generationIdOrMemberEpoch: 3,
      memberId: 'm',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n }] }],
    });
    expect(stale.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('stores the commits of a group in the order they arrived, and reads after them', async () => {
    const store = new GatedStore();
    const h = harness({ store });
    const g = groupOn(1, h.view.current);
    const commit = (offset: bigint) =>
      h.call(ApiKey.OffsetCommit, 2, {
        groupId: g,
        generationIdOrMemberEpoch: -1,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset }] }],
      });

    const first = commit(10n);
    const second = commit(20n);
    const fetched = h.call(ApiKey.OffsetFetch, 3, { groupId: g, topics: null });
    await settle();
    expect(store.started).toEqual(['commit 10']);

    store.release();
    await settle();
    expect(store.started).toEqual(['commit 10', 'commit 20']);
    store.release();
    await Promise.all([first, second]);

    const answer = await fetched;
    expect(answer.topics[0].partitions[0].committedOffset).toBe(20n);
  });

  it('names this node and its broker epoch as the committing coordinator', async () => {
    const store = new MemoryOffsetStore();
    const seen: unknown[] = [];
    const commit = store.commit.bind(store);
    store.commit = (groupId, offsets, coordinator) => {
      seen.push(coordinator);
      return commit(groupId, offsets, coordinator);
    };
    const h = harness({ nodeId: 2, store });
    const g = groupOn(2, h.view.current);

    await h.call(ApiKey.OffsetCommit, 2, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    expect(seen).toEqual([{ nodeId: 2, brokerEpoch: 12 }]);
  });

  it('answers COORDINATOR_NOT_AVAILABLE when the controller cannot be reached', async () => {
    const failing = new MemoryOffsetStore();
    const { KafkaError } = await import('../../shared/kafka-errors.ts');
    const down = () => Promise.reject(new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    failing.commit = down;
    failing.fetch = down;
    const h = harness({ store: failing });
    const g = groupOn(1, h.view.current);

    const committed = await h.call(ApiKey.OffsetCommit, 8, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    expect(committed.topics[0].partitions[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const fetched = await h.call(ApiKey.OffsetFetch, 9, { groups: [{ groupId: g, topics: null }] });
    expect(fetched.groups[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('listing, describing and deleting groups', () => {
  it('describes members and assignments of a stable group, and lists it by state', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    const a = await stableOne(h, g);

    const described = await h.call(ApiKey.DescribeGroups, 4, { groups: [g, 'unknown-group'] });
    expect(described.groups[0]).toMatchObject({
      errorCode: 0,
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(described.groups[0].members).toEqual([
      {
        memberId: a.memberId,
        groupInstanceId: null,
        clientId: 'a',
        clientHost: '/127.0.0.1',
        memberMetadata: Buffer.from('sub'),
        memberAssignment: Buffer.from('t:0,1,2'),
      },
    ]);
    const unknown = described.groups[1];
    expect(unknown.errorCode === ErrorCode.NOT_COORDINATOR || unknown.groupState === 'Dead').toBe(
      true,
    );

    const listed = await h.call(ApiKey.ListGroups, 4, { statesFilter: ['stable'] });
    const rows = listed.groups.map((l) => [l.groupId, l.protocolType, l.groupState]);
    expect(rows).toEqual([[g, 'consumer', 'Stable']]);
    const empty = await h.call(ApiKey.ListGroups, 4, { statesFilter: ['Empty'] });
    expect(empty.groups).toEqual([]);
  });

  it('deletes only groups without members, with their offsets', async () => {
    const h = harness();
    const busy = groupOn(1, h.view.current, 'busy-');
    const idle = groupOn(1, h.view.current, 'idle-');
    const missing = groupOn(1, h.view.current, 'missing-');
    await stableOne(h, busy);
    await h.store.commit(idle, [offset(7n)], null);

    const answer = await h.call(ApiKey.DeleteGroups, 2, { groupsNames: [busy, idle, missing] });
    expect(answer.results).toEqual([
      { groupId: busy, errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: idle, errorCode: 0 },
      { groupId: missing, errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    expect(await h.store.fetch(idle, null)).toEqual([]);
  });

  it('lists a group that only received simple commits', async () => {
    const h = harness();
    const g = groupOn(1, h.view.current);
    await h.call(ApiKey.OffsetCommit, 1, {
      groupId: g,
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 3n }] }],
    });

    const listed = await h.call(ApiKey.ListGroups, 0, {});
    expect(listed.groups.map((l) => [l.groupId, l.protocolType])).toEqual([[g, '']]);
  });
});

function offset(value: bigint): CommittedOffset {
  return { topic: 't', partition: 0, offset: value, leaderEpoch: -1, metadata: '' };
}

/** A store whose commits wait until released, one at a time, recording when each started. */
class GatedStore extends MemoryOffsetStore {
  readonly started: string[] = [];
  private gates: (() => void)[] = [];

  override async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<number[]> {
    this.started.push(`commit ${offsets[0].offset}`);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return super.commit(groupId, offsets);
  }

  release(): void {
    this.gates.shift()?.();
  }
}
