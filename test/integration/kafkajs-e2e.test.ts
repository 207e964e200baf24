// End to end with kafkajs against a real local cluster (1 controller, 3 data nodes, separate
// processes): create a topic, produce 100,000 records with acks=all, and read every one back by
// partition and offset with key, value, headers and timestamp intact; uncompressed and gzip.
import { CompressionTypes, Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { brokers, startTestCluster, stopTestCluster } from './cluster.ts';

const RECORDS = 100_000;
const PARTITIONS = 6;
const CHUNK = 2_000;
const BASE_TIMESTAMP = 1_700_000_000_000;

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19000 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

function kafka(): Kafka {
  return new Kafka({ clientId: 'e2e', brokers: brokers(cluster!), logLevel: logLevel.NOTHING });
}

function recordFor(i: number) {
  return {
    partition: i % PARTITIONS,
    key: `key-${i}`,
    value: `value-${i}-${'x'.repeat(i % 50)}`,
    headers: { seq: String(i), kind: i % 2 === 0 ? 'even' : 'odd' },
    timestamp: String(BASE_TIMESTAMP + i),
  };
}

interface Seen {
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: string;
}

async function produceAll(topic: string, compression: CompressionTypes): Promise<void> {
  const producer = kafka().producer({ allowAutoTopicCreation: false });
  await producer.connect();

  for (let start = 0; start < RECORDS; start += CHUNK) {
    const messages = [];
    for (let i = start; i < Math.min(start + CHUNK, RECORDS); i++) messages.push(recordFor(i));
    await producer.send({ topic, acks: -1, compression, messages });
  }
  await producer.disconnect();
}

async function consumeAll(topic: string): Promise<Map<number, Seen[]>> {
  const byPartition = new Map<number, Seen[]>();
  let total = 0;
  const consumer: Consumer = kafka().consumer({ groupId: `e2e-${topic}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });

  await new Promise<void>((done, fail) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          const list = byPartition.get(batch.partition) ?? [];
          byPartition.set(batch.partition, list);
          for (const m of batch.messages) {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
            list.push({
              offset: m.offset,
              key: m.key!.toString(),
              value: m.value!.toString(),
              headers,
              timestamp: m.timestamp,
            });
          }
          total += batch.messages.length;
          if (total >= RECORDS) done();
        },
      })
      .catch(fail);
  });
  await consumer.disconnect();
  return byPartition;
}

function expectIntact(byPartition: Map<number, Seen[]>): void {
  expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);

  for (const [partition, seen] of byPartition) {
    expect(seen.length).toBe(Math.ceil((RECORDS - partition) / PARTITIONS));
    seen.forEach((record, n) => {
      const i = n * PARTITIONS + partition;
      const sent = recordFor(i);
      expect(record).toEqual({
        offset: String(n),
        key: sent.key,
        value: sent.value,
        headers: sent.headers,
        timestamp: sent.timestamp,
      });
    });
  }
}

describe('kafkajs end to end', () => {
  for (const [name, compression] of [
    ['uncompressed', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    it(`produces ${RECORDS} records (${name}) with acks=all and reads them back intact`, async () => {
      failed = true;
      const topic = `e2e-${name}`;
      const admin = kafka().admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }] });
      await admin.disconnect();

      await produceAll(topic, compression);
      expectIntact(await consumeAll(topic));
      failed = false;
    });
  }
});
