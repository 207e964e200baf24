// Two data nodes and a controller in one process, used by a real client: kafkajs creates a
// topic, produces with acks=all to partitions led by both nodes, consumes them in a group and
// deletes the topic. And a produce sent to the node that does not lead the partition is refused.
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { encodeBatch } from '../../shared/record-batch.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { RawKafkaClient } from './raw-client.ts';

let cluster: TestCluster;
let client: RawKafkaClient;

beforeAll(async () => {
  cluster = await startCluster({ adminPort: 0, dataNodes: 2 });
  client = await RawKafkaClient.connect(cluster.nodes[0]!.kafkaPort);
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

describe('with kafkajs', () => {
  it('creates a topic, produces with acks=all and consumes in a group', async () => {
    const kafka = new Kafka({
      brokers: cluster.brokers,
      clientId: 'weir-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'kjs', numPartitions: 3 }] })).toBe(true);
    expect(await admin.listTopics()).toContain('kjs');

    const producer = kafka.producer();
    await producer.connect();
    const values = ['one', 'two', 'three', 'four', 'five', 'six'];
    await producer.send({ topic: 'kjs', acks: -1, messages: values.map((value) => ({ value })) });

    const consumer = kafka.consumer({ groupId: 'kjs-group', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
          if (seen.length === values.length) resolve();
        },
      });
    });
    expect(seen.sort()).toEqual([...values].sort());

    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: ['kjs'] });

    // The controller, which committed the deletion, no longer has the topic as soon as the call
    // returns, and neither has the node that answered it. The other node learns it from its
    // metadata stream a moment later, as a Kafka broker does, so a listing that reaches that node
    // first may still show it: the client's view converges rather than changing at once.
    const topics = await fetch(`${cluster.adminUrl}/v1/topics`).then((r) => r.json());
    expect((topics as { topics: { name: string }[] }).topics.map((t) => t.name)).not.toContain(
      'kjs',
    );
    await vi.waitFor(async () => expect(await admin.listTopics()).not.toContain('kjs'), {
      timeout: 10_000,
    });
    await admin.disconnect();
  });
});

describe('leadership', () => {
  it('refuses produces on a node that does not lead the partition', async () => {
    const created = await client.send(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'two-parts', numPartitions: 2, replicationFactor: 1, configs: [] }],
      timeoutMs: 10_000,
    });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    const metadata = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'two-parts' }] });
    const leaders = metadata.topics[0]!.partitions.map((p) => p.leaderId);
    expect(new Set(leaders).size).toBe(2);

    const partition = metadata.topics[0]!.partitions.find((p) => p.leaderId !== 1)!.partitionIndex;
    const answer = await client.send(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'two-parts',
          partitionData: [{ index: partition, records: encodeBatch([{ value: null }]) }],
        },
      ],
    });
    expect(answer.responses[0]!.partitionResponses[0]!.errorCode).toBe(
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });
});
