// Metadata (key 3), versions 0-12: brokers, topics and partition leaders. Topics are null for
// "all topics" from v1 (an empty list meant all in v0); v10 adds topic ids and v12 lets a request
// name topics by id alone.
import { api, array, field, bool, int16, int32, string, uuid } from '../schema.ts';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

export const MetadataApi = api({
  key: 3,
  name: 'Metadata',
  versions: '0-12',
  flexible: '9+',
  request: {
    topics: field(
      array({ topicId: field(uuid, '10+'), name: field(string, '0+', { nullable: '10+' }) }),
      '0+',
      { nullable: '1+' },
    ),
    allowAutoTopicCreation: field(bool, '4+', { default: true }),
    includeClusterAuthorizedOperations: field(bool, '8-10'),
    includeTopicAuthorizedOperations: field(bool, '8+'),
  },
  response: {
    throttleTimeMs: field(int32, '3+'),
    brokers: array({
      nodeId: int32,
      host: string,
      port: int32,
      rack: field(string, '1+', { nullable: '1+' }),
    }),
    clusterId: field(string, '2+', { nullable: '2+' }),
    controllerId: field(int32, '1+', { default: -1 }),
    topics: array({
      errorCode: int16,
      name: field(string, '0+', { nullable: '12+' }),
      topicId: field(uuid, '10+'),
      isInternal: field(bool, '1+'),
      partitions: array({
        errorCode: int16,
        partitionIndex: int32,
        leaderId: int32,
        leaderEpoch: field(int32, '7+', { default: -1 }),
        replicaNodes: array(int32),
        isrNodes: array(int32),
        offlineReplicas: field(array(int32), '5+'),
      }),
      topicAuthorizedOperations: field(int32, '8+', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
    }),
    clusterAuthorizedOperations: field(int32, '8-10', { default: AUTHORIZED_OPERATIONS_UNKNOWN }),
  },
});
