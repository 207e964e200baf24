// Replication through the Partition, without sockets: a leader and a follower replica over real
// logs, the follower's calls carried to the leader by a direct in-memory hand-off, and a fake
// controller port. Covers what a producer sees (acks=all waits for the follower; a lagging
// follower leaves the ISR; a pipelined retry is written once) and what a returning replica does
// (truncates its divergent tail, then copies the leader's batches byte for byte).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLogConfig } from '../../data-node/log/log-config.ts';
import { PartitionLog } from '../../data-node/log/partition-log.ts';
import {
  Partition,
  type FollowerAnswer,
  type IsrChangeOutcome,
  type ReplicationOptions,
} from '../../data-node/partition.ts';
import type { IsrChangeRequest } from '../../data-node/replication/leader-state.ts';
import type { PartitionRecord } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { decodeRecords, encodeBatch } from '../../shared/record-batch.ts';
import { readReplicaBatches } from '../integration/replica-logs.ts';

const id = { topic: 't', topicId: '6b1c8f0e-0000-4000-8000-000000000002', partition: 0 };
const REPLICAS = [1, 2];
const LAG_MS = 1000;

let root: string;
let opened: Partition[];
let isrRequests: IsrChangeRequest[];
let answerIsr: (request: IsrChangeRequest) => IsrChangeOutcome;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'weir-partition-replication-'));
  opened = [];
  isrRequests = [];
  answerIsr = () => ({
    kind: 'refused',
    errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    message: '',
  });
});

afterEach(async () => {
  for (const p of opened) await p.close();
  rmSync(root, { recursive: true, force: true });
});

function options(): ReplicationOptions {
  return {
    replicaLagTimeMaxMs: LAG_MS,
    isrResendMs: 60_000,
    port: {
      changeIsr: async (_id, request) => {
        isrRequests.push(request);
        return answerIsr(request);
      },
      eligibleToJoin: () => true,
      followerReady: () => undefined,
    },
  };
}

async function replica(nodeId: number): Promise<Partition> {
  const dir = join(root, `node-${nodeId}`);
  const log = await PartitionLog.open(dir, { ...defaultLogConfig, fsync: false }, silentLogger);
  const partition = Partition.create(
    id,
    nodeId,
    log,
    { minInsyncReplicas: 1 },
    silentLogger,
    options(),
  );
  opened.push(partition);
  return partition;
}

function record(leader: number, leaderEpoch: number, isr = REPLICAS): PartitionRecord {
  return {
    partition: 0,
    replicas: REPLICAS,
    leader,
    leaderEpoch,
    isr,
    partitionEpoch: leaderEpoch,
  };
}

const batch = (value: string, producer?: { id: bigint; sequence: number }) =>
  encodeBatch(
    [{ value: Buffer.from(value) }],
    producer && { producerId: producer.id, producerEpoch: 0, baseSequence: producer.sequence },
  );

/** Carries the follower's next call to the leader and its answer back, as the fetcher would. */
async function step(follower: Partition, leader: Partition, followerId: number): Promise<boolean> {
  const call = follower.nextFollowerCall();
  if (call === null) return false;

  let answer: FollowerAnswer;
  if (call.request.kind === 'epoch-end-offset') {
    const found = leader.endOffsetForEpoch(call.request.leaderEpoch);
    answer = { kind: 'epoch', errorCode: ErrorCode.NONE, ...found };
  } else {
    const { fetchOffset, currentLeaderEpoch, lastFetchedEpoch } = call.request;
    const fetch = {
      replicaId: followerId,
      fetchOffset,
      currentLeaderEpoch,
      lastFetchedEpoch,
      nowMs: Date.now(),
    };
    const read = await leader.readForFollower(fetch, 1 << 20, true);
    answer = {
      kind: 'fetch',
      errorCode: ErrorCode.NONE,
      highWatermark: leader.highWatermark,
      logStartOffset: leader.logStartOffset,
      divergingEpoch: read.divergingEpoch,
      records: read.records,
    };
  }
  await follower.answerFollowerCall(call, answer);
  return true;
}

async function replicateUntilIdle(
  follower: Partition,
  leader: Partition,
  followerId: number,
): Promise<void> {
  for (let i = 0; i < 20; i++) await step(follower, leader, followerId);
}

/** Resolves once the partition's log has grown to `end` (its write landed). */
function written(partition: Partition, end: bigint): Promise<void> {
  return new Promise((resolve) => {
    if (partition.logEndOffset >= end) return resolve();
    const stop = partition.onProgress(() => {
      if (partition.logEndOffset < end) return;
      stop();
      resolve();
    });
  });
}

/** Resolves once the write landed and the produce behind it has moved on to wait for acks. */
async function landed(partition: Partition, end: bigint): Promise<void> {
  await written(partition, end);
  await new Promise((resolve) => setImmediate(resolve));
}

function values(dir: string): string[] {
  return readReplicaBatches(dir).flatMap((b) => decodeRecords(b.bytes).map((r) => String(r.value)));
}

describe('a leader with one follower', () => {
  it('answers acks=all only once the follower has the batch', async () => {
    const [leader, follower] = [await replica(1), await replica(2)];
    await leader.applyMetadata(record(1, 0), { minInsyncReplicas: 2 });
    await follower.applyMetadata(record(1, 0), { minInsyncReplicas: 2 });

    let acked = false;
    const produced = leader.appendAsLeader(batch('a'), -1, Date.now()).then((r) => {
      acked = true;
      return r;
    });
    await written(leader, 1n);
    await step(follower, leader, 2);
    expect(acked).toBe(false);

    await step(follower, leader, 2);
    expect((await produced).baseOffset).toBe(0n);
    expect(leader.highWatermark).toBe(1n);
  });

  it('fails acks=all with REQUEST_TIMED_OUT when the follower never fetches', async () => {
    const leader = await replica(1);
    await leader.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });

    const produced = leader.appendAsLeader(batch('a'), -1, Date.now(), 100);
    await landed(leader, 1n);
    leader.tick(Date.now() + 200);
    await expect(produced).rejects.toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT });
  });

  it('drops a lagging follower from the ISR, then commits without it', async () => {
    const leader = await replica(1);
    await leader.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    answerIsr = (r) => ({ kind: 'committed', leaderEpoch: 0, partitionEpoch: 1, isr: r.isr });

    const produced = leader.appendAsLeader(batch('a'), -1, Date.now());
    await landed(leader, 1n);
    leader.tick(Date.now() + LAG_MS * 2);

    await expect(produced).resolves.toMatchObject({ baseOffset: 0n });
    expect(isrRequests.map((r) => r.isr)).toEqual([[1]]);
    expect(leader.leaderIsr).toEqual([1]);
  });

  it('writes a pipelined retry of an idempotent batch once', async () => {
    const leader = await replica(1);
    await leader.applyMetadata(record(1, 0, [1]), { minInsyncReplicas: 1 });
    const producer = { id: 7n, sequence: 0 };

    const [first, retry, next] = await Promise.all([
      leader.appendAsLeader(batch('a', producer), 1, Date.now()),
      leader.appendAsLeader(batch('a', producer), 1, Date.now()),
      leader.appendAsLeader(batch('b', { ...producer, sequence: 1 }), 1, Date.now()),
    ]);
    expect([first.baseOffset, retry.baseOffset, next.baseOffset]).toEqual([0n, 0n, 1n]);
    expect(leader.logEndOffset).toBe(2n);

    await expect(
      leader.appendAsLeader(batch('c', { ...producer, sequence: 5 }), 1, Date.now()),
    ).rejects.toMatchObject({ code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
  });
});

describe('a returning replica', () => {
  it('truncates what the new leader does not have and copies the rest byte for byte', async () => {
    const [one, two] = [await replica(1), await replica(2)];
    await one.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await two.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await one.appendAsLeader(batch('committed'), 1, Date.now());
    await replicateUntilIdle(two, one, 2);

    // Node 1 writes a batch no one else gets, then node 2 leads epoch 1 and writes its own.
    await one.appendAsLeader(batch('lost'), 1, Date.now());
    await two.applyMetadata(record(2, 1), { minInsyncReplicas: 1 });
    await one.applyMetadata(record(2, 1), { minInsyncReplicas: 1 });
    await two.appendAsLeader(batch('new'), 1, Date.now());

    await replicateUntilIdle(one, two, 1);
    expect(values(join(root, 'node-1'))).toEqual(['committed', 'new']);
    const copies = [1, 2].map((n) =>
      readReplicaBatches(join(root, `node-${n}`)).map((b) => b.bytes),
    );
    expect(copies[0]).toEqual(copies[1]);
  });
});
