// Replication between real data nodes (three, with a controller, in one process): acks=all
// produces reach every ISR member byte for byte; a stopping leader hands its partitions over
// (controlled shutdown) and takes them back once caught up (preferred leader); acks=all is refused
// while the ISR is below min.insync.replicas; idempotent producers get cluster-unique ids and a
// retried batch is written once, with kafkajs as with raw frames.
import { Kafka, logLevel } from 'kafkajs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { encodeBatch } from '../../shared/record-batch.ts';
import { readReplicaBatches, valuesByOffset } from '../integration/replica-logs.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { RawKafkaClient } from './raw-client.ts';

const ADMIN_PORT = 19445;

interface PartitionView {
  partition: number;
  replicas: number[];
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({
    adminPort: ADMIN_PORT,
    dataNodes: 3,
    dataNodeConfig: { replicaLagTimeMaxMs: 1000, controlledShutdownTimeoutMs: 3000 },
  });
});

afterAll(async () => {
  await cluster?.stop();
});

async function createTopic(name: string, configs: Record<string, string> = {}): Promise<void> {
  const response = await fetch(`${cluster.adminUrl}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions: 1, replicationFactor: 3, configs }),
  });
  expect(response.status).toBe(201);
}

async function describePartition(topic: string): Promise<PartitionView> {
  const response = await fetch(`${cluster.adminUrl}/v1/topics/${topic}`);
  const body = (await response.json()) as { partitions: PartitionView[] };
  return body.partitions[0]!;
}

/** Polls until `check` holds: the cluster converges asynchronously (metadata, fetches). */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

function nodeIndex(nodeId: number): number {
  return nodeId - 1;
}

async function leaderClient(topic: string): Promise<{ client: RawKafkaClient; leader: number }> {
  const { leader } = await describePartition(topic);
  const client = await RawKafkaClient.connect(cluster.nodes[nodeIndex(leader)]!.kafkaPort);
  return { client, leader };
}

async function produce(client: RawKafkaClient, topic: string, records: Buffer, acks = -1) {
  const answer = await client.send(ApiKey.Produce, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  return answer.responses[0]!.partitionResponses[0]!;
}

/** Produces once the leader has opened the partition (creation reaches each node in turn). */
async function produceWhenReady(topic: string, value: string) {
  return until(`${topic} takes produces`, async () => {
    const { client } = await leaderClient(topic);
    const answer = await produce(client, topic, encodeBatch([{ value: Buffer.from(value) }]));
    client.close();
    return answer.errorCode === ErrorCode.NONE ? answer : undefined;
  });
}

function replicaDir(nodeId: number, topic: string): string {
  return join(cluster.dataDirs[nodeIndex(nodeId)]!, `${topic}-0`);
}

const fullIsr = (topic: string) =>
  until(`${topic} has its full ISR`, async () => {
    const p = await describePartition(topic);
    return p.isr.length === 3 ? p : undefined;
  });

describe('replication', () => {
  it('copies acknowledged records to every ISR member, byte for byte', async () => {
    await createTopic('copied', { 'min.insync.replicas': '2' });
    await produceWhenReady('copied', 'first');

    const { client } = await leaderClient('copied');
    const values = Array.from({ length: 30 }, (_, i) => `value-${i}`);
    const answers = await Promise.all(
      values.map((v) => produce(client, 'copied', encodeBatch([{ value: Buffer.from(v) }]))),
    );
    client.close();
    expect(answers.map((a) => a.errorCode)).toEqual(values.map(() => ErrorCode.NONE));
    expect(answers.map((a) => a.baseOffset)).toEqual(values.map((_, i) => BigInt(i + 1)));

    const p = await describePartition('copied');
    const stored = p.isr.map((id) => readReplicaBatches(replicaDir(id, 'copied')).slice(0, 31));
    expect(p.isr).toHaveLength(3);
    for (const copy of stored)
      expect(copy.map((b) => b.bytes)).toEqual(stored[0]!.map((b) => b.bytes));
    expect([...valuesByOffset(stored[0]!).values()]).toEqual(['first', ...values]);
  });

  it('hands leadership over at stop and takes it back once caught up', async () => {
    await createTopic('handover');
    await produceWhenReady('handover', 'before');
    const before = await fullIsr('handover');

    await cluster.nodes[nodeIndex(before.leader)]!.stop();
    const during = await describePartition('handover');
    expect(during.leader).not.toBe(before.leader);
    expect(during.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(during.isr).not.toContain(before.leader);
    expect((await produceWhenReady('handover', 'during')).baseOffset).toBe(1n);

    await cluster.restart(nodeIndex(before.leader));
    const after = await until('the preferred replica leads again', async () => {
      const p = await describePartition('handover');
      return p.leader === p.replicas[0] && p.isr.length === 3 ? p : undefined;
    });
    expect(after.leaderEpoch).toBeGreaterThan(during.leaderEpoch);
    expect((await produceWhenReady('handover', 'after')).baseOffset).toBe(2n);

    const stored = readReplicaBatches(replicaDir(before.leader, 'handover'));
    expect([...valuesByOffset(stored).values()]).toEqual(['before', 'during', 'after']);
  });

  it('refuses acks=all while the ISR is below min.insync.replicas', async () => {
    await createTopic('strict', { 'min.insync.replicas': '3' });
    await produceWhenReady('strict', 'ok');
    const p = await fullIsr('strict');
    const follower = p.replicas.find((id) => id !== p.leader)!;

    await cluster.nodes[nodeIndex(follower)]!.stop();
    const { client } = await leaderClient('strict');
    const refused = await until('the leader sees the smaller ISR', async () => {
      const answer = await produce(client, 'strict', encodeBatch([{ value: Buffer.from('x') }]));
      return answer.errorCode === ErrorCode.NONE ? undefined : answer;
    });
    expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    const acksOne = await produce(client, 'strict', encodeBatch([{ value: Buffer.from('y') }]), 1);
    expect(acksOne.errorCode).toBe(ErrorCode.NONE);
    client.close();

    await cluster.restart(nodeIndex(follower));
    await fullIsr('strict');
  });

  it('writes a retried idempotent batch once and refuses a sequence gap', async () => {
    await createTopic('idem');
    await produceWhenReady('idem', 'plain');
    const { client } = await leaderClient('idem');

    const first = await client.send(ApiKey.InitProducerId, 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    const second = await client.send(ApiKey.InitProducerId, 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    expect(first.errorCode).toBe(ErrorCode.NONE);
    expect(second.producerId).not.toBe(first.producerId);

    const batch = (baseSequence: number) =>
      encodeBatch([{ value: Buffer.from(`seq-${baseSequence}`) }], {
        producerId: first.producerId,
        producerEpoch: first.producerEpoch,
        baseSequence,
      });
    const written = await produce(client, 'idem', batch(0));
    const retried = await produce(client, 'idem', batch(0));
    const gap = await produce(client, 'idem', batch(5));
    client.close();

    expect(written).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1n });
    expect(retried).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1n });
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('serves a kafkajs idempotent producer', async () => {
    await createTopic('kjs-idem');
    await produceWhenReady('kjs-idem', 'plain');
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: 'kjs-idem', acks: -1, messages: [{ value: `m-${i}` }] });
    }
    await producer.disconnect();

    const p = await describePartition('kjs-idem');
    const stored = valuesByOffset(readReplicaBatches(replicaDir(p.leader, 'kjs-idem')));
    expect([...stored.values()]).toEqual([
      'plain',
      ...Array.from({ length: 10 }, (_, i) => `m-${i}`),
    ]);
  });
});
