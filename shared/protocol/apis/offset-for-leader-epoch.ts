// OffsetForLeaderEpoch (key 23), versions 0-4: the end offset of a leader epoch, which followers
// and consumers use to find where their log diverged from the leader's.
import { api, array, field, int16, int32, int64, string } from '../schema.ts';

export const OffsetForLeaderEpochApi = api({
  key: 23,
  name: 'OffsetForLeaderEpoch',
  versions: '0-4',
  flexible: '4+',
  request: {
    replicaId: field(int32, '3+', { default: -2 }),
    topics: array({
      topic: string,
      partitions: array({
        partition: int32,
        currentLeaderEpoch: field(int32, '2+', { default: -1 }),
        leaderEpoch: int32,
      }),
    }),
  },
  response: {
    throttleTimeMs: field(int32, '2+'),
    topics: array({
      topic: string,
      partitions: array({
        errorCode: int16,
        partition: int32,
        leaderEpoch: field(int32, '1+', { default: -1 }),
        endOffset: field(int64, '0+', { default: -1n }),
      }),
    }),
  },
});
