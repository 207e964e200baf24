// Consumer groups on a real cluster (one controller, three data nodes, in this process) through
// real sockets: kafkajs consumers sharing a topic's partitions, rebalancing as members join and
// leave, and a new member resuming from the committed offsets without seeing a record twice;
// librdkafka (kcat) members under the range, roundrobin and cooperative-sticky strategies; then
// cases P2 (member ids by JoinGroup version) and P6 (committed offsets round trip) with raw
// frames against the group's coordinator.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Consumer as FlexibleConsumer, stringDeserializers } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { RawKafkaClient } from '../data-node/raw-client.ts';
import { startGroupCluster, type GroupTestCluster } from './cluster.ts';

const TOPIC = 'orders';
const PARTITIONS = 4;

let cluster: GroupTestCluster | undefined;
let admin: Admin;

beforeAll(async () => {
  cluster = await startGroupCluster(19350);
  admin = kafka('admin').admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }],
    waitForLeaders: true,
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

function kafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: cluster!.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/** Waits for a condition of the running cluster; the test fails if it never holds. */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  state: () => unknown = () => '',
): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting: ${what} ${JSON.stringify(await state())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function produce(prefix: string, count: number): Promise<void> {
  const producer = kafka('producer').producer();
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({
    partition: i % PARTITIONS,
    value: `${prefix}-${i}`,
  }));
  await producer.send({ topic: TOPIC, acks: -1, messages });
  await producer.disconnect();
}

interface Member {
  consumer: Consumer;
  seen: string[];
  /** Partitions of the last assignment this member received. */
  partitions: number[];
}

async function member(groupId: string, name: string): Promise<Member> {
  const consumer = kafka(name).consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
  });
  const m: Member = { consumer, seen: [], partitions: [] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    m.partitions = [...(event.payload.memberAssignment[TOPIC] ?? [])].sort();
  });

  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      m.seen.push(message.value!.toString());
    },
  });
  return m;
}

async function committed(groupId: string): Promise<string[]> {
  const [topic] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
  return topic.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

describe('a kafkajs consumer group', () => {
  it('shares partitions, rebalances, and resumes from committed offsets', async () => {
    const groupId = 'billing';
    await produce('first', 40);

    const a = await member(groupId, 'a');
    await until(
      'a consumed the first records',
      () => a.seen.length >= 40,
      () => a.seen,
    );
    await until(
      'a committed them',
      async () => (await committed(groupId)).every((o) => o === '10'),
      () => committed(groupId),
    );
    expect(a.seen).toHaveLength(40);
    expect(a.partitions).toEqual([0, 1, 2, 3]);

    // A second member joins: the partitions are split between the two.
    const b = await member(groupId, 'b');
    await until('the partitions are split', () => {
      const all = [...a.partitions, ...b.partitions].sort();
      return a.partitions.length > 0 && b.partitions.length > 0 && all.join() === '0,1,2,3';
    });

    await produce('second', 40);
    const both = () => [...a.seen, ...b.seen];
    await until('both consumed the second records', () => both().length >= 80, both);
    await until(
      'and committed them',
      async () => (await committed(groupId)).every((o) => o === '20'),
      () => committed(groupId),
    );
    // Nothing was handed out twice, and b never saw what a had committed before b joined.
    expect(both()).toHaveLength(80);
    expect(new Set(both()).size).toBe(80);
    expect(b.seen.every((v) => v.startsWith('second-'))).toBe(true);

    const described = await admin.describeGroups([groupId]);
    expect(described.groups[0]).toMatchObject({
      groupId,
      state: 'Stable',
      protocolType: 'consumer',
    });
    expect(described.groups[0].members).toHaveLength(2);

    // Both leave; a new member takes every partition and starts after the committed offsets.
    await a.consumer.disconnect();
    await b.consumer.disconnect();
    const c = await member(groupId, 'c');
    await until('c owns every partition', () => c.partitions.length === PARTITIONS);
    await produce('third', 8);
    await until(
      'c consumed the new records',
      () => c.seen.length >= 8,
      () => c.seen,
    );
    expect(c.seen.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `third-${i}`).sort());
    await c.consumer.disconnect();

    const listed = await admin.listGroups();
    expect(listed.groups.map((g) => g.groupId)).toContain(groupId);
    await admin.deleteGroups([groupId]);
    expect(await committed(groupId)).toEqual(['-1', '-1', '-1', '-1']);
  });
});

describe('a @platformatic/kafka consumer (flexible group versions)', () => {
  /** Consumes `count` records, committing each one (OffsetCommit v8+), then leaves. */
  async function consumeAndCommit(groupId: string, count: number): Promise<string[]> {
    const consumer = new FlexibleConsumer({
      clientId: 'flexible',
      groupId,
      bootstrapBrokers: cluster!.brokers,
      deserializers: stringDeserializers,
      maxWaitTime: 200,
    });
    const stream = await consumer.consume({
      topics: [TOPIC],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    });

    const seen: string[] = [];
    for await (const message of stream) {
      seen.push(message.value);
      await message.commit();
      if (seen.length === count) break;
    }
    await stream.close();
    await consumer.close();
    return seen;
  }

  it('commits, and the next member resumes after the committed offsets', async () => {
    const groupId = 'flexible-group';
    await produce('flexible', 6);
    const before = (await admin.fetchTopicOffsets(TOPIC)).reduce((n, p) => n + Number(p.high), 0);

    const first = await consumeAndCommit(groupId, before);
    expect(first).toHaveLength(before);
    const highs = (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition);
    expect(await committed(groupId)).toEqual(highs.map((p) => p.high));

    await produce('fourth', 8);
    const second = await consumeAndCommit(groupId, 8);
    expect(second.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `fourth-${i}`).sort());
  });
});

const hasKcat = (() => {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasKcat)('a librdkafka consumer group (kcat; skipped when kcat is absent)', () => {
  /** Reads `count` records as a member of `groupId`, committing on the way and at exit. */
  async function kcat(groupId: string, count: number): Promise<string[]> {
    const args = ['-b', cluster!.brokers.join(','), '-G', groupId, '-c', String(count)];
    args.push('-X', 'auto.offset.reset=earliest', '-q', '-f', '%s\\n', TOPIC);
    const { stdout } = await promisify(execFile)('kcat', args, { timeout: 90_000 });
    return stdout.split('\n').filter((line) => line !== '');
  }

  it('consumes, commits, and resumes after the committed offsets', async () => {
    const groupId = 'librdkafka-group';
    await produce('kcat', 4);
    const highs = (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition);
    const total = highs.reduce((n, p) => n + Number(p.high), 0);

    expect(await kcat(groupId, total)).toHaveLength(total);
    expect(await committed(groupId)).toEqual(highs.map((p) => p.high));

    await produce('after-kcat', 4);
    expect((await kcat(groupId, 4)).sort()).toEqual(
      ['0', '1', '2', '3'].map((i) => `after-kcat-${i}`),
    );
  });

  it('hands its committed offsets to a kafkajs member, which resumes exactly there', async () => {
    const groupId = 'librdkafka-then-kafkajs';
    await produce('before-handover', 8);
    const highs = (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition);
    const total = highs.reduce((n, p) => n + Number(p.high), 0);
    expect(await kcat(groupId, total)).toHaveLength(total);
    const fromKcat = await committed(groupId);
    expect(fromKcat).toEqual(highs.map((p) => p.high));

    await produce('handover', 8);
    const consumer = kafka('kafkajs-after-kcat').consumer({ groupId, maxWaitTimeInMs: 200 });
    const firstOffsets = new Map<number, string>();
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (!firstOffsets.has(partition)) firstOffsets.set(partition, message.offset);
        seen.push(message.value!.toString());
      },
    });
    await until(
      'kafkajs consumed the new records',
      () => seen.length >= 8,
      () => seen,
    );
    await consumer.disconnect();

    // Nothing kcat committed is read again, and each partition starts at kcat's offset.
    expect(seen.sort()).toEqual(Array.from({ length: 8 }, (_, i) => `handover-${i}`).sort());
    expect([...firstOffsets].sort(([a], [b]) => a - b)).toEqual(
      fromKcat.map((offset, partition) => [partition, offset]),
    );
  });
});

describe.skipIf(!hasKcat)('librdkafka assignment strategies (kcat; skipped without kcat)', () => {
  /** A kcat group member that runs until stopped; its records and stderr are collected. */
  function kcatMember(groupId: string, strategy: string) {
    const args = ['-b', cluster!.brokers.join(','), '-G', groupId, '-u', '-f', '%s\\n'];
    args.push(
      '-X',
      'auto.offset.reset=earliest',
      '-X',
      `partition.assignment.strategy=${strategy}`,
    );
    args.push(TOPIC);
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const records: string[] = [];
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      records.push(...chunk.split('\n').filter((line) => line !== ''));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      child.kill('SIGTERM');
      await exited;
    };
    return { records, log: () => log, stop };
  }

  for (const strategy of ['range', 'roundrobin', 'cooperative-sticky']) {
    it(`shares a topic between two members with ${strategy}`, async () => {
      const groupId = `strategy-${strategy}`;
      const a = kcatMember(groupId, strategy);
      const b = kcatMember(groupId, strategy);

      try {
        // Both members hold partitions under the strategy they asked for.
        const described = async () => (await admin.describeGroups([groupId])).groups[0];
        await until(
          'both members hold partitions',
          async () => {
            const group = await described();
            return (
              group.state === 'Stable' &&
              group.protocol === strategy &&
              group.members.length === 2 &&
              group.members.every((m) => m.memberAssignment.length > 0)
            );
          },
          async () => ({ group: await described(), a: a.log(), b: b.log() }),
        );

        // Every record produced now is read by one of them (each starts at the earliest offset,
        // so none is missed however late it resolves where to start).
        await produce(`${strategy}-record`, 16);
        const expected = Array.from({ length: 16 }, (_, i) => `${strategy}-record-${i}`);
        await until(
          'every record read',
          () => expected.every((r) => a.records.includes(r) || b.records.includes(r)),
          () => ({ a: a.records, b: b.records, alog: a.log(), blog: b.log() }),
        );
        expect(a.records.length).toBeGreaterThan(0);
        expect(b.records.length).toBeGreaterThan(0);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  }
});

/** A connection to the group's coordinator, found with FindCoordinator as a client would. */
async function coordinatorOf(groupId: string): Promise<RawKafkaClient> {
  const port = Number(cluster!.brokers[0].split(':')[1]);
  const any = await RawKafkaClient.connect(port);
  const found = await any.send(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0 });
  any.close();

  expect(found.errorCode).toBe(0);
  return RawKafkaClient.connect(found.port, found.host);
}

describe('raw frames against the coordinator', () => {
  it('P2: member ids by JoinGroup version', async () => {
    const join = (groupId: string, memberId = '', groupInstanceId: string | null = null) => ({
      groupId,
      memberId,
      groupInstanceId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    });

    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(async (version) => {
        const groupId = `p2-v${version}`;
        const client = await coordinatorOf(groupId);
        const first = await client.send(ApiKey.JoinGroup, version, join(groupId));
        const retry =
          first.errorCode === ErrorCode.MEMBER_ID_REQUIRED
            ? await client.send(ApiKey.JoinGroup, version, join(groupId, first.memberId))
            : null;
        client.close();
        return { first, retry };
      }),
    );

    for (const { first, retry } of answers.slice(0, 3)) {
      expect(first).toMatchObject({ errorCode: 0, generationId: 1 });
      expect(retry).toBeNull();
    }
    for (const { first, retry } of answers.slice(3)) {
      expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      expect(first.memberId).not.toBe('');
      expect(retry).toMatchObject({ errorCode: 0, memberId: first.memberId, generationId: 1 });
    }

    const groupId = 'p2-static';
    const client = await coordinatorOf(groupId);
    const staticJoin = await client.send(ApiKey.JoinGroup, 5, join(groupId, '', 'host-1'));
    expect(staticJoin).toMatchObject({ errorCode: 0, generationId: 1 });
    client.close();
  });

  it('P6: committed offsets round trip', async () => {
    const groupId = 'p6';
    const client = await coordinatorOf(groupId);
    const commit = (metadata: string) =>
      client.send(ApiKey.OffsetCommit, 7, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [
          {
            name: TOPIC,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 42n,
                committedLeaderEpoch: 3,
                committedMetadata: metadata,
              },
            ],
          },
        ],
      });

    expect((await commit('ckpt-7')).topics[0].partitions[0].errorCode).toBe(0);
    const big = await commit('x'.repeat(5_000));
    expect(big.topics[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);

    const p0 = {
      partitionIndex: 0,
      committedOffset: 42n,
      committedLeaderEpoch: 3,
      metadata: 'ckpt-7',
      errorCode: 0,
    };
    const p1 = {
      partitionIndex: 1,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: 0,
    };

    const asked = await client.send(ApiKey.OffsetFetch, 5, {
      groupId,
      topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
    });
    expect(asked.errorCode).toBe(0);
    expect(asked.topics).toEqual([{ name: TOPIC, partitions: [p0, p1] }]);

    const all = await client.send(ApiKey.OffsetFetch, 7, { groupId, topics: null });
    expect(all.topics).toEqual([{ name: TOPIC, partitions: [p0] }]);

    const unknownGroup = 'p6-never-committed';
    const other = await coordinatorOf(unknownGroup);
    const unknown = await other.send(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId: unknownGroup, topics: [{ name: TOPIC, partitionIndexes: [1] }] }],
    });
    expect(unknown.groups[0]).toEqual({
      groupId: unknownGroup,
      errorCode: 0,
      topics: [{ name: TOPIC, partitions: [p1] }],
    });
    other.close();
    client.close();
  });
});
