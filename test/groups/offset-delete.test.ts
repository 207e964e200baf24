// OffsetDelete (key 47) as Kafka behaves: through a real socket with @platformatic/kafka's admin
// (kafkajs has no OffsetDelete) against a real controller and data node, then the refusals that
// need a group in a given state, through the coordinator harness. Also ListGroups, which lists a
// group known only by offsets stored in the controller.
import { Admin as FlexibleAdmin } from '@platformatic/kafka';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionTopics } from '../../data-node/groups/group.ts';
import { MemoryOffsetStore } from '../../data-node/groups/offset-store.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { startGroupCluster, type GroupTestCluster } from './cluster.ts';
import { groupOn, harness, settle } from './coordinator-harness.ts';

const CONTROLLER_PORT = 19100;

describe('OffsetDelete through a real socket', () => {
  let cluster: GroupTestCluster | undefined;
  let admin: Admin;
  let flexible: FlexibleAdmin;

  beforeAll(async () => {
    cluster = await startGroupCluster(CONTROLLER_PORT, 1);
    admin = kafka('admin').admin();
    await admin.connect();
    await admin.createTopics({
      topics: ['kept', 'dropped'].map((topic) => ({ topic, numPartitions: 2 })),
      waitForLeaders: true,
    });
    flexible = new FlexibleAdmin({ clientId: 'pk-admin', bootstrapBrokers: cluster.brokers });
  });

  afterAll(async () => {
    await flexible?.close();
    await admin?.disconnect();
    await cluster?.stop();
  });

  function kafka(clientId: string): Kafka {
    return new Kafka({
      clientId,
      brokers: cluster!.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  /** Commits offset 0 of both topics straight to the controller, as an operator's tool may. */
  async function commitBoth(groupId: string): Promise<void> {
    // Offset 0 of an empty topic: in range, so a member has no reason to reset it.
    const offsets = ['kept', 'dropped'].flatMap((topic) =>
      [0, 1].map((partition) => ({ topic, partition, offset: '0', leaderEpoch: 0, metadata: '' })),
    );
    await commitAtController(groupId, offsets);
  }

  async function committed(groupId: string): Promise<Record<string, string[]>> {
    const fetched = await admin.fetchOffsets({ groupId, topics: ['kept', 'dropped'] });
    return Object.fromEntries(fetched.map((t) => [t.topic, t.partitions.map((p) => p.offset)]));
  }

  it('deletes the chosen partitions of an empty group and keeps the rest', async () => {
    await commitBoth('empty-group');

    const topics = [{ name: 'dropped', partitionIndexes: [1] }];
    const answer = await flexible.deleteConsumerGroupOffsets({ groupId: 'empty-group', topics });

    expect(answer).toEqual([{ name: 'dropped', partitionIndexes: [1] }]);
    expect(await committed('empty-group')).toEqual({ kept: ['0', '0'], dropped: ['0', '-1'] });
  });

  it('answers GROUP_ID_NOT_FOUND for a group with neither members nor offsets', async () => {
    const topics = [{ name: 'kept', partitionIndexes: [0] }];
    const deleting = flexible.deleteConsumerGroupOffsets({ groupId: 'nobody', topics });
    await expect(deleting).rejects.toSatisfy((err) =>
      errorCodes(err).includes(ErrorCode.GROUP_ID_NOT_FOUND),
    );
  });

  it('keeps the offsets of topics a member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC)', async () => {
    await commitBoth('live-group');
    const consumer = kafka('member').consumer({ groupId: 'live-group' });
    try {
      await joined(consumer, 'kept');

      const subscribed = [{ name: 'kept', partitionIndexes: [0] }];
      const refused = flexible.deleteConsumerGroupOffsets({
        groupId: 'live-group',
        topics: subscribed,
      });
      await expect(refused).rejects.toSatisfy((err) =>
        errorCodes(err).includes(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC),
      );

      const other = [{ name: 'dropped', partitionIndexes: [0, 1] }];
      await flexible.deleteConsumerGroupOffsets({ groupId: 'live-group', topics: other });
      expect(await committed('live-group')).toEqual({ kept: ['0', '0'], dropped: ['-1', '-1'] });
    } finally {
      await consumer.disconnect();
    }
  });

  it('lists a group whose offsets the controller holds though no member ever came here', async () => {
    const offsets = [{ topic: 'kept', partition: 0, offset: '3', leaderEpoch: 0, metadata: '' }];
    await commitAtController('offsets-only', offsets);

    const { groups } = await admin.listGroups();
    expect(groups).toContainEqual({ groupId: 'offsets-only', protocolType: '' });
  });
});

async function commitAtController(groupId: string, offsets: object[]): Promise<void> {
  const url = `http://127.0.0.1:${CONTROLLER_PORT}/internal/v1/groups/${groupId}/offsets`;
  const headers = { 'content-type': 'application/json' };
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ offsets }) });
  expect(response.status).toBe(200);
}

/** Joins `consumer` to its group subscribed to `topic`; resolves once it has an assignment. */
async function joined(consumer: Consumer, topic: string): Promise<void> {
  const joining = new Promise<void>((resolve) =>
    consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
  );
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
  await joining;
}

/** The Kafka error codes (`apiCode`) of an error of @platformatic/kafka and those it holds. */
function errorCodes(err: unknown): number[] {
  const { apiCode, errors } = err as { apiCode?: unknown; errors?: unknown[] };
  const own = typeof apiCode === 'number' ? [apiCode] : [];
  return [...own, ...(errors ?? []).flatMap(errorCodes)];
}

describe('OffsetDelete refusals', () => {
  const consumerProtocol = (topics: string[]) => {
    const names = topics.map((t) => [Buffer.from([0, t.length]), Buffer.from(t)]).flat();
    const count = Buffer.alloc(4);
    count.writeInt32BE(topics.length);
    return Buffer.concat([Buffer.from([0, 1]), count, ...names, Buffer.alloc(4)]);
  };

  it('reads the topics of a ConsumerProtocolSubscription, and refuses what does not parse', () => {
    expect(subscriptionTopics(consumerProtocol(['a', 'bc']))).toEqual(['a', 'bc']);
    expect(subscriptionTopics(Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff]))).toBeNull();
    expect(subscriptionTopics(Buffer.from([0]))).toBeNull();
  });

  it('answers NOT_COORDINATOR on a node that does not coordinate the group', async () => {
    const h = harness({ nodeId: 1 });
    const groupId = groupOn(2, h.view.current);
    const answer = await h.call(ApiKey.OffsetDelete, 0, { groupId, topics: [] });
    expect(answer).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR, topics: [] });
  });

  it('refuses a group with members of another protocol type (NON_EMPTY_GROUP)', async () => {
    const store = new MemoryOffsetStore();
    const h = harness({ store });
    const groupId = groupOn(1, h.view.current);
    await store.commit(
      groupId,
      [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: 0, metadata: '' }],
      null,
    );
    void h.call(ApiKey.JoinGroup, 1, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'connect',
      protocols: [{ name: 'default', metadata: Buffer.alloc(0) }],
    });
    await settle();

    const topics = [{ name: 't', partitions: [{ partitionIndex: 0 }] }];
    const answer = await h.call(ApiKey.OffsetDelete, 0, { groupId, topics });
    expect(answer.errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);
    expect(await store.fetch(groupId, null)).toHaveLength(1);
  });

  it('reads subscriptions during a rebalance too: unsubscribed topics are deleted', async () => {
    const store = new MemoryOffsetStore();
    const h = harness({ store, settings: { initialRebalanceDelayMs: 60_000 } });
    const groupId = groupOn(1, h.view.current);
    await store.commit(
      groupId,
      [
        { topic: 't', partition: 0, offset: 1n, leaderEpoch: 0, metadata: '' },
        { topic: 'other', partition: 0, offset: 1n, leaderEpoch: 0, metadata: '' },
      ],
      null,
    );
    void h.call(ApiKey.JoinGroup, 1, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: consumerProtocol(['other']) }],
    });
    await settle();

    const topics = ['t', 'other'].map((name) => ({ name, partitions: [{ partitionIndex: 0 }] }));
    const answer = await h.call(ApiKey.OffsetDelete, 0, { groupId, topics });
    expect(answer.topics).toEqual([
      { name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] },
      {
        name: 'other',
        partitions: [{ partitionIndex: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC }],
      },
    ]);
    expect((await store.fetch(groupId, null)).map((o) => o.topic)).toEqual(['other']);
  });
});
