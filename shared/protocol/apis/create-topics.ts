// CreateTopics (key 19), versions 0-7. From v5 a successful answer reports the partition count,
// replication factor and configs the topic really got.
import { api, array, field, bool, int8, int16, int32, string, uuid } from '../schema.ts';

export const CreateTopicsApi = api({
  key: 19,
  name: 'CreateTopics',
  versions: '0-7',
  flexible: '5+',
  request: {
    topics: array({
      name: string,
      numPartitions: int32,
      replicationFactor: int16,
      assignments: array({ partitionIndex: int32, brokerIds: array(int32) }),
      configs: array({ name: string, value: field(string, '0+', { nullable: true }) }),
    }),
    timeoutMs: field(int32, '0+', { default: 60000 }),
    validateOnly: field(bool, '1+'),
  },
  response: {
    throttleTimeMs: field(int32, '2+'),
    topics: array({
      name: string,
      topicId: field(uuid, '7+'),
      errorCode: int16,
      errorMessage: field(string, '1+', { nullable: true }),
      topicConfigErrorCode: field(int16, '5+', { tag: 0 }),
      numPartitions: field(int32, '5+', { default: -1 }),
      replicationFactor: field(int16, '5+', { default: -1 }),
      configs: field(
        array({
          name: string,
          value: field(string, '0+', { nullable: true }),
          readOnly: bool,
          configSource: field(int8, '0+', { default: -1 }),
          isSensitive: bool,
        }),
        '5+',
        { nullable: true },
      ),
    }),
  },
});
