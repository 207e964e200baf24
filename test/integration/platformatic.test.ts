// @platformatic/kafka speaks only recent, flexible protocol versions (Metadata 12, Produce 9+,
// Fetch 12+, JoinGroup 6+): producing and consuming with it checks Weir's flexible codecs end to end.
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { brokers, startTestCluster, stopTestCluster } from './cluster.ts';

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19020 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

describe('@platformatic/kafka', () => {
  it('creates a topic, produces and consumes with flexible versions', async () => {
    failed = true;
    const topic = 'flexible';
    const admin = new Admin({ clientId: 'pk-admin', bootstrapBrokers: brokers(cluster!) });
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 3 });
    await admin.close();

    const producer = new Producer({
      clientId: 'pk-producer',
      bootstrapBrokers: brokers(cluster!),
      serializers: stringSerializers,
      acks: -1,
    });
    const sent = Array.from({ length: 300 }, (_, i) => ({
      topic,
      partition: i % 3,
      key: `k${i}`,
      value: `v${i}`,
      headers: new Map([['n', String(i)]]),
    }));
    for (let i = 0; i < sent.length; i += 50) await producer.send({ messages: sent.slice(i, i + 50) });
    await producer.close();

    const consumer = new Consumer({
      clientId: 'pk-consumer',
      groupId: 'pk-group',
      bootstrapBrokers: brokers(cluster!),
      deserializers: stringDeserializers,
      maxWaitTime: 500,
    });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });

    const seen: { partition: number; offset: bigint; key: string; value: string; n: string }[] = [];
    for await (const message of stream) {
      seen.push({
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        n: String(message.headers.get('n')),
      });
      if (seen.length === sent.length) break;
    }
    await stream.close();
    await consumer.close(true);

    for (let p = 0; p < 3; p++) {
      const inPartition = seen.filter((m) => m.partition === p);
      expect(inPartition.map((m) => m.offset)).toEqual(inPartition.map((_, i) => BigInt(i)));
      expect(inPartition.map((m) => m.key)).toEqual(
        sent.filter((m) => m.partition === p).map((m) => m.key),
      );
    }
    expect(seen.every((m) => m.value === `v${m.n}` && m.key === `k${m.n}`)).toBe(true);
    failed = false;
  });
});
