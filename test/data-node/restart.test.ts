// A data node restarted on its data dir: it registers under a new incarnation, keeps the records
// of the partitions still assigned to it, and deletes the partitions of a topic deleted while it
// was down. A data dir that belongs to another cluster stops the start instead.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataNodeConfigSchema } from '../../data-node/config.ts';
import { startDataNode } from '../../data-node/main.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { decodeRecords, encodeBatch } from '../../shared/record-batch.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { RawKafkaClient } from './raw-client.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ adminPort: 0, dataNodes: 1 });
});

afterAll(async () => {
  await cluster?.stop();
});

async function createAndFill(client: RawKafkaClient, topic: string, value: string) {
  const created = await client.send(ApiKey.CreateTopics, 5, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, configs: [] }],
    timeoutMs: 10_000,
  });
  expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);

  const produced = await client.send(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 1000,
    topicData: [
      {
        name: topic,
        partitionData: [{ index: 0, records: encodeBatch([{ value: Buffer.from(value) }]) }],
      },
    ],
  });
  expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
}

describe('restart', () => {
  it('keeps its records and drops topics deleted while it was down', async () => {
    const before = cluster.nodes[0]!;
    const client = await RawKafkaClient.connect(before.kafkaPort);
    await createAndFill(client, 'durable', 'kept');
    await createAndFill(client, 'doomed', 'gone');
    client.close();

    await before.stop();
    const deleted = await fetch(`${cluster.adminUrl}/v1/topics/doomed`, { method: 'DELETE' });
    expect(deleted.ok).toBe(true);
    const after = await cluster.restart(0);
    expect(after.incarnationId).not.toBe(before.incarnationId);

    const dirs = readdirSync(cluster.dataDirs[0]!);
    expect(dirs).toContain('durable-0');
    expect(dirs).not.toContain('doomed-0');

    const again = await RawKafkaClient.connect(after.kafkaPort);
    const answer = await again.send(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        {
          topic: 'durable',
          partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
        },
      ],
    });
    const partition = answer.responses[0]!.partitions[0]!;
    expect(partition.errorCode).toBe(ErrorCode.NONE);
    expect(decodeRecords(partition.records!).map((r) => String(r.value))).toEqual(['kept']);
    again.close();
  });

  it('refuses to start on a data dir of another cluster', async () => {
    const foreign = mkdtempSync(join(tmpdir(), 'weir-foreign-'));
    writeFileSync(join(foreign, 'node.json'), JSON.stringify({ clusterId: 'another-cluster' }));
    const config = dataNodeConfigSchema.parse({
      nodeId: 9,
      dataDir: foreign,
      kafkaPort: 0,
      controllers: [cluster.adminUrl],
    });

    await expect(startDataNode(config, silentLogger)).rejects.toThrow(/another-cluster/);
  });
});
