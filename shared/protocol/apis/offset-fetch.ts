// OffsetFetch (key 9), versions 0-9: a group's committed offsets. Up to v7 one group per request
// (topics null for all of them from v2); from v8 several groups, each with its own topics.
import { api, array, field, bool, int16, int32, int64, string } from '../schema.ts';

export const OffsetFetchApi = api({
  key: 9,
  name: 'OffsetFetch',
  versions: '0-9',
  flexible: '6+',
  request: {
    groupId: field(string, '0-7'),
    topics: field(array({ name: string, partitionIndexes: array(int32) }), '0-7', {
      nullable: '2-7',
    }),
    groups: field(
      array({
        groupId: string,
        memberId: field(string, '9+', { nullable: true }),
        memberEpoch: field(int32, '9+', { default: -1 }),
        topics: field(array({ name: string, partitionIndexes: array(int32) }), '0+', {
          nullable: true,
        }),
      }),
      '8+',
    ),
    requireStable: field(bool, '7+'),
  },
  response: {
    throttleTimeMs: field(int32, '3+'),
    topics: field(
      array({
        name: string,
        partitions: array({
          partitionIndex: int32,
          committedOffset: int64,
          committedLeaderEpoch: field(int32, '5+', { default: -1 }),
          metadata: field(string, '0+', { nullable: true }),
          errorCode: int16,
        }),
      }),
      '0-7',
    ),
    errorCode: field(int16, '2-7'),
    groups: field(
      array({
        groupId: string,
        topics: array({
          name: string,
          partitions: array({
            partitionIndex: int32,
            committedOffset: int64,
            committedLeaderEpoch: field(int32, '0+', { default: -1 }),
            metadata: field(string, '0+', { nullable: true }),
            errorCode: int16,
          }),
        }),
        errorCode: int16,
      }),
      '8+',
    ),
  },
});
