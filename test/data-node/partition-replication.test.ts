// Replication through the Partition, without sockets: a leader and a follower replica over real
// logs, the follower's calls carried to the leader by a direct in-memory hand-off, and a fake
// controller port. Covers what a producer sees (acks=all waits for the follower; a lagging
// follower leaves the ISR; a pipelined retry is written once) and what a returning replica does
// (truncates its divergent tail, then copies the leader's batches byte for byte). Followers copy
// what a leader has written before its fsync: a leader's fsyncs can be held back here, and a
// crash is a copy of its directory cut back to what was durable.
import { cpSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultLogConfig } from '../../data-node/log/log-config.ts';
import { PartitionLog } from '../../data-node/log/partition-log.ts';
import { Segment } from '../../data-node/log/segment.ts';
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
/** Each replica's log by node id, for what a test does to a log directly. */
let logs: Map<number, PartitionLog>;
let isrRequests: IsrChangeRequest[];
let answerIsr: (request: IsrChangeRequest) => IsrChangeOutcome;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'weir-partition-replication-'));
  opened = [];
  logs = new Map();
  isrRequests = [];
  answerIsr = () => ({
    kind: 'refused',
    errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
    message: '',
  });
});

afterEach(async () => {
  fsyncs.release();
  vi.restoreAllMocks();
  for (const p of opened) await p.close();
  rmSync(root, { recursive: true, force: true });
});

/** Holds back the fsyncs of one log directory until released, as a slow disk would. */
const fsyncs = {
  heldDir: null as string | null,
  waiting: [] as (() => void)[],

  hold(dir: string): void {
    const sync = Segment.prototype.sync;
    vi.spyOn(Segment.prototype, 'sync').mockImplementation(async function (this: Segment) {
      if (fsyncs.heldDir === this.dir) await new Promise<void>((r) => fsyncs.waiting.push(r));
      return sync.call(this);
    });
    this.heldDir = dir;
  },

  release(): void {
    this.heldDir = null;
    for (const resume of this.waiting.splice(0)) resume();
  },
};

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

async function replica(nodeId: number, fsync = false, dir = nodeDir(nodeId)): Promise<Partition> {
  const log = await PartitionLog.open(dir, { ...defaultLogConfig, fsync }, silentLogger);
  logs.set(nodeId, log);
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

function nodeDir(nodeId: number): string {
  return join(root, `node-${nodeId}`);
}

/**
 * A crash of the node whose log is in `dir`, once `durableBytes` of its segment were on disk: a
 * copy of the directory (its checkpoints included) without the bytes that were not.
 */
function crashCopy(dir: string, durableBytes: number): string {
  const copy = `${dir}-restarted`;
  cpSync(dir, copy, { recursive: true });
  truncateSync(join(copy, FIRST_SEGMENT), durableBytes);
  return copy;
}

const FIRST_SEGMENT = '00000000000000000000.log';

function segmentBytes(dir: string): number {
  return statSync(join(dir, FIRST_SEGMENT)).size;
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

describe('followers copy what the leader has written, before it is durable', () => {
  it('wakes the follower at the write; acks=all and consumers wait for its fsync', async () => {
    const [leader, follower] = [await replica(1, true), await replica(2, true)];
    await leader.applyMetadata(record(1, 0), { minInsyncReplicas: 2 });
    await follower.applyMetadata(record(1, 0), { minInsyncReplicas: 2 });
    fsyncs.hold(nodeDir(1));

    let acked = false;
    const produced = leader.appendAsLeader(batch('a'), -1, Date.now()).then((r) => {
      acked = true;
      return r;
    });
    // Waiting fetches are told of the write while the leader's fsync is still held.
    await written(leader, 1n);
    expect(leader.durableEndOffset).toBe(0n);

    await step(follower, leader, 2);
    expect(follower.durableEndOffset).toBe(1n);
    await step(follower, leader, 2);
    expect(leader.highWatermark).toBe(0n);
    expect((await leader.readForConsumer(0n, 1 << 20, true)).records.length).toBe(0);
    expect(acked).toBe(false);

    fsyncs.release();
    expect((await produced).baseOffset).toBe(0n);
    expect(leader.highWatermark).toBe(1n);
    const read = await leader.readForConsumer(0n, 1 << 20, true);
    expect(decodeRecords(read.records).map((r) => String(r.value))).toEqual(['a']);
  });

  it('a leader that crashes before its fsync takes back the tail its follower copied', async () => {
    const [one, two] = [await replica(1, true), await replica(2, true)];
    await one.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await two.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await one.appendAsLeader(batch('committed'), 1, Date.now());
    await step(two, one, 2);
    const durableBytes = segmentBytes(nodeDir(1));

    // Node 2 copies a batch node 1 never makes durable; node 1 crashes and loses it.
    fsyncs.hold(nodeDir(1));
    void one.appendAsLeader(batch('unflushed'), 1, Date.now()).catch(() => undefined);
    await written(one, 2n);
    await step(two, one, 2);
    expect(two.durableEndOffset).toBe(2n);
    const restarted = await replica(1, true, crashCopy(nodeDir(1), durableBytes));
    expect(restarted.logEndOffset).toBe(1n);

    // The controller elects node 2 (node 1 came back with a new incarnation).
    await two.applyMetadata(record(2, 1, [2]), { minInsyncReplicas: 1 });
    await restarted.applyMetadata(record(2, 1, [2]), { minInsyncReplicas: 1 });
    await two.appendAsLeader(batch('next'), 1, Date.now());
    await replicateUntilIdle(restarted, two, 1);

    expect(values(nodeDir(2))).toEqual(['committed', 'unflushed', 'next']);
    expect(values(`${nodeDir(1)}-restarted`)).toEqual(['committed', 'unflushed', 'next']);
  });

  it('a follower cuts what it copied when the leader lost it and leads again', async () => {
    const [one, two] = [await replica(1, true), await replica(2, true)];
    await one.applyMetadata(record(1, 0, [1]), { minInsyncReplicas: 1 });
    await two.applyMetadata(record(1, 0, [1]), { minInsyncReplicas: 1 });
    await one.appendAsLeader(batch('committed'), -1, Date.now());
    await step(two, one, 2);
    const durableBytes = segmentBytes(nodeDir(1));

    fsyncs.hold(nodeDir(1));
    void one.appendAsLeader(batch('unflushed'), 1, Date.now()).catch(() => undefined);
    await written(one, 2n);
    await step(two, one, 2);
    expect(values(nodeDir(2))).toEqual(['committed', 'unflushed']);

    // Node 1, the last ISR member, restarts without the batch and leads again in a new epoch.
    const restarted = await replica(1, true, crashCopy(nodeDir(1), durableBytes));
    await restarted.applyMetadata(record(1, 1, [1]), { minInsyncReplicas: 1 });
    await two.applyMetadata(record(1, 1, [1]), { minInsyncReplicas: 1 });
    await restarted.appendAsLeader(batch('new'), 1, Date.now());
    await replicateUntilIdle(two, restarted, 2);

    expect(values(nodeDir(2))).toEqual(['committed', 'new']);
    const copies = [nodeDir(2), `${nodeDir(1)}-restarted`].map((dir) =>
      readReplicaBatches(dir).map((b) => b.bytes),
    );
    expect(copies[0]).toEqual(copies[1]);
    expect(readReplicaBatches(nodeDir(2)).map((b) => b.leaderEpoch)).toEqual([0, 1]);
  });
});

describe('the high watermark checkpoint', () => {
  it('lets a replica elected right after a restart serve what was committed', async () => {
    const [one, two] = [await replica(1, true), await replica(2, true)];
    await one.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await two.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await one.appendAsLeader(batch('a'), 1, Date.now());
    await step(two, one, 2);
    await step(two, one, 2);
    expect(one.highWatermark).toBe(1n);
    await one.close();

    // Node 1 comes back and leads a new epoch before node 2 has fetched from it.
    const restarted = await replica(1, true);
    expect(restarted.highWatermark).toBe(1n);
    await restarted.applyMetadata(record(1, 1), { minInsyncReplicas: 1 });
    const read = await restarted.readForConsumer(0n, 1 << 20, true);
    expect(decodeRecords(read.records).map((r) => String(r.value))).toEqual(['a']);
  });

  it('survives a crash as last written: lower than the high watermark, never higher', async () => {
    const one = await replica(1, true);
    await one.applyMetadata(record(1, 0, [1]), { minInsyncReplicas: 1 });
    await one.appendAsLeader(batch('a'), 1, Date.now());
    await one.appendAsLeader(batch('b'), 1, Date.now());
    await one.checkpointHighWatermark();
    await one.appendAsLeader(batch('c'), 1, Date.now());
    expect(one.highWatermark).toBe(3n);

    const restarted = await replica(1, true, crashCopy(nodeDir(1), segmentBytes(nodeDir(1))));
    expect(restarted.highWatermark).toBe(2n);
    await restarted.applyMetadata(record(1, 1, [1]), { minInsyncReplicas: 1 });
    expect(restarted.highWatermark).toBe(3n);
  });
});

describe('the log start offset', () => {
  it('follows the leader when records below it are deleted there', async () => {
    const [leader, follower] = [await replica(1), await replica(2)];
    await leader.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    await follower.applyMetadata(record(1, 0), { minInsyncReplicas: 1 });
    for (const value of ['a', 'b', 'c']) await leader.appendAsLeader(batch(value), 1, Date.now());
    await replicateUntilIdle(follower, leader, 2);

    await logs.get(1)!.deleteRecordsBefore(2n);
    await leader.appendAsLeader(batch('d'), 1, Date.now());
    await replicateUntilIdle(follower, leader, 2);

    expect(follower.logStartOffset).toBe(2n);
    expect(follower.logEndOffset).toBe(4n);
  });
});
