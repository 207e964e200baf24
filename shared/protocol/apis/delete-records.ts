// DeleteRecords (key 21), versions 0-2: moves partitions' log start offsets forward.
import { api, array, int16, int32, int64, string } from '../schema.ts';

export const DeleteRecordsApi = api({
  key: 21,
  name: 'DeleteRecords',
  versions: '0-2',
  flexible: '2+',
  request: {
    topics: array({
      name: string,
      partitions: array({ partitionIndex: int32, offset: int64 }),
    }),
    timeoutMs: int32,
  },
  response: {
    throttleTimeMs: int32,
    topics: array({
      name: string,
      partitions: array({ partitionIndex: int32, lowWatermark: int64, errorCode: int16 }),
    }),
  },
});
