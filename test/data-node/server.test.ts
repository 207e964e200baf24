// The Kafka listener and dispatcher on their own (no controller, no partitions): how a data node
// answers what clients get wrong or send early. Case P1 of the protocol cases (ApiVersions at an
// unknown version), malformed and oversize frames, unknown API keys, versions not served, and
// pipelined requests answered in order. A connection that misbehaves is closed; a second
// connection is served as if nothing happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { ApiKey, SUPPORTED_VERSIONS, encodeRequest } from '../../shared/protocol/index.ts';
import type { ControllerClient } from '../../data-node/controller-client.ts';
import { Dispatcher } from '../../data-node/dispatcher.ts';
import type { NodeContext } from '../../data-node/handlers/context.ts';
import type { GroupService } from '../../data-node/handlers/groups.ts';
import { dataNodeConfigSchema } from '../../data-node/config.ts';
import type { ReplicaManager } from '../../data-node/replica-manager.ts';
import { KafkaServer } from '../../data-node/server.ts';
import { RawKafkaClient } from './raw-client.ts';

const MAX_REQUEST_BYTES = 64 * 1024;

const view: ClusterSnapshot = {
  clusterId: 'test-cluster',
  version: 3,
  dataNodes: [
    {
      nodeId: 1,
      host: '127.0.0.1',
      kafkaPort: 9092,
      rack: null,
      incarnationId: 'a',
      brokerEpoch: 1,
      fenced: false,
    },
    {
      nodeId: 2,
      host: '127.0.0.1',
      kafkaPort: 9093,
      rack: null,
      incarnationId: 'b',
      brokerEpoch: 1,
      fenced: true,
    },
  ],
  topics: [],
};

const groups: GroupService = {
  handle: () => Promise.reject(new Error('no group coordinator in this test')),
};

let server: KafkaServer;

beforeAll(async () => {
  const config = dataNodeConfigSchema.parse({
    nodeId: 1,
    dataDir: '/nonexistent',
    kafkaPort: 0,
    controllers: ['http://127.0.0.1:1'],
  });
  const node: NodeContext = {
    nodeId: 1,
    config,
    replicas: { get: () => undefined, all: () => [] } as unknown as ReplicaManager,
    controller: {} as ControllerClient,
    logger: silentLogger,
    metadata: () => view,
    awaitMetadata: async () => false,
  };
  const dispatcher = new Dispatcher(node, groups, silentLogger);
  dispatcher.open();
  server = await KafkaServer.listen(
    { host: '127.0.0.1', port: 0, maxRequestBytes: MAX_REQUEST_BYTES },
    dispatcher.handle,
    silentLogger,
  );
});

afterAll(async () => {
  await server.close();
});

async function stillServed(): Promise<void> {
  const other = await RawKafkaClient.connect(server.port);
  const answer = await other.send(ApiKey.ApiVersions, 0, {});
  expect(answer.errorCode).toBe(ErrorCode.NONE);
  other.close();
}

describe('ApiVersions (case P1)', () => {
  const maxVersion = SUPPORTED_VERSIONS.get(ApiKey.ApiVersions)!.max;

  it.each([maxVersion + 1, 127])(
    'answers version %i with a v0 body: UNSUPPORTED_VERSION and every range',
    async (version) => {
      const client = await RawKafkaClient.connect(server.port);
      const frame = Buffer.alloc(4 + 10);
      frame.writeInt32BE(10, 0);
      frame.writeInt16BE(ApiKey.ApiVersions, 4);
      frame.writeInt16BE(version, 6);
      frame.writeInt32BE(77, 8);
      frame.writeInt16BE(-1, 12);

      // The answer is decoded as version 0, which is how a client reads it.
      const answer = await client.expect(77, ApiKey.ApiVersions, 0, () => client.sendBytes(frame));
      expect(answer.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(answer.apiKeys.map((k) => k.apiKey)).toContain(ApiKey.Produce);
      expect(answer.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)).toEqual({
        apiKey: ApiKey.ApiVersions,
        minVersion: 0,
        maxVersion,
      });

      // The connection stays open and a supported version is answered normally.
      const again = await client.send(ApiKey.ApiVersions, 0, {});
      expect(again.errorCode).toBe(ErrorCode.NONE);
      expect(again.apiKeys).toEqual(answer.apiKeys);
      client.close();
    },
  );

  it('answers the flexible version 3 as librdkafka sends it', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const answer = await client.send(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'weir-test',
      clientSoftwareVersion: '1.0',
    });
    expect(answer.errorCode).toBe(ErrorCode.NONE);
    client.close();
  });

  it('advertises only the APIs it serves', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const { apiKeys } = await client.send(ApiKey.ApiVersions, 2, {});
    const keys = apiKeys.map((k) => k.apiKey);
    expect(keys).toEqual(expect.arrayContaining([ApiKey.Fetch, ApiKey.Metadata, ApiKey.JoinGroup]));
    expect(keys).not.toContain(ApiKey.SaslHandshake);
    expect(keys).not.toContain(ApiKey.InitProducerId);
    client.close();
  });
});

describe('malformed input closes only the offending connection', () => {
  it('closes on an unknown API key', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const frame = Buffer.from([0, 0, 0, 10, 0x03, 0xe8, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
    client.sendBytes(frame);
    await client.closed;
    await stillServed();
  });

  it('closes on garbage shorter than a request header', async () => {
    const client = await RawKafkaClient.connect(server.port);
    client.sendBytes(Buffer.from([0, 0, 0, 3, 0xde, 0xad, 0xbe]));
    await client.closed;
    await stillServed();
  });

  it('closes on a frame over the size limit without waiting for its bytes', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(MAX_REQUEST_BYTES + 1);
    client.sendBytes(prefix);
    await client.closed;
    await stillServed();
  });

  it('closes on a truncated body', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const whole = encodeRequest(ApiKey.Metadata, 1, 5, 'x', { topics: [{ name: 'a-topic' }] });
    const cutAt = whole.length - 4;
    const truncated = Buffer.from(whole.subarray(0, cutAt));
    truncated.writeInt32BE(cutAt - 4, 0);
    client.sendBytes(truncated);
    await client.closed;
    await stillServed();
  });

  it('closes on random bytes behind a valid size prefix', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const body = Buffer.from('0003ffff00000009ffffffffffffffffffffffff', 'hex');
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(body.length);
    client.sendBytes(Buffer.concat([prefix, body]));
    await client.closed;
    await stillServed();
  });
});

describe('versions and answers', () => {
  it('answers Produce v2 with UNSUPPORTED_VERSION per partition', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const answer = await client.send(ApiKey.Produce, 2, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.alloc(0) }] }],
    });
    const partition = answer.responses[0]!.partitionResponses[0]!;
    expect(partition.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    client.close();
  });

  it('lists unfenced data nodes as brokers and refuses unknown topics', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const answer = await client.send(ApiKey.Metadata, 9, {
      topics: [{ name: 'missing' }],
      allowAutoTopicCreation: true,
    });
    expect(answer.brokers.map((b) => b.nodeId)).toEqual([1]);
    expect(answer.clusterId).toBe('test-cluster');
    expect(answer.controllerId).toBe(1);
    expect(answer.topics).toEqual([
      expect.objectContaining({ name: 'missing', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
    ]);
    client.close();
  });

  it('answers pipelined requests in the order they were sent', async () => {
    const client = await RawKafkaClient.connect(server.port);
    const answers = await Promise.all([
      client.send(ApiKey.Metadata, 1, { topics: null }),
      client.send(ApiKey.ApiVersions, 1, {}),
      client.send(ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        topics: [
          {
            topic: 'missing',
            partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 }],
          },
        ],
      }),
      client.send(ApiKey.DescribeCluster, 0, {}),
    ]);
    expect(answers[0].brokers).toHaveLength(1);
    expect(answers[1].errorCode).toBe(ErrorCode.NONE);
    expect(answers[2].responses[0]!.partitions[0]!.errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect(answers[3].clusterId).toBe('test-cluster');
    client.close();
  });
});
