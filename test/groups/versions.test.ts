// Every group API at every version the broker advertises, answered both successfully and with
// errors, through the codec: no response body the coordinator builds fails to encode at the
// version asked (a null protocol name before JoinGroup v7, say, or a missing field).
import { describe, expect, it } from 'vitest';
import { GROUP_API_KEYS } from '../../data-node/groups/coordinator.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey, SUPPORTED_VERSIONS } from '../../shared/protocol/index.ts';
import { groupOn, harness } from './coordinator-harness.ts';

function versions(apiKey: number): number[] {
  const range = SUPPORTED_VERSIONS.get(apiKey)!;
  return Array.from({ length: range.max - range.min + 1 }, (_, i) => range.min + i);
}

const protocols = [{ name: 'range', metadata: Buffer.from('m') }];
const topics = [{ name: 't', partitionIndexes: [0] }];

describe('group APIs at every advertised version', () => {
  it('covers exactly the group API keys', () => {
    expect([...GROUP_API_KEYS].every((key) => SUPPORTED_VERSIONS.has(key))).toBe(true);
  });

  it('JoinGroup, SyncGroup, Heartbeat, LeaveGroup: a full round and refusals', async () => {
    for (const v of versions(ApiKey.JoinGroup)) {
      const h = harness();
      const groupId = groupOn(1, h.view.current);
      const base = {
        groupId,
        sessionTimeoutMs: 6_000,
        rebalanceTimeoutMs: 6_000,
        protocolType: 'consumer',
        protocols,
      };

      let joined = await h.call(ApiKey.JoinGroup, v, { ...base, memberId: '' });
      if (v >= 4)
        joined = await h.call(ApiKey.JoinGroup, v, { ...base, memberId: joined.memberId });
      expect(joined.errorCode, `JoinGroup v${v}`).toBe(0);
      const refused = await h.call(ApiKey.JoinGroup, v, { ...base, memberId: 'ghost' });
      expect(refused.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      expect(refused.protocolName).toBe(v >= 7 ? null : '');

      const syncVersion = Math.min(v, 5);
      const member = { groupId, generationId: joined.generationId, memberId: joined.memberId };
      const synced = await h.call(ApiKey.SyncGroup, syncVersion, {
        ...member,
        assignments: [{ memberId: joined.memberId, assignment: Buffer.from('a') }],
      });
      expect(synced.errorCode).toBe(0);
      expect(
        (await h.call(ApiKey.SyncGroup, syncVersion, { ...member, memberId: 'x' })).errorCode,
      ).toBe(25);

      for (const hv of versions(ApiKey.Heartbeat)) {
        expect((await h.call(ApiKey.Heartbeat, hv, member)).errorCode).toBe(0);
      }
      for (const lv of versions(ApiKey.LeaveGroup)) {
        const left = await h.call(ApiKey.LeaveGroup, lv, {
          groupId,
          memberId: 'ghost',
          members: [{ memberId: 'ghost', groupInstanceId: null }],
        });
        expect(left.errorCode + (left.members[0]?.errorCode ?? 0)).toBe(25);
      }
    }
  });

  it('OffsetCommit and OffsetFetch', async () => {
    const h = harness();
    const groupId = groupOn(1, h.view.current);
    const elsewhere = groupOn(2, h.view.current);

    for (const v of versions(ApiKey.OffsetCommit)) {
      for (const g of [groupId, elsewhere]) {
        const answer = await h.call(ApiKey.OffsetCommit, v, {
          groupId: g,
          generationIdOrMemberEpoch: -1,
          topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: BigInt(v) }] }],
        });
        expect(answer.topics[0].partitions[0].errorCode).toBe(g === groupId ? 0 : 16);
      }
    }
    for (const v of versions(ApiKey.OffsetFetch)) {
      for (const g of [groupId, elsewhere]) {
        const request = { groupId: g, topics, groups: [{ groupId: g, topics }] };
        const answer = await h.call(ApiKey.OffsetFetch, v, request);
        const partition =
          v >= 8 ? answer.groups[0].topics[0]?.partitions[0] : answer.topics[0]?.partitions[0];
        if (g === groupId) expect(partition?.committedOffset, `OffsetFetch v${v}`).toBe(9n);
      }
    }
  });

  it('FindCoordinator, DescribeGroups, ListGroups, DeleteGroups', async () => {
    const h = harness();
    const groupId = groupOn(1, h.view.current);
    for (const v of versions(ApiKey.FindCoordinator)) {
      const answer = await h.call(ApiKey.FindCoordinator, v, {
        key: groupId,
        coordinatorKeys: [groupId],
      });
      expect(v >= 4 ? answer.coordinators[0].nodeId : answer.nodeId).toBe(1);
    }
    for (const v of versions(ApiKey.DescribeGroups)) {
      const answer = await h.call(ApiKey.DescribeGroups, v, { groups: [groupId] });
      expect(answer.groups[0].groupState).toBe('Dead');
    }
    for (const v of versions(ApiKey.ListGroups)) {
      expect((await h.call(ApiKey.ListGroups, v, {})).errorCode).toBe(0);
    }
    for (const v of versions(ApiKey.DeleteGroups)) {
      const answer = await h.call(ApiKey.DeleteGroups, v, { groupsNames: [groupId] });
      expect(answer.results[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    }
  });
});
