// CreatePartitions (key 37), versions 0-3: grows a topic's partition count.
import { api, array, bool, field, int16, int32, string } from '../schema.ts';

export const CreatePartitionsApi = api({
  key: 37,
  name: 'CreatePartitions',
  versions: '0-3',
  flexible: '2+',
  request: {
    topics: array({
      name: string,
      count: int32,
      assignments: field(array({ brokerIds: array(int32) }), '0+', { nullable: true }),
    }),
    timeoutMs: int32,
    validateOnly: bool,
  },
  response: {
    throttleTimeMs: int32,
    results: array({
      name: string,
      errorCode: int16,
      errorMessage: field(string, '0+', { nullable: true }),
    }),
  },
});
