// The partition log as its users see it: offsets assigned by the leader, reads bounded by bytes
// and by the high watermark, leader epochs, truncation, log start offset, rolls and retention.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import { BatchView, batches, decodeRecords } from '../../shared/record-batch.ts';
import {
  HIGH_WATERMARK_CHECKPOINT,
  UnexpectedAppendOffsetError,
} from '../../data-node/log/partition-log.ts';
import { batchOf, openLog, readAll, smallConfig, tempDir, valuesOf } from './helpers.ts';

async function expectKafkaError(promise: Promise<unknown>, code: number): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  expect((err as KafkaError).code).toBe(code);
}

describe('appending as leader', () => {
  it('assigns consecutive offsets and stamps the leader epoch', async () => {
    const log = await openLog(await tempDir(), smallConfig());

    const first = await log.appendAsLeader(batchOf(['a', 'b', 'c']), 4);
    const second = await log.appendAsLeader(batchOf(['d']), 4);

    expect(first).toMatchObject({ baseOffset: 0n, lastOffset: 2n, logAppendTimeMs: -1n });
    expect(second).toMatchObject({ baseOffset: 3n, lastOffset: 3n });
    expect(log.logEndOffset).toBe(4n);
    expect(log.flushedOffset).toBe(4n);

    const { records } = await log.read(0n, 1 << 20);
    const views = [...batches(records)];
    expect(views.map((b) => b.partitionLeaderEpoch)).toEqual([4, 4]);
    expect(valuesOf(records).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd']);
    await log.close();
  });

  it('keeps concurrent appends in call order and shares fsyncs among them', async () => {
    const log = await openLog(await tempDir(), smallConfig({ segmentBytes: 64 * 1024 }));

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.appendAsLeader(batchOf([`v${i}`, `w${i}`]), 0)),
    );

    expect(results.map((r) => r.baseOffset)).toEqual(results.map((_, i) => BigInt(2 * i)));
    expect(log.flushedOffset).toBe(100n);
    const values = (await readAll(log)).map((r) => r.value);
    expect(values.slice(0, 4)).toEqual(['v0', 'w0', 'v1', 'w1']);
    expect(values).toHaveLength(100);
    await log.close();
  });

  it('refuses corrupt, oversized and mis-counted batches with Kafka error codes', async () => {
    const log = await openLog(await tempDir(), smallConfig({ maxMessageBytes: 200 }));

    const corrupt = batchOf(['x']);
    corrupt[corrupt.length - 1] ^= 0xff;
    await expectKafkaError(log.appendAsLeader(corrupt, 0), ErrorCode.CORRUPT_MESSAGE);

    const big = batchOf(['y'.repeat(300)]);
    await expectKafkaError(log.appendAsLeader(big, 0), ErrorCode.MESSAGE_TOO_LARGE);

    const oldMagic = batchOf(['z']);
    oldMagic.writeInt8(1, 16);
    await expectKafkaError(log.appendAsLeader(oldMagic, 0), ErrorCode.INVALID_RECORD);

    expect(log.logEndOffset).toBe(0n);
    await log.close();
  });

  it('refuses an append from an older leader epoch', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.appendAsLeader(batchOf(['a']), 5);

    await expectKafkaError(log.appendAsLeader(batchOf(['b']), 4), ErrorCode.FENCED_LEADER_EPOCH);
    expect(log.logEndOffset).toBe(1n);
    await log.close();
  });

  it('stamps the broker clock on LogAppendTime topics', async () => {
    const config = smallConfig({ timestampType: 'LogAppendTime' });
    const log = await openLog(await tempDir(), config, { clock: () => 777_000 });

    const result = await log.appendAsLeader(batchOf(['a', 'b'], { timestamp: 5 }), 0);

    expect(result.logAppendTimeMs).toBe(777_000n);
    const { records } = await log.read(0n, 4096);
    expect(decodeRecords(records).map((r) => r.timestamp)).toEqual([777_000n, 777_000n]);
    await log.close();
  });
});

describe('progress', () => {
  it('shows a write to readers before it is durable, and tells listeners of both', async () => {
    const log = await openLog(await tempDir(), smallConfig({ fsync: true }));
    const seen: [bigint, bigint][] = [];
    const reads: Promise<unknown>[] = [];
    log.onProgress(() => {
      seen.push([log.logEndOffset, log.flushedOffset]);
      reads.push(log.read(0n, 1 << 20));
    });

    await log.appendAsLeader(batchOf(['a', 'b']), 0);

    // Written (readable) first, durable second; the append resolves after both.
    expect(seen).toEqual([
      [2n, 0n],
      [2n, 2n],
    ]);
    const [whileUnflushed] = (await Promise.all(reads)) as { records: Buffer }[];
    expect(valuesOf(whileUnflushed.records).map((r) => r.value)).toEqual(['a', 'b']);
    await log.close();
  });
});

describe('reading', () => {
  it('refuses offsets outside [log start, log end] and returns nothing at the end', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b']), 0);

    await expectKafkaError(log.read(3n, 1000), ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.deleteRecordsBefore(1n);
    await expectKafkaError(log.read(0n, 1000), ErrorCode.OFFSET_OUT_OF_RANGE);

    const atEnd = await log.read(2n, 1000);
    expect(atEnd.records.length).toBe(0);
    expect(atEnd).toMatchObject({ logStartOffset: 1n, logEndOffset: 2n });
    await log.close();
  });

  it('returns the batch holding the fetch offset, whole', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b', 'c']), 0);

    const { records } = await log.read(1n, 1000);

    expect(new BatchView(records, 0).baseOffset).toBe(0n);
    expect(valuesOf(records).map((r) => r.offset)).toEqual([0n, 1n, 2n]);
    await log.close();
  });

  it('stops below the high watermark given as maxOffset', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    for (const v of ['a', 'b', 'c']) await log.appendAsLeader(batchOf([v]), 0);

    const { records } = await log.read(0n, 1 << 20, 2n);
    expect(valuesOf(records).map((r) => r.value)).toEqual(['a', 'b']);
    expect((await log.read(2n, 1 << 20, 2n)).records.length).toBe(0);
    await log.close();
  });

  it('returns a first batch larger than maxBytes whole only with minOneBatch (P3)', async () => {
    const config = smallConfig({ segmentBytes: 1 << 20, maxMessageBytes: 1 << 20 });
    const log = await openLog(await tempDir(), config);
    await log.appendAsLeader(batchOf(['x'.repeat(100_000)]), 0);
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batchOf([`small-${i}`]), 0);

    const strict = await log.read(0n, 1024, log.logEndOffset, false);
    expect(strict.records.length).toBe(0);

    const first = await log.read(0n, 1, log.logEndOffset, true);
    expect(valuesOf(first.records).map((r) => r.offset)).toEqual([0n]);

    const rest = await log.read(1n, 200, log.logEndOffset, true);
    const restValues = valuesOf(rest.records);
    expect(rest.records.length).toBeLessThanOrEqual(200);
    expect(restValues[0].value).toBe('small-0');

    expect(await readAll(log)).toHaveLength(11);
    await log.close();
  });
});

describe('offsets by timestamp (P5)', () => {
  const table: [number, bigint | null][] = [
    [1, 0n],
    [2, 0n],
    [3, 1n],
    [5, 2n],
    [9, 5n],
    [12, 5n],
    [13, null],
  ];

  async function p5Log(compression: 0 | 1, roll: boolean) {
    const log = await openLog(await tempDir(), smallConfig({ indexIntervalBytes: 1 }));
    const values = ['a', 'b', 'c', 'd', 'e'];
    await log.appendAsLeader(batchOf(values, { timestamps: [2, 4, 6, 8, 3], compression }), 0);
    if (roll) await log.roll();
    await log.appendAsLeader(batchOf(['f', 'g'], { timestamps: [12, 10], compression }), 0);
    return log;
  }

  for (const compression of [0, 1] as const) {
    for (const roll of [false, true]) {
      it(`finds the earliest record at or after T (codec ${compression}, rolled ${roll})`, async () => {
        const log = await p5Log(compression, roll);
        for (const [t, expected] of table) {
          const match = await log.offsetForTimestamp(BigInt(t));
          expect(match?.offset ?? null, `T=${t}`).toBe(expected);
        }
        await log.close();
      });
    }
  }

  it('answers the same after a reopen, from index files', async () => {
    const dir = await tempDir();
    const log = await p5Log(0, true);
    await log.close();
    const reopened = await openLog(log.dir, smallConfig({ indexIntervalBytes: 1 }));
    expect((await reopened.offsetForTimestamp(9n))?.offset).toBe(5n);
    expect((await reopened.offsetForTimestamp(3n))?.offset).toBe(1n);
    await reopened.close();
    expect(dir).toBeTruthy();
  });

  it('skips records below the log start offset', async () => {
    const log = await p5Log(0, false);
    await log.deleteRecordsBefore(3n);
    expect((await log.offsetForTimestamp(3n))?.offset).toBe(3n);
    await log.close();
  });
});

describe('leader epochs', () => {
  it('answers where each epoch ended', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b']), 1);
    await log.appendAsLeader(batchOf(['c']), 3);
    await log.appendAsLeader(batchOf(['d']), 3);

    expect(log.latestEpoch).toBe(3);
    expect(log.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 4n });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 1, endOffset: 2n });
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 2n });
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 0n });
    expect(log.endOffsetForEpoch(7)).toEqual({ leaderEpoch: -1, endOffset: -1n });
    await log.close();
  });

  it('lets a follower copy the leader batches with their offsets and epochs', async () => {
    const leader = await openLog(await tempDir(), smallConfig());
    const follower = await openLog(await tempDir(), smallConfig());
    await leader.appendAsLeader(batchOf(['a', 'b']), 1);
    await leader.appendAsLeader(batchOf(['c']), 2);

    const fetched = await leader.read(0n, 1 << 20);
    const result = await follower.appendAsFollower(Buffer.from(fetched.records));

    expect(result).toMatchObject({ baseOffset: 0n, lastOffset: 2n });
    expect(follower.epochEntries()).toEqual(leader.epochEntries());
    expect((await follower.read(0n, 1 << 20)).records).toEqual(fetched.records);

    const gap = await leader.appendAsLeader(batchOf(['d']), 2).then(() => leader.read(3n, 100));
    await leader.appendAsLeader(batchOf(['e']), 2);
    const late = await leader.read(4n, 100);
    await expect(follower.appendAsFollower(Buffer.from(late.records))).rejects.toBeInstanceOf(
      UnexpectedAppendOffsetError,
    );
    await follower.appendAsFollower(Buffer.from(gap.records));
    expect(follower.logEndOffset).toBe(4n);
    await Promise.all([leader.close(), follower.close()]);
  });
});

describe('truncation', () => {
  it('removes the batch holding the offset and the epochs that started after', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b']), 1);
    await log.appendAsLeader(batchOf(['c', 'd']), 2);
    await log.appendAsLeader(batchOf(['e']), 3);

    const end = await log.truncateTo(3n);

    expect(end).toBe(2n);
    expect(log.latestEpoch).toBe(1);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['a', 'b']);
    await log.appendAsLeader(batchOf(['x']), 4);
    await log.close();

    const reopened = await openLog(dir, smallConfig());
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(['a', 'b', 'x']);
    expect(reopened.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0n },
      { epoch: 4, startOffset: 2n },
    ]);
    await reopened.close();
  });

  it('still finds timestamps of the batches kept by a truncation', async () => {
    for (const indexIntervalBytes of [1, 4096]) {
      const log = await openLog(await tempDir(), smallConfig({ indexIntervalBytes }));
      for (const ts of [50, 10, 70, 20]) {
        await log.appendAsLeader(batchOf(['v'], { timestamp: ts }), 0);
      }

      await log.truncateTo(2n);

      expect((await log.offsetForTimestamp(40n))?.offset).toBe(0n);
      expect(await log.offsetForTimestamp(60n)).toBeNull();
      await log.appendAsLeader(batchOf(['w'], { timestamp: 60 }), 0);
      expect((await log.offsetForTimestamp(55n))?.offset).toBe(2n);
      await log.close();
    }
  });

  it('deletes whole segments after the truncation point', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    for (let i = 0; i < 6; i++) {
      await log.appendAsLeader(batchOf([`v${i}`]), 0);
      await log.roll();
    }
    expect(log.segmentBaseOffsets.length).toBe(7);

    await log.truncateTo(2n);

    expect(log.segmentBaseOffsets).toEqual([0n, 1n, 2n]);
    expect(log.logEndOffset).toBe(2n);
    await log.appendAsLeader(batchOf(['again']), 1);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['v0', 'v1', 'again']);
    await log.close();
  });

  it('restarts empty at an offset below the log start', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b', 'c']), 0);

    await log.truncateFullyAndStartAt(100n);

    expect([log.logStartOffset, log.logEndOffset]).toEqual([100n, 100n]);
    const follower = await log.appendAsFollower(
      batchOf(['z'], { baseOffset: 100n, partitionLeaderEpoch: 3 }),
    );
    expect(follower.baseOffset).toBe(100n);
    expect(log.latestEpoch).toBe(3);
    await log.close();
  });
});

describe('segments and retention', () => {
  it('rolls when a segment would pass segment.bytes, and by segment.ms', async () => {
    let now = 1_000;
    const config = smallConfig({ segmentBytes: 1024, segmentMs: 60_000 });
    const log = await openLog(await tempDir(), config, { clock: () => now });

    for (let i = 0; i < 10; i++) await log.appendAsLeader(batchOf(['x'.repeat(200)]), 0);
    const bySize = log.segmentBaseOffsets.length;
    expect(bySize).toBeGreaterThan(2);

    now += 60_000;
    await log.appendAsLeader(batchOf(['late']), 0);
    expect(log.segmentBaseOffsets.length).toBe(bySize + 1);
    expect((await readAll(log)).length).toBe(11);
    await log.close();
  });

  it('deletes whole segments by retention.ms, only below the high watermark', async () => {
    const config = smallConfig({ retentionMs: 1000 });
    const log = await openLog(await tempDir(), config);
    for (const ts of [100, 200, 5000]) {
      await log.appendAsLeader(batchOf([`t${ts}`], { timestamp: ts }), 0);
      await log.roll();
    }

    const bounded = await log.applyRetention(3000, 1n);
    expect(bounded).toEqual({ deletedSegments: 1, logStartOffset: 1n });

    const rest = await log.applyRetention(3000);
    expect(rest).toEqual({ deletedSegments: 1, logStartOffset: 2n });
    expect((await readAll(log)).map((r) => r.value)).toEqual(['t5000']);

    const all = await log.applyRetention(10_000);
    expect(all.logStartOffset).toBe(3n);
    expect(log.logEndOffset).toBe(3n);
    await log.close();
  });

  it('deletes the oldest segments while the log is over retention.bytes', async () => {
    const batchBytes = batchOf(['y'.repeat(40)]).length;
    const build = async (retentionBytes: number) => {
      const log = await openLog(await tempDir(), smallConfig({ retentionBytes }));
      for (let i = 0; i < 5; i++) await log.appendAsLeader(batchOf(['y'.repeat(40)]), 0);
      for (let i = 0; i < 2; i++) {
        await log.roll();
        await log.appendAsLeader(batchOf(['z'.repeat(40)]), 0);
      }
      return log;
    };

    // Deleting the first segment (5 batches) would go below the limit: whole segments only.
    const over = await build(2.5 * batchBytes);
    expect(await over.applyRetention(0)).toEqual({ deletedSegments: 0, logStartOffset: 0n });
    await over.close();

    const exact = await build(2 * batchBytes);
    expect(await exact.applyRetention(0)).toEqual({ deletedSegments: 1, logStartOffset: 5n });
    expect(exact.sizeBytes).toBe(2 * batchBytes);
    await exact.close();
  });

  it('keeps an epoch that wrote nothing across a reopen, at a moved log start', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    await log.appendAsLeader(batchOf(['a']), 0);
    await log.deleteRecordsBefore(1n);
    await log.appendAsLeader(batchOf(['b']), 1);
    const epochs = log.epochEntries();
    await log.close();

    const reopened = await openLog(dir, smallConfig());
    expect(reopened.epochEntries()).toEqual(epochs);
    expect(reopened.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 1n });
    await reopened.close();
  });

  it('checkpoints the high watermark within the durable log; a truncation lowers it', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    for (const value of ['a', 'b', 'c']) await log.appendAsLeader(batchOf([value]), 0);

    await log.saveHighWatermark(10n);
    expect(log.highWatermarkCheckpoint).toBe(3n);
    await log.truncateTo(1n);
    expect(log.highWatermarkCheckpoint).toBe(1n);
    await log.appendAsLeader(batchOf(['x']), 1);
    await log.close();

    const reopened = await openLog(dir, smallConfig());
    expect(reopened.highWatermarkCheckpoint).toBe(1n);
    await reopened.close();
  });

  it('cuts a checkpointed high watermark to the recovered log end', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    await log.appendAsLeader(batchOf(['a', 'b']), 0);
    await log.close();
    await writeFile(join(dir, HIGH_WATERMARK_CHECKPOINT), '99\n');

    const reopened = await openLog(dir, smallConfig());
    expect(reopened.highWatermarkCheckpoint).toBe(2n);
    await reopened.close();
  });

  it('moves the log start offset with deleteRecordsBefore and keeps it across reopen', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    for (let i = 0; i < 4; i++) {
      await log.appendAsLeader(batchOf([`v${i}`, `w${i}`]), 0);
      await log.roll();
    }

    expect(await log.deleteRecordsBefore(5n)).toBe(5n);
    expect(log.segmentBaseOffsets[0]).toBe(4n);
    await expectKafkaError(log.deleteRecordsBefore(99n), ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.close();

    const reopened = await openLog(dir, smallConfig());
    expect(reopened.logStartOffset).toBe(5n);
    expect((await readAll(reopened)).map((r) => r.value)).toEqual(['w2', 'v3', 'w3']);
    await reopened.close();
  });

  it('names segment files by base offset and removes them with the log', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, smallConfig());
    await log.appendAsLeader(batchOf(['a']), 0);
    await log.roll();

    const files = (await readdir(dir)).sort();
    expect(files).toContain('00000000000000000000.log');
    expect(files).toContain('00000000000000000000.index');
    expect(files).toContain('00000000000000000000.timeindex');
    expect(files).toContain('00000000000000000001.log');

    await log.delete();
    await expect(readdir(dir)).rejects.toThrow();
  });

  it('refuses work after close', async () => {
    const log = await openLog(await tempDir(), smallConfig());
    await log.close();
    await expectKafkaError(log.appendAsLeader(batchOf(['a']), 0), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});
