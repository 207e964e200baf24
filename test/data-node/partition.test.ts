// One partition replica over a real log: who may append and read, the high watermark as the
// consumers' bound, leader epochs fencing stale requests, and wake-ups for waiting fetches.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Partition } from '../../data-node/partition.ts';
import { defaultLogConfig } from '../../data-node/log/log-config.ts';
import { PartitionLog } from '../../data-node/log/partition-log.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { decodeRecords, encodeBatch } from '../../shared/record-batch.ts';

const SELF = 1;
const id = { topic: 't', topicId: '6b1c8f0e-0000-4000-8000-000000000001', partition: 0 };

let dir: string;
let partition: Partition;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weir-partition-'));
  const log = await PartitionLog.open(dir, { ...defaultLogConfig, fsync: false }, silentLogger);
  partition = Partition.create(id, SELF, log, { minInsyncReplicas: 1 }, silentLogger);
});

afterEach(async () => {
  await partition.close();
  rmSync(dir, { recursive: true, force: true });
});

function lead(leaderEpoch: number, isr = [SELF]) {
  partition.applyMetadata(
    { partition: 0, replicas: isr, leader: SELF, leaderEpoch, isr, partitionEpoch: leaderEpoch },
    { minInsyncReplicas: 1 },
  );
}

function follow(leaderEpoch: number) {
  const replicas = [2, SELF];
  partition.applyMetadata(
    { partition: 0, replicas, leader: 2, leaderEpoch, isr: replicas, partitionEpoch: leaderEpoch },
    { minInsyncReplicas: 1 },
  );
}

const batch = (value: string) => encodeBatch([{ value: Buffer.from(value) }]);

async function expectCode(promise: Promise<unknown>, code: number) {
  await expect(promise).rejects.toMatchObject({ code });
}

describe('Partition', () => {
  it('appends as leader and moves the high watermark to the durable end', async () => {
    lead(0);
    const first = await partition.appendAsLeader(batch('a'), 1, Date.now());
    const second = await partition.appendAsLeader(batch('b'), -1, Date.now());

    expect([first.baseOffset, second.baseOffset]).toEqual([0n, 1n]);
    expect(partition.highWatermark).toBe(2n);
    const read = await partition.readForConsumer(0n, 1 << 20, true);
    expect(decodeRecords(read.records).map((r) => String(r.value))).toEqual(['a']);
  });

  it('keeps the order of appends started together', async () => {
    lead(0);
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((v) => partition.appendAsLeader(batch(v), 1, Date.now())),
    );
    expect(results.map((r) => r.baseOffset)).toEqual([0n, 1n, 2n, 3n]);
  });

  it('refuses clients while following', async () => {
    follow(3);
    await expectCode(partition.appendAsLeader(batch('x'), 1, 0), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await expectCode(
      Promise.resolve().then(() => partition.readForConsumer(0n, 100, true)),
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });

  it('refuses acks=all when the ISR is below min.insync.replicas', async () => {
    partition.applyMetadata(
      {
        partition: 0,
        replicas: [SELF, 2],
        leader: SELF,
        leaderEpoch: 0,
        isr: [SELF],
        partitionEpoch: 1,
      },
      { minInsyncReplicas: 2 },
    );
    await expectCode(partition.appendAsLeader(batch('x'), -1, 0), ErrorCode.NOT_ENOUGH_REPLICAS);
    await expect(partition.appendAsLeader(batch('x'), 1, 0)).resolves.toMatchObject({
      baseOffset: 0n,
    });
  });

  it('fences older leader epochs and flags newer ones', () => {
    lead(5);
    expect(() => partition.checkLeaderEpoch(4)).toThrow(
      expect.objectContaining({ code: ErrorCode.FENCED_LEADER_EPOCH }),
    );
    expect(() => partition.checkLeaderEpoch(6)).toThrow(
      expect.objectContaining({ code: ErrorCode.UNKNOWN_LEADER_EPOCH }),
    );
    expect(() => partition.checkLeaderEpoch(5)).not.toThrow();
    expect(() => partition.checkLeaderEpoch(-1)).not.toThrow();
  });

  it('ignores metadata older than the epoch it holds', () => {
    lead(5);
    follow(4);
    expect(partition.role).toBe('leader');
    expect(partition.leaderEpoch).toBe(5);
  });

  it('tells watchers when an append lands', async () => {
    lead(0);
    let calls = 0;
    const unsubscribe = partition.onProgress(() => calls++);
    await partition.appendAsLeader(batch('a'), 1, Date.now());
    unsubscribe();
    await partition.appendAsLeader(batch('b'), 1, Date.now());
    expect(calls).toBe(1);
  });

  it('commits a record once every ISR member has fetched past it', async () => {
    lead(0, [SELF, 2]);
    await partition.appendAsLeader(batch('a'), 1, Date.now());
    const fetch = { replicaId: 2, currentLeaderEpoch: 0, lastFetchedEpoch: -1, nowMs: Date.now() };

    const read = await partition.readForFollower({ ...fetch, fetchOffset: 0n }, 1 << 20, true);
    expect(read.records.length).toBeGreaterThan(0);
    expect(partition.highWatermark).toBe(0n);

    await partition.readForFollower(
      { ...fetch, fetchOffset: 1n, lastFetchedEpoch: 0 },
      1 << 20,
      true,
    );
    expect(partition.highWatermark).toBe(1n);
  });
});
