// Fetch (key 1), versions 0-17: consumers and follower replicas read partitions with it. From v13
// topics are named by topic id instead of name; v15 moves the replica id into a tagged
// replicaState. Records come back as opaque bytes, written into the response buffer as they are.
import {
  api,
  array,
  field,
  int8,
  int16,
  int32,
  int64,
  records,
  string,
  struct,
  uuid,
} from '../schema.ts';

export const FetchApi = api({
  key: 1,
  name: 'Fetch',
  versions: '0-17',
  flexible: '12+',
  request: {
    clusterId: field(string, '12+', { nullable: true, tag: 0, default: null }),
    replicaId: field(int32, '0-14', { default: -1 }),
    replicaState: field(
      struct({
        replicaId: field(int32, '15+', { default: -1 }),
        replicaEpoch: field(int64, '15+', { default: -1n }),
      }),
      '15+',
      { tag: 1 },
    ),
    maxWaitMs: int32,
    minBytes: int32,
    maxBytes: field(int32, '3+', { default: 0x7fffffff }),
    isolationLevel: field(int8, '4+'),
    sessionId: field(int32, '7+'),
    sessionEpoch: field(int32, '7+', { default: -1 }),
    topics: array({
      topic: field(string, '0-12'),
      topicId: field(uuid, '13+'),
      partitions: array({
        partition: int32,
        currentLeaderEpoch: field(int32, '9+', { default: -1 }),
        fetchOffset: int64,
        lastFetchedEpoch: field(int32, '12+', { default: -1 }),
        logStartOffset: field(int64, '5+', { default: -1n }),
        partitionMaxBytes: int32,
        replicaDirectoryId: field(uuid, '17+', { tag: 0 }),
      }),
    }),
    forgottenTopicsData: field(
      array({
        topic: field(string, '7-12'),
        topicId: field(uuid, '13+'),
        partitions: array(int32),
      }),
      '7+',
    ),
    rackId: field(string, '11+'),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: field(int16, '7+'),
    sessionId: field(int32, '7+'),
    responses: array({
      topic: field(string, '0-12'),
      topicId: field(uuid, '13+'),
      partitions: array({
        partitionIndex: int32,
        errorCode: int16,
        highWatermark: int64,
        lastStableOffset: field(int64, '4+', { default: -1n }),
        logStartOffset: field(int64, '5+', { default: -1n }),
        divergingEpoch: field(
          struct({
            epoch: field(int32, '12+', { default: -1 }),
            endOffset: field(int64, '12+', { default: -1n }),
          }),
          '12+',
          { tag: 0 },
        ),
        currentLeader: field(
          struct({
            leaderId: field(int32, '12+', { default: -1 }),
            leaderEpoch: field(int32, '12+', { default: -1 }),
          }),
          '12+',
          { tag: 1 },
        ),
        snapshotId: field(
          struct({
            endOffset: field(int64, '0+', { default: -1n }),
            epoch: field(int32, '0+', { default: -1 }),
          }),
          '12+',
          { tag: 2 },
        ),
        abortedTransactions: field(array({ producerId: int64, firstOffset: int64 }), '4+', {
          nullable: true,
        }),
        preferredReadReplica: field(int32, '11+', { default: -1 }),
        records: field(records, '0+', { nullable: true }),
      }),
    }),
    nodeEndpoints: field(
      array({
        nodeId: int32,
        host: string,
        port: int32,
        rack: field(string, '0+', { nullable: true }),
      }),
      '16+',
      { tag: 0 },
    ),
  },
});
