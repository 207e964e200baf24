// Process faults on a single-replica topic, where nothing but the leader's own disk keeps an
// acknowledged record: a data node SIGKILLed while kafkajs produces to it (acks=1 and acks=all)
// must, once restarted from its recorded command line, still hold every record it acknowledged;
// one stopped with SIGSTOP and continued must serve again with nothing lost. Replicated topics
// under the same faults are the chaos test's (chaos.test.ts).
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { batches, decodeRecords } from '../../shared/record-batch.ts';
import { brokers, startTestCluster, stopTestCluster } from './cluster.ts';
import { createTopic, fetchOnce, leaderOf, until } from './raw-cluster.ts';

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19865 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

function kafka(): Kafka {
  return new Kafka({
    clientId: 'crash',
    brokers: brokers(cluster!),
    logLevel: logLevel.NOTHING,
    retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 500 },
  });
}

/** Sends batches of 20 records in a loop, remembering each value once it is acknowledged. */
class AckingProducer {
  readonly acked: string[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private next = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly acks: number,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const values = Array.from({ length: 20 }, () => `${this.topic}-${this.next++}`);
        try {
          const messages = values.map((value) => ({ value }));
          await this.producer.send({ topic: this.topic, acks: this.acks, messages });
          this.acked.push(...values);
        } catch {
          // Not acknowledged: these values may or may not be in the log, and either is fine.
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Every value in partition 0 of `topic`, read from offset 0 up to the high watermark. */
async function storedValues(topic: string): Promise<Set<string>> {
  const leader = await leaderOf(cluster!, topic);
  const values = new Set<string>();
  let offset = 0n;

  for (;;) {
    const answer = await fetchOnce(leader, topic, offset);
    expect(answer.errorCode).toBe(ErrorCode.NONE);
    const read = [...batches(answer.records!)];
    if (read.length === 0) break;

    for (const record of read.flatMap((batch) => decodeRecords(batch))) {
      if (record.offset >= offset) values.add(String(record.value));
    }
    offset = read[read.length - 1]!.nextOffset;
  }
  leader.close();
  return values;
}

async function leaderName(topic: string): Promise<string> {
  const res = await fetch(`${cluster!.adminUrls[0]}/v1/topics/${topic}`);
  const body = (await res.json()) as { partitions: { leader: number }[] };
  return `data-node-${body.partitions[0]!.leader}`;
}

/** Produces until `count` more records are acknowledged than now. */
async function ackedMore(producer: AckingProducer, count: number): Promise<void> {
  const target = producer.acked.length + count;
  await until(`${count} more acknowledged records`, async () => producer.acked.length >= target);
}

describe('a single-replica leader', () => {
  for (const acks of [1, -1]) {
    it(`SIGKILLed during produce (acks=${acks}) keeps every acknowledged record`, async () => {
      failed = true;
      const topic = `killed-acks${acks === 1 ? 1 : 'all'}`;
      await createTopic(cluster!, topic, { replicationFactor: 1 });
      const name = await leaderName(topic);
      const client = kafka().producer();
      await client.connect();
      const producer = new AckingProducer(client, topic, acks);

      producer.start();
      await ackedMore(producer, 500);
      await cluster!.signal(name, 'SIGKILL');
      const beforeRestart = producer.acked.length;
      cluster!.startProcess(name);
      await ackedMore(producer, 500);
      await producer.stop();
      await client.disconnect();

      const stored = await storedValues(topic);
      expect(beforeRestart).toBeGreaterThan(0);
      expect(producer.acked.filter((value) => !stored.has(value))).toEqual([]);
      failed = false;
    });
  }

  it('stopped with SIGSTOP and continued serves again with nothing lost', async () => {
    failed = true;
    const topic = 'paused';
    await createTopic(cluster!, topic, { replicationFactor: 1 });
    const name = await leaderName(topic);
    const client = kafka().producer();
    await client.connect();
    const producer = new AckingProducer(client, topic, -1);

    producer.start();
    await ackedMore(producer, 200);
    await cluster!.signal(name, 'SIGSTOP');
    // Long enough for the controller to fence the silent node, so it must find its way back.
    await until('the stopped node fenced', async () => {
      const live = await cluster!.liveDataNodeIds();
      return !live.includes(Number(name.split('-').pop()));
    });
    await cluster!.signal(name, 'SIGCONT');
    await ackedMore(producer, 200);
    await producer.stop();
    await client.disconnect();

    const stored = await storedValues(topic);
    expect(producer.acked.filter((value) => !stored.has(value))).toEqual([]);
    failed = false;
  });
});
