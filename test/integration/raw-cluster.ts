// Raw Kafka frames against a cluster of real processes, for tests that must see exactly what a
// data node put on the wire: topics created through the admin API and waited for until their
// leader serves them, a raw connection to a partition's leader, and Produce and Fetch shortcuts.
import { expect } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey, type FetchResponsePartition } from '../../shared/protocol/index.ts';
import { RawKafkaClient } from '../data-node/raw-client.ts';

export function kafkaPorts(cluster: LocalCluster): number[] {
  return cluster.bootstrapServers.split(',').map((hostPort) => Number(hostPort.split(':')[1]));
}

/** Waits for a condition of the running cluster; fails with `what` if it never holds. */
export async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates a topic through the admin API and waits until the leader of every partition serves
 * it: the admin API answers once the controller committed the topic, a moment before the data
 * nodes have opened their replicas.
 */
export async function createTopic(
  cluster: LocalCluster,
  name: string,
  options: { partitions?: number; replicationFactor?: number; configs?: object } = {},
): Promise<void> {
  const res = await fetch(`${cluster.adminUrls[0]}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions: 1, replicationFactor: 3, ...options }),
  });
  expect(res.status, await res.clone().text()).toBe(201);

  for (let partition = 0; partition < (options.partitions ?? 1); partition++) {
    await until(`${name}-${partition} served by its leader`, async () => {
      const leader = await leaderOf(cluster, name, partition).catch(() => null);
      if (leader === null) return false;
      const answer = await leader.send(ApiKey.ListOffsets, 1, {
        replicaId: -1,
        topics: [{ name, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
      });
      leader.close();
      return answer.topics[0]!.partitions[0]!.errorCode === ErrorCode.NONE;
    });
  }
}

/** A raw connection to the leader of a partition, as the first data node's metadata names it. */
export async function leaderOf(
  cluster: LocalCluster,
  topic: string,
  partition = 0,
): Promise<RawKafkaClient> {
  const any = await RawKafkaClient.connect(kafkaPorts(cluster)[0]!);
  const metadata = await any.send(ApiKey.Metadata, 9, { topics: [{ name: topic }] });
  any.close();

  const leaderId = metadata.topics[0]?.partitions.find(
    (p) => p.partitionIndex === partition,
  )?.leaderId;
  const broker = metadata.brokers.find((b) => b.nodeId === leaderId);
  if (broker === undefined) throw new Error(`no leader for ${topic}-${partition} yet`);
  return RawKafkaClient.connect(broker.port, broker.host);
}

/** Produce v7 (zstd allowed) of one partition; answers that partition's response. */
export async function produce(
  leader: RawKafkaClient,
  topic: string,
  records: Buffer,
  partition = 0,
) {
  const answer = await leader.send(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return answer.responses[0]!.partitionResponses[0]!;
}

/** Fetch v11 of one partition from `fetchOffset`, without waiting. */
export async function fetchOnce(
  leader: RawKafkaClient,
  topic: string,
  fetchOffset: bigint,
  limits: { maxBytes?: number; partitionMaxBytes?: number } = {},
  partition = 0,
): Promise<FetchResponsePartition> {
  const answer = await leader.send(ApiKey.Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: limits.maxBytes ?? 1 << 20,
    isolationLevel: 0,
    topics: [
      {
        topic,
        partitions: [
          { partition, fetchOffset, partitionMaxBytes: limits.partitionMaxBytes ?? 1 << 20 },
        ],
      },
    ],
  });
  return answer.responses[0]!.partitions[0]!;
}
