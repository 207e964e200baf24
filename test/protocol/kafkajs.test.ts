// Cross-check against kafkajs, an independent implementation of the same protocol, for every
// version kafkajs speaks. Requests: kafkajs encodes, Weir decodes every byte, names the values
// where the Kafka schema puts them, and re-encodes the same bytes. Responses: Weir encodes, kafkajs
// decodes every byte and finds every value Weir put on the wire.
import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  ApiKey,
  encodeRequest,
  encodeResponse,
  readRequestBody,
} from '../../shared/protocol/index.ts';
import { isFlexibleAt, leavesOf, wireScalars } from './from-description.ts';
import {
  consumedByKafkajs,
  kafkajsDecodeResponse,
  kafkajsRecordBatch,
  kafkajsRequestBytes,
  kafkajsVersions,
} from './kafkajs-peer.ts';

type Body = Record<string, unknown>;
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Case {
  folder: string;
  key: number;
  /** Arguments of kafkajs's request builder (a superset across versions). */
  args: unknown;
  /** What Weir must find in the decoded request, by Kafka's field names. */
  request(body: Any, version: number): void;
  /** A response body with distinct values, so a swapped field shows up. */
  response: Body;
}

const META = Buffer.from('member-metadata');
const ASSIGNMENT = Buffer.from('member-assignment');

const cases: Case[] = [
  {
    folder: 'produce',
    key: ApiKey.Produce,
    args: {
      acks: -1,
      timeout: 30_000,
      transactionalId: 'tx-1',
      topicData: [{ topic: 'orders', partitions: [{ partition: 3, messages: [{ value: 'v' }] }] }],
    },
    request(body, version) {
      expect(body.acks).toBe(-1);
      expect(body.timeoutMs).toBe(30_000);
      expect(body.transactionalId).toBe(version >= 3 ? 'tx-1' : null);
      expect(body.topicData[0].name).toBe('orders');
      expect(body.topicData[0].partitionData[0].index).toBe(3);
      expect(body.topicData[0].partitionData[0].records.length).toBeGreaterThan(0);
    },
    response: {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            {
              index: 3,
              errorCode: 0,
              baseOffset: 1234n,
              logAppendTimeMs: 5678n,
              logStartOffset: 91n,
            },
          ],
        },
      ],
      throttleTimeMs: 17,
    },
  },
  {
    folder: 'fetch',
    key: ApiKey.Fetch,
    args: {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 1024,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: 'rack-a',
      topics: [
        { topic: 'orders', partitions: [{ partition: 2, fetchOffset: '77', maxBytes: 4096 }] },
      ],
    },
    request(body, version) {
      expect(body.maxWaitMs).toBe(500);
      expect(body.minBytes).toBe(1);
      expect(body.topics[0].topic).toBe('orders');
      expect(body.topics[0].partitions[0].fetchOffset).toBe(77n);
      expect(body.topics[0].partitions[0].partitionMaxBytes).toBe(4096);
      if (version >= 3) expect(body.maxBytes).toBe(1024);
      if (version >= 11) expect(body.rackId).toBe('rack-a');
    },
    response: {
      throttleTimeMs: 19,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 2,
              errorCode: 0,
              highWatermark: 80n,
              lastStableOffset: 79n,
              logStartOffset: 5n,
              abortedTransactions: [{ producerId: 4321n, firstOffset: 60n }],
              preferredReadReplica: -1,
              records: null, // replaced by a kafkajs batch below
            },
          ],
        },
      ],
    },
  },
  {
    folder: 'listOffsets',
    key: ApiKey.ListOffsets,
    args: {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 4, timestamp: -2 }] }],
    },
    request(body, version) {
      expect(body.replicaId).toBe(-1);
      expect(body.topics[0].partitions[0].timestamp).toBe(-2n);
      if (version >= 2) expect(body.isolationLevel).toBe(1);
    },
    response: {
      throttleTimeMs: 23,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 4,
              errorCode: 0,
              oldStyleOffsets: [333n],
              timestamp: 1_700_000_000_001n,
              offset: 444n,
            },
          ],
        },
      ],
    },
  },
  {
    folder: 'metadata',
    key: ApiKey.Metadata,
    args: { topics: ['orders', 'payments'], allowAutoTopicCreation: false },
    request(body, version) {
      expect(body.topics.map((t: Body) => t.name)).toEqual(['orders', 'payments']);
      if (version >= 4) expect(body.allowAutoTopicCreation).toBe(false);
    },
    response: {
      throttleTimeMs: 29,
      brokers: [{ nodeId: 101, host: 'node-a.local', port: 19092, rack: 'rack-z' }],
      clusterId: 'cluster-q',
      controllerId: 102,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 7,
              leaderId: 101,
              leaderEpoch: 13,
              replicaNodes: [101, 103],
              isrNodes: [101],
              offlineReplicas: [104],
            },
          ],
        },
      ],
    },
  },
  {
    folder: 'offsetCommit',
    key: ApiKey.OffsetCommit,
    args: {
      groupId: 'g1',
      groupGenerationId: 5,
      memberId: 'm-1',
      retentionTime: 86_400_000,
      topics: [
        { topic: 'orders', partitions: [{ partition: 1, offset: '42', metadata: 'ckpt-7' }] },
      ],
    },
    request(body, version) {
      expect(body.groupId).toBe('g1');
      const partition = body.topics[0].partitions[0];
      expect(partition.committedOffset).toBe(42n);
      expect(partition.committedMetadata).toBe('ckpt-7');
      if (version >= 1) expect(body.generationIdOrMemberEpoch).toBe(5);
      if (version >= 1) expect(body.memberId).toBe('m-1');
      if (version >= 2 && version <= 4) expect(body.retentionTimeMs).toBe(86_400_000n);
    },
    response: {
      throttleTimeMs: 31,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, errorCode: 0 }] }],
    },
  },
  {
    folder: 'offsetFetch',
    key: ApiKey.OffsetFetch,
    args: { groupId: 'g1', topics: [{ topic: 'orders', partitions: [{ partition: 0 }] }] },
    request(body) {
      expect(body.groupId).toBe('g1');
      expect(body.topics).toEqual([{ name: 'orders', partitionIndexes: [0] }]);
    },
    response: {
      throttleTimeMs: 37,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42n,
              committedLeaderEpoch: 3,
              metadata: 'ckpt-7',
              errorCode: 0,
            },
          ],
        },
      ],
      errorCode: 0,
    },
  },
  {
    folder: 'findCoordinator',
    key: ApiKey.FindCoordinator,
    args: { groupId: 'g1', coordinatorType: 0 },
    request(body) {
      expect(body.key).toBe('g1');
      expect(body.keyType).toBe(0);
    },
    response: {
      throttleTimeMs: 41,
      errorCode: 0,
      errorMessage: null,
      nodeId: 105,
      host: 'node-e.local',
      port: 19093,
    },
  },
  {
    folder: 'joinGroup',
    key: ApiKey.JoinGroup,
    args: {
      groupId: 'g1',
      sessionTimeout: 10_000,
      rebalanceTimeout: 60_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: META }],
    },
    request(body, version) {
      expect(body.groupId).toBe('g1');
      expect(body.sessionTimeoutMs).toBe(10_000);
      expect(body.memberId).toBe('');
      expect(body.protocolType).toBe('consumer');
      expect(body.protocols[0].name).toBe('RoundRobinAssigner');
      expect(body.protocols[0].metadata).toEqual(META);
      if (version >= 1) expect(body.rebalanceTimeoutMs).toBe(60_000);
    },
    response: {
      throttleTimeMs: 43,
      errorCode: 0,
      generationId: 9,
      protocolName: 'RoundRobinAssigner',
      leader: 'm-1',
      memberId: 'm-2',
      members: [{ memberId: 'm-1', groupInstanceId: 'static-1', metadata: META }],
    },
  },
  {
    folder: 'heartbeat',
    key: ApiKey.Heartbeat,
    args: { groupId: 'g1', groupGenerationId: 9, memberId: 'm-1', groupInstanceId: 'static-1' },
    request(body, version) {
      expect(body.groupId).toBe('g1');
      expect(body.generationId).toBe(9);
      expect(body.memberId).toBe('m-1');
      expect(body.groupInstanceId).toBe(version >= 3 ? 'static-1' : null);
    },
    response: { throttleTimeMs: 47, errorCode: 0 },
  },
  {
    folder: 'leaveGroup',
    key: ApiKey.LeaveGroup,
    args: { groupId: 'g1', memberId: 'm-1', groupInstanceId: 'static-1' },
    request(body, version) {
      expect(body.groupId).toBe('g1');
      if (version <= 2) expect(body.memberId).toBe('m-1');
      else
        expect(body.members).toEqual([
          { memberId: 'm-1', groupInstanceId: 'static-1', reason: null },
        ]);
    },
    response: {
      throttleTimeMs: 53,
      errorCode: 0,
      members: [{ memberId: 'm-1', groupInstanceId: 'static-1', errorCode: 0 }],
    },
  },
  {
    folder: 'syncGroup',
    key: ApiKey.SyncGroup,
    args: {
      groupId: 'g1',
      generationId: 9,
      memberId: 'm-1',
      groupInstanceId: null,
      groupAssignment: [{ memberId: 'm-1', memberAssignment: ASSIGNMENT }],
    },
    request(body) {
      expect(body.generationId).toBe(9);
      expect(body.assignments[0].memberId).toBe('m-1');
      expect(body.assignments[0].assignment).toEqual(ASSIGNMENT);
    },
    response: { throttleTimeMs: 59, errorCode: 0, assignment: ASSIGNMENT },
  },
  {
    folder: 'describeGroups',
    key: ApiKey.DescribeGroups,
    args: { groupIds: ['g1', 'g2'] },
    request(body) {
      expect(body.groups).toEqual(['g1', 'g2']);
    },
    response: {
      throttleTimeMs: 61,
      groups: [
        {
          errorCode: 0,
          groupId: 'g1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'm-1',
              clientId: 'client-1',
              clientHost: '/10.0.0.1',
              memberMetadata: Buffer.alloc(0),
              memberAssignment: Buffer.alloc(0),
            },
          ],
        },
      ],
    },
  },
  {
    folder: 'listGroups',
    key: ApiKey.ListGroups,
    args: {},
    request(body) {
      expect(body.statesFilter).toEqual([]);
    },
    response: {
      throttleTimeMs: 67,
      errorCode: 0,
      groups: [{ groupId: 'g1', protocolType: 'consumer' }],
    },
  },
  {
    folder: 'saslHandshake',
    key: ApiKey.SaslHandshake,
    args: { mechanism: 'PLAIN' },
    request(body) {
      expect(body.mechanism).toBe('PLAIN');
    },
    response: { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] },
  },
  {
    folder: 'apiVersions',
    key: ApiKey.ApiVersions,
    args: {},
    request(body) {
      expect(body.clientSoftwareName).toBe('');
    },
    response: {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 1, minVersion: 4, maxVersion: 17 },
      ],
      throttleTimeMs: 71,
    },
  },
  {
    folder: 'createTopics',
    key: ApiKey.CreateTopics,
    args: {
      timeout: 5000,
      validateOnly: true,
      topics: [
        {
          topic: 'orders',
          numPartitions: 6,
          replicationFactor: 3,
          replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }],
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    },
    request(body, version) {
      const topic = body.topics[0];
      expect(topic.name).toBe('orders');
      expect(topic.numPartitions).toBe(6);
      expect(topic.replicationFactor).toBe(3);
      expect(topic.assignments).toEqual([{ partitionIndex: 0, brokerIds: [1, 2, 3] }]);
      expect(topic.configs).toEqual([{ name: 'cleanup.policy', value: 'compact' }]);
      expect(body.timeoutMs).toBe(5000);
      if (version >= 1) expect(body.validateOnly).toBe(true);
    },
    response: {
      throttleTimeMs: 73,
      topics: [{ name: 'orders', errorCode: 36, errorMessage: 'Topic already exists' }],
    },
  },
  {
    folder: 'deleteTopics',
    key: ApiKey.DeleteTopics,
    args: { topics: ['orders'], timeout: 5000 },
    request(body) {
      expect(body.topicNames).toEqual(['orders']);
      expect(body.timeoutMs).toBe(5000);
    },
    response: { throttleTimeMs: 79, responses: [{ name: 'orders', errorCode: 0 }] },
  },
  {
    folder: 'deleteRecords',
    key: ApiKey.DeleteRecords,
    args: {
      topics: [{ topic: 'orders', partitions: [{ partition: 1, offset: '99' }] }],
      timeout: 5000,
    },
    request(body) {
      expect(body.topics[0].partitions[0]).toEqual({ partitionIndex: 1, offset: 99n });
    },
    response: {
      throttleTimeMs: 83,
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 1, lowWatermark: 99n, errorCode: 0 }] },
      ],
    },
  },
  {
    folder: 'initProducerId',
    key: ApiKey.InitProducerId,
    args: { transactionalId: null, transactionTimeout: 30_000 },
    request(body) {
      expect(body.transactionalId).toBeNull();
      expect(body.transactionTimeoutMs).toBe(30_000);
    },
    response: { throttleTimeMs: 89, errorCode: 0, producerId: 5_000_000_001n, producerEpoch: 4 },
  },
  {
    folder: 'describeConfigs',
    key: ApiKey.DescribeConfigs,
    args: {
      resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }],
      includeSynonyms: true,
    },
    request(body, version) {
      expect(body.resources).toEqual([
        { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] },
      ]);
      if (version >= 1) expect(body.includeSynonyms).toBe(true);
    },
    response: {
      throttleTimeMs: 97,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            {
              name: 'retention.ms',
              value: '604800000',
              readOnly: false,
              isDefault: true,
              configSource: 5,
              isSensitive: false,
              synonyms: [{ name: 'log.retention.ms', value: '604800001', source: 4 }],
            },
          ],
        },
      ],
    },
  },
  {
    folder: 'alterConfigs',
    key: ApiKey.AlterConfigs,
    args: {
      validateOnly: true,
      resources: [
        { type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] },
      ],
    },
    request(body) {
      expect(body.validateOnly).toBe(true);
      expect(body.resources[0].configs).toEqual([{ name: 'retention.ms', value: '1000' }]);
    },
    response: {
      throttleTimeMs: 101,
      responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }],
    },
  },
  {
    folder: 'saslAuthenticate',
    key: ApiKey.SaslAuthenticate,
    // kafkajs's SASL mechanisms hand over the token already length-prefixed.
    args: { authBytes: lengthPrefixed(Buffer.from('\0user\0secret')) },
    request(body) {
      expect(body.authBytes).toEqual(Buffer.from('\0user\0secret'));
    },
    response: {
      errorCode: 0,
      errorMessage: null,
      authBytes: Buffer.from('server-final'),
      sessionLifetimeMs: 3_600_000n,
    },
  },
  {
    folder: 'createPartitions',
    key: ApiKey.CreatePartitions,
    args: {
      topicPartitions: [
        {
          topic: 'orders',
          count: 8,
          assignments: [
            [1, 2],
            [2, 3],
          ],
        },
      ],
      timeout: 5000,
      validateOnly: false,
    },
    request(body) {
      expect(body.topics[0]).toEqual({
        name: 'orders',
        count: 8,
        assignments: [{ brokerIds: [1, 2] }, { brokerIds: [2, 3] }],
      });
    },
    response: {
      throttleTimeMs: 103,
      results: [{ name: 'orders', errorCode: 0, errorMessage: null }],
    },
  },
  {
    folder: 'deleteGroups',
    key: ApiKey.DeleteGroups,
    args: ['g1', 'g2'],
    request(body) {
      expect(body.groupsNames).toEqual(['g1', 'g2']);
    },
    response: { throttleTimeMs: 107, results: [{ groupId: 'g1', errorCode: 0 }] },
  },
];

describe('requests written by kafkajs', () => {
  for (const c of cases) {
    const spec = API_SPECS.get(c.key)!;

    for (const version of kafkajsVersions(c.folder)) {
      it(`${spec.name} v${version} is read in full and written back byte for byte`, async () => {
        const bytes = await kafkajsRequestBytes(c.folder, version, c.args);

        const { body, end } = readRequestBody(c.key, version, bytes, 0);
        expect(end).toBe(bytes.length);
        c.request(body, version);

        const headerBytes = 4 + 10 + (isFlexibleAt(spec, version) ? 1 : 0);
        const again = encodeRequest(c.key, version, 1, null, body as never);
        expect(again.subarray(headerBytes)).toEqual(bytes);
      });
    }
  }
});

describe('responses read by kafkajs', () => {
  for (const c of cases) {
    const spec = API_SPECS.get(c.key)!;

    for (const version of kafkajsVersions(c.folder)) {
      it(`${spec.name} v${version} is read in full with every value in place`, async () => {
        const body = await withRecords(c);
        const frame = encodeResponse(c.key, version, 1, body as never);
        const payload = Buffer.from(frame.subarray(8));

        const decoded = await kafkajsDecodeResponse(c.folder, version, c.args, payload);
        expect(consumedByKafkajs(payload)).toBe(payload.length);

        const found = leavesOf(decoded);
        const missing = wireScalars(spec, 'response', version, body).filter((v) => !found.has(v));
        expect(missing).toEqual([]);
      });
    }
  }

  it('Fetch records arrive as kafkajs decodes them from a batch it wrote', async () => {
    const c = cases.find((x) => x.key === ApiKey.Fetch)!;
    const body = await withRecords(c);
    const payload = Buffer.from(encodeResponse(ApiKey.Fetch, 11, 1, body as never).subarray(8));

    const decoded = (await kafkajsDecodeResponse('fetch', 11, c.args, payload)) as Any;
    const messages = decoded.responses[0].partitions[0].messages;
    expect(messages.map((m: Any) => m.value.toString())).toEqual(['first', 'second']);
    expect(messages.map((m: Any) => m.offset)).toEqual(['78', '79']);
  });
});

function lengthPrefixed(bytes: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}

/** The Fetch sample carries a real batch; other samples are used as they are. */
async function withRecords(c: Case): Promise<Body> {
  if (c.key !== ApiKey.Fetch) return c.response;

  const batch = await kafkajsRecordBatch(['first', 'second'], 78);
  const topic = (c.response.responses as Any[])[0];
  return {
    ...c.response,
    responses: [{ ...topic, partitions: [{ ...topic.partitions[0], records: batch }] }],
  };
}
