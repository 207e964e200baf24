// OffsetDelete (key 47), version 0 (not flexible): removes committed offsets of chosen partitions
// of a group, refusing partitions of topics that a member of the group still consumes.
import { api, array, int16, int32, string } from '../schema.ts';

export const OffsetDeleteApi = api({
  key: 47,
  name: 'OffsetDelete',
  versions: '0',
  flexible: 'none',
  request: {
    groupId: string,
    topics: array({ name: string, partitions: array({ partitionIndex: int32 }) }),
  },
  response: {
    errorCode: int16,
    throttleTimeMs: int32,
    topics: array({
      name: string,
      partitions: array({ partitionIndex: int32, errorCode: int16 }),
    }),
  },
});
