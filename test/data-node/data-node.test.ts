// One data node with a controller in the same process, driven with raw frames for the protocol
// cases that client libraries would hide: P3 (a first batch beyond the fetch limits), P4 (fetch
// waits and wakes), P5 (offsets by timestamp inside batches), P7 (topic validation), plus acks=0,
// batch validation and DescribeConfigs. With a single data node, a topic is open on its leader
// by the time CreateTopics answers, so no test waits for metadata to spread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey, type MetadataResponse } from '../../shared/protocol/index.ts';
import { batches, decodeRecords, encodeBatch } from '../../shared/record-batch.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { RawKafkaClient } from './raw-client.ts';

let cluster: TestCluster;
let client: RawKafkaClient;

beforeAll(async () => {
  cluster = await startCluster({ adminPort: 0, dataNodes: 1 });
  client = await RawKafkaClient.connect(cluster.nodes[0]!.kafkaPort);
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

async function createTopic(name: string, partitions = 1, configs: Record<string, string> = {}) {
  const answer = await client.send(ApiKey.CreateTopics, 5, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })),
      },
    ],
    timeoutMs: 10_000,
  });
  expect(answer.topics[0]).toMatchObject({ name, errorCode: ErrorCode.NONE });
}

/** A raw client connected to the leader of a topic's partition. */
async function leaderOf(topic: string, partition = 0): Promise<RawKafkaClient> {
  const metadata: MetadataResponse = await client.send(ApiKey.Metadata, 9, {
    topics: [{ name: topic }],
  });
  const leader = metadata.topics[0]!.partitions.find(
    (p) => p.partitionIndex === partition,
  )!.leaderId;
  const broker = metadata.brokers.find((b) => b.nodeId === leader)!;
  return RawKafkaClient.connect(broker.port);
}

async function produce(leader: RawKafkaClient, topic: string, records: Buffer, acks = -1) {
  const answer = await leader.send(ApiKey.Produce, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return answer.responses[0]!.partitionResponses[0]!;
}

function fetchRequest(topic: string, fetchOffset: bigint, limits: Partial<FetchLimits> = {}) {
  const l = { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, partitionMaxBytes: 1 << 20, ...limits };
  return {
    replicaId: -1,
    maxWaitMs: l.maxWaitMs,
    minBytes: l.minBytes,
    maxBytes: l.maxBytes,
    isolationLevel: 0,
    topics: [
      {
        topic,
        partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: l.partitionMaxBytes }],
      },
    ],
  };
}

interface FetchLimits {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
}

describe('Fetch', () => {
  it('returns a first batch larger than the limits whole, then stops at the limits (P3)', async () => {
    await createTopic('p3', 1, { 'max.message.bytes': String(2 * 1024 * 1024) });
    const leader = await leaderOf('p3');
    const big = encodeBatch([{ value: Buffer.alloc(1024 * 1024, 7) }]);
    expect((await produce(leader, 'p3', big)).errorCode).toBe(ErrorCode.NONE);
    for (let i = 0; i < 10; i++) {
      const small = encodeBatch([{ value: Buffer.from(`small-${i}`) }]);
      expect((await produce(leader, 'p3', small)).errorCode).toBe(ErrorCode.NONE);
    }

    const offsets: bigint[] = [];
    let fetchOffset = 0n;
    while (offsets.length < 11) {
      const limits = { partitionMaxBytes: 1, maxBytes: 1024 };
      const answer = await leader.send(ApiKey.Fetch, 11, fetchRequest('p3', fetchOffset, limits));
      const partition = answer.responses[0]!.partitions[0]!;
      expect(partition.errorCode).toBe(ErrorCode.NONE);

      const got = [...batches(partition.records!)];
      expect(got).toHaveLength(1);
      for (const record of decodeRecords(got[0]!)) offsets.push(record.offset);
      fetchOffset = got[0]!.nextOffset;
    }
    expect(offsets).toEqual(Array.from({ length: 11 }, (_, i) => BigInt(i)));
    leader.close();
  });

  it('answers an empty wait without error, and wakes when a record is committed (P4)', async () => {
    await createTopic('p4');
    const leader = await leaderOf('p4');

    const empty = await leader.send(
      ApiKey.Fetch,
      11,
      fetchRequest('p4', 0n, { maxWaitMs: 200, minBytes: 1 }),
    );
    const emptyPartition = empty.responses[0]!.partitions[0]!;
    expect(empty.errorCode).toBe(ErrorCode.NONE);
    expect(emptyPartition.errorCode).toBe(ErrorCode.NONE);
    expect(emptyPartition.records?.length ?? 0).toBe(0);

    // The wait is far longer than the test's patience: only the produce can end it in time.
    const waiting = leader.send(
      ApiKey.Fetch,
      11,
      fetchRequest('p4', 0n, { maxWaitMs: 100_000, minBytes: 1 }),
    );
    const producer = await leaderOf('p4');
    await produce(producer, 'p4', encodeBatch([{ value: Buffer.from('wake up') }]));

    const woken = (await waiting).responses[0]!.partitions[0]!;
    expect(woken.highWatermark).toBe(1n);
    expect(decodeRecords(woken.records!).map((r) => String(r.value))).toEqual(['wake up']);
    producer.close();
    leader.close();
  });

  it('refuses an offset beyond the log end with OFFSET_OUT_OF_RANGE', async () => {
    await createTopic('out-of-range');
    const leader = await leaderOf('out-of-range');
    const answer = await leader.send(ApiKey.Fetch, 11, fetchRequest('out-of-range', 5n));
    expect(answer.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    leader.close();
  });
});

describe('ListOffsets by timestamp looks inside batches (P5)', () => {
  const expected: [number, bigint, bigint][] = [
    [1, 0n, 2n],
    [2, 0n, 2n],
    [3, 1n, 4n],
    [5, 2n, 6n],
    [9, 5n, 12n],
    [12, 5n, 12n],
    [13, -1n, -1n],
  ];

  it('finds the earliest offset whose timestamp is at or after T', async () => {
    await createTopic('p5');
    const leader = await leaderOf('p5');
    const first = encodeBatch(
      [2, 4, 6, 8, 3].map((timestamp) => ({ value: Buffer.from('x'), timestamp })),
    );
    const second = encodeBatch(
      [12, 10].map((timestamp) => ({ value: Buffer.from('y'), timestamp })),
    );
    await produce(leader, 'p5', first);
    await produce(leader, 'p5', second);

    for (const [t, offset, timestamp] of expected) {
      const answer = await leader.send(ApiKey.ListOffsets, 1, {
        replicaId: -1,
        topics: [{ name: 'p5', partitions: [{ partitionIndex: 0, timestamp: BigInt(t) }] }],
      });
      const partition = answer.topics[0]!.partitions[0]!;
      expect({
        t,
        errorCode: partition.errorCode,
        offset: partition.offset,
        timestamp: partition.timestamp,
      }).toEqual({ t, errorCode: 0, offset, timestamp });
    }

    const latest = await leader.send(ApiKey.ListOffsets, 4, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'p5', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    expect(latest.topics[0]!.partitions[0]!.offset).toBe(7n);
    leader.close();
  });
});

describe('CreateTopics validates names and configs per topic (P7)', () => {
  const topic = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    numPartitions: 1,
    replicationFactor: 1,
    configs: [],
    ...extra,
  });

  it('answers every topic with its own error and keeps the connection', async () => {
    const ok249 = 'a'.repeat(249);
    const answer = await client.send(ApiKey.CreateTopics, 5, {
      topics: [
        topic(''),
        topic('.'),
        topic('..'),
        topic(ok249),
        topic('b'.repeat(250)),
        topic('a/b'),
        topic('ü'),
        topic('foo.bar'),
        topic('bad-compression', { configs: [{ name: 'compression.type', value: 'foo' }] }),
        topic('bad-retention', { configs: [{ name: 'retention.ms', value: 'abc' }] }),
        topic('unknown-config', { configs: [{ name: 'no.such.config', value: '1' }] }),
        topic('zero-partitions', { numPartitions: 0 }),
        topic('too-many-replicas', { replicationFactor: 3 }),
      ],
      timeoutMs: 10_000,
    });
    const codes = Object.fromEntries(answer.topics.map((t) => [t.name, t.errorCode]));
    expect(codes).toEqual({
      '': ErrorCode.INVALID_TOPIC_EXCEPTION,
      '.': ErrorCode.INVALID_TOPIC_EXCEPTION,
      '..': ErrorCode.INVALID_TOPIC_EXCEPTION,
      [ok249]: ErrorCode.NONE,
      ['b'.repeat(250)]: ErrorCode.INVALID_TOPIC_EXCEPTION,
      'a/b': ErrorCode.INVALID_TOPIC_EXCEPTION,
      ü: ErrorCode.INVALID_TOPIC_EXCEPTION,
      'foo.bar': ErrorCode.NONE,
      'bad-compression': ErrorCode.INVALID_CONFIG,
      'bad-retention': ErrorCode.INVALID_CONFIG,
      'unknown-config': ErrorCode.INVALID_CONFIG,
      'zero-partitions': ErrorCode.INVALID_PARTITIONS,
      'too-many-replicas': ErrorCode.INVALID_REPLICATION_FACTOR,
    });
    const message = (name: string) => answer.topics.find((t) => t.name === name)!.errorMessage;
    expect(message('bad-compression')).toContain('compression.type');
    expect(message('bad-retention')).toContain('retention.ms');
    expect(message('unknown-config')).toContain('no.such.config');

    const created = answer.topics.find((t) => t.name === 'foo.bar')!;
    expect(created.numPartitions).toBe(1);
    expect(created.replicationFactor).toBe(1);
    expect(created.configs).toContainEqual(
      expect.objectContaining({ name: 'retention.ms', value: '604800000', isSensitive: false }),
    );

    const again = await client.send(ApiKey.CreateTopics, 5, {
      topics: [topic('foo_bar'), topic('foo.bar')],
      timeoutMs: 10_000,
    });
    expect(again.topics.map((t) => t.errorCode)).toEqual([
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.TOPIC_ALREADY_EXISTS,
    ]);

    const still = await client.send(ApiKey.ApiVersions, 2, {});
    expect(still.errorCode).toBe(ErrorCode.NONE);
  });

  it('validates without creating when asked to', async () => {
    const answer = await client.send(ApiKey.CreateTopics, 5, {
      topics: [topic('only-validated')],
      timeoutMs: 10_000,
      validateOnly: true,
    });
    expect(answer.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    const metadata = await client.send(ApiKey.Metadata, 9, {
      topics: [{ name: 'only-validated' }],
    });
    expect(metadata.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('Produce', () => {
  it('appends acks=0 produces without answering', async () => {
    await createTopic('acks0');
    const leader = await leaderOf('acks0');
    leader.sendOnly(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'acks0',
          partitionData: [{ index: 0, records: encodeBatch([{ value: Buffer.from('z') }]) }],
        },
      ],
    });

    // The next answer on this connection belongs to the next request: the produce had none.
    const fetched = await leader.send(
      ApiKey.Fetch,
      11,
      fetchRequest('acks0', 0n, { maxWaitMs: 100_000, minBytes: 1 }),
    );
    expect(
      decodeRecords(fetched.responses[0]!.partitions[0]!.records!).map((r) => String(r.value)),
    ).toEqual(['z']);
    leader.close();
  });

  it('refuses a corrupt batch and one over max.message.bytes', async () => {
    await createTopic('checked', 1, { 'max.message.bytes': '2000' });
    const leader = await leaderOf('checked');

    const corrupt = Buffer.from(encodeBatch([{ value: Buffer.from('intact') }]));
    corrupt[corrupt.length - 2] ^= 0xff;
    expect((await produce(leader, 'checked', corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);

    const large = encodeBatch([{ value: Buffer.alloc(3000, 1) }]);
    expect((await produce(leader, 'checked', large)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);

    const fine = await produce(leader, 'checked', encodeBatch([{ value: Buffer.from('ok') }]));
    expect(fine).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n, logStartOffset: 0n });
    leader.close();
  });
});

describe('DescribeConfigs', () => {
  it('lists a topic config with its source', async () => {
    await createTopic('described', 1, { 'retention.ms': '1000' });
    const answer = await client.send(ApiKey.DescribeConfigs, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'described',
          configurationKeys: ['retention.ms', 'segment.bytes'],
        },
        { resourceType: 2, resourceName: 'no-such-topic', configurationKeys: null },
      ],
      includeSynonyms: false,
    });
    const [topic, missing] = answer.results;
    expect(topic!.configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['retention.ms', '1000', 1],
      ['segment.bytes', '1073741824', 5],
    ]);
    expect(missing!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('topic ids', () => {
  it('names topics by id in Metadata v12 and Fetch v13+', async () => {
    await createTopic('by-id');
    const leader = await leaderOf('by-id');
    await produce(leader, 'by-id', encodeBatch([{ value: Buffer.from('found by id') }]));

    const metadata = await client.send(ApiKey.Metadata, 12, {
      topics: [{ name: 'by-id' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const topicId = metadata.topics[0]!.topicId;
    expect(topicId).not.toBe('00000000-0000-0000-0000-000000000000');

    const answer = await leader.send(ApiKey.Fetch, 13, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionEpoch: -1,
      topics: [
        { topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
      ],
    });
    expect(answer.responses[0]!.topicId).toBe(topicId);
    const records = answer.responses[0]!.partitions[0]!.records!;
    expect(decodeRecords(records).map((r) => String(r.value))).toEqual(['found by id']);

    const unknown = await leader.send(ApiKey.Fetch, 13, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      topics: [
        {
          topicId: '11111111-2222-4333-8444-555555555555',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 100 }],
        },
      ],
    });
    expect(unknown.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    leader.close();
  });
});

describe('admin and epochs', () => {
  it('grows a topic with CreatePartitions', async () => {
    await createTopic('growing');
    const answer = await client.send(ApiKey.CreatePartitions, 1, {
      topics: [
        { name: 'growing', count: 3, assignments: null },
        { name: 'no-such-topic', count: 2, assignments: null },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    expect(answer.results.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const metadata = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'growing' }] });
    expect(metadata.topics[0]!.partitions.map((p) => p.partitionIndex)).toEqual([0, 1, 2]);
  });

  it('tells where a leader epoch ends', async () => {
    await createTopic('epochs');
    const leader = await leaderOf('epochs');
    await produce(leader, 'epochs', encodeBatch([{ value: Buffer.from('a') }, { value: null }]));

    const answer = await leader.send(ApiKey.OffsetForLeaderEpoch, 3, {
      replicaId: -1,
      topics: [
        { topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] },
      ],
    });
    expect(answer.topics[0]!.partitions[0]).toMatchObject({
      errorCode: ErrorCode.NONE,
      leaderEpoch: 0,
      endOffset: 2n,
    });

    const fenced = await leader.send(ApiKey.OffsetForLeaderEpoch, 3, {
      replicaId: -1,
      topics: [
        { topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 7, leaderEpoch: 0 }] },
      ],
    });
    expect(fenced.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    leader.close();
  });
});
