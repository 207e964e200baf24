// ListOffsets (key 2), versions 0-10: the offset for a timestamp, or the earliest (-2) or latest
// (-1) offset. v0 answers with a list of old-style offsets instead of one offset and timestamp.
import { api, array, field, int8, int16, int32, int64, string } from '../schema.ts';

export const ListOffsetsApi = api({
  key: 2,
  name: 'ListOffsets',
  versions: '0-10',
  flexible: '6+',
  request: {
    replicaId: int32,
    isolationLevel: field(int8, '2+'),
    topics: array({
      name: string,
      partitions: array({
        partitionIndex: int32,
        currentLeaderEpoch: field(int32, '4+', { default: -1 }),
        timestamp: int64,
        maxNumOffsets: field(int32, '0', { default: 1 }),
      }),
    }),
    timeoutMs: field(int32, '10+'),
  },
  response: {
    throttleTimeMs: field(int32, '2+'),
    topics: array({
      name: string,
      partitions: array({
        partitionIndex: int32,
        errorCode: int16,
        oldStyleOffsets: field(array(int64), '0'),
        timestamp: field(int64, '1+', { default: -1n }),
        offset: field(int64, '1+', { default: -1n }),
        leaderEpoch: field(int32, '4+', { default: -1 }),
      }),
    }),
  },
});
