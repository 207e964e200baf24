// OffsetCommit (key 8), versions 0-9: a group member stores its consumed positions. v1 alone has
// a per-partition commit timestamp; v2-4 a group-wide retention time.
import { api, array, field, int16, int32, int64, string } from '../schema.ts';

export const OffsetCommitApi = api({
  key: 8,
  name: 'OffsetCommit',
  versions: '0-9',
  flexible: '8+',
  request: {
    groupId: string,
    generationIdOrMemberEpoch: field(int32, '1+', { default: -1 }),
    memberId: field(string, '1+'),
    groupInstanceId: field(string, '7+', { nullable: true }),
    retentionTimeMs: field(int64, '2-4', { default: -1n }),
    topics: array({
      name: string,
      partitions: array({
        partitionIndex: int32,
        committedOffset: int64,
        committedLeaderEpoch: field(int32, '6+', { default: -1 }),
        commitTimestamp: field(int64, '1', { default: -1n }),
        committedMetadata: field(string, '0+', { nullable: true }),
      }),
    }),
  },
  response: {
    throttleTimeMs: field(int32, '3+'),
    topics: array({
      name: string,
      partitions: array({ partitionIndex: int32, errorCode: int16 }),
    }),
  },
});
