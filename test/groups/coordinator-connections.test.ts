// The coordinator told of closed Kafka connections, as the data node's listener tells it: a
// member whose connection closed is removed a grace later (here 1 s) instead of at its session
// timeout (10 s), only groups with members on that connection are affected, and a request handled
// after its connection already closed counts as coming from a closed connection.
import { describe, expect, it } from 'vitest';
import type { RequestConnection } from '../../data-node/groups/coordinator.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { groupOn, harness, settle, type Harness } from './coordinator-harness.ts';

const GRACE_MS = 1_000;

const open = (id: number): RequestConnection => ({ id, closed: false });

function graced(): Harness {
  return harness({ settings: { connectionLossGraceMs: GRACE_MS } });
}

/** One member joined (JoinGroup v1, one round trip) and synced on `connection`. */
async function stableOne(h: Harness, groupId: string, connection: RequestConnection) {
  const join = {
    groupId,
    memberId: '',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
  };
  const joined = await h.call(ApiKey.JoinGroup, 1, join, 'a', connection);
  const { memberId, generationId } = joined;
  const assignments = [{ memberId, assignment: Buffer.from('t:0') }];
  const body = { groupId, generationId, memberId, assignments };
  const synced = await h.call(ApiKey.SyncGroup, 1, body, 'a', connection);
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  return { memberId, generationId };
}

async function stateOf(h: Harness, groupId: string) {
  const described = await h.call(ApiKey.DescribeGroups, 0, { groups: [groupId] });
  const [group] = described.groups;
  return { state: group.groupState, members: group.members.map((m) => m.memberId) };
}

describe('closed connections at the coordinator', () => {
  it('removes a member a grace after its connection closes, not at its session timeout', async () => {
    const h = graced();
    const groupId = groupOn(1, h.view.current);
    const { memberId, generationId } = await stableOne(h, groupId, open(1));

    h.coordinator.connectionClosed(1);
    h.clock.advance(GRACE_MS - 1);
    expect(await stateOf(h, groupId)).toEqual({ state: 'Stable', members: [memberId] });

    h.clock.advance(1);
    await settle();
    expect(await stateOf(h, groupId)).toEqual({ state: 'Empty', members: [] });
    const heartbeat = { groupId, generationId, memberId };
    const late = await h.call(ApiKey.Heartbeat, 0, heartbeat, 'a', open(2));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('keeps a member that heartbeats on a new connection within the grace', async () => {
    const h = graced();
    const groupId = groupOn(1, h.view.current);
    const { memberId, generationId } = await stableOne(h, groupId, open(1));

    h.coordinator.connectionClosed(1);
    h.clock.advance(GRACE_MS / 2);
    const heartbeat = { groupId, generationId, memberId };
    expect((await h.call(ApiKey.Heartbeat, 0, heartbeat, 'a', open(2))).errorCode).toBe(0);
    h.clock.advance(GRACE_MS * 3);

    expect(await stateOf(h, groupId)).toEqual({ state: 'Stable', members: [memberId] });
  });

  it('leaves groups without members on the closed connection alone', async () => {
    const h = graced();
    const groupId = groupOn(1, h.view.current);
    const other = groupOn(1, h.view.current, 'other');
    const { memberId } = await stableOne(h, groupId, open(1));
    await stableOne(h, other, open(2));

    h.coordinator.connectionClosed(2);
    h.clock.advance(GRACE_MS);
    expect(await stateOf(h, groupId)).toEqual({ state: 'Stable', members: [memberId] });
    expect((await stateOf(h, other)).state).toBe('Empty');
  });

  it('treats a request handled after its connection closed as coming from a gone member', async () => {
    const h = graced();
    const groupId = groupOn(1, h.view.current);
    const { memberId, generationId } = await stableOne(h, groupId, open(1));

    // The member moved to connection 2, whose close the listener reported before this heartbeat,
    // read earlier, was handled.
    h.coordinator.connectionClosed(2);
    const heartbeat = { groupId, generationId, memberId };
    const closed = { id: 2, closed: true };
    expect((await h.call(ApiKey.Heartbeat, 0, heartbeat, 'a', closed)).errorCode).toBe(0);

    h.clock.advance(GRACE_MS);
    expect((await stateOf(h, groupId)).state).toBe('Empty');
  });
});
