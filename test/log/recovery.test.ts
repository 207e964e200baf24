// Opening a log after a crash or damage: a torn or corrupt tail is cut back to the last whole
// valid batch, and nothing before the damage is lost; index files and checkpoints that cannot be
// trusted are rebuilt from the segments.
import { appendFile, readFile, readdir, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { batchOf, openLog, readAll, smallConfig, tempDir } from './helpers.ts';

const FIRST_SEGMENT = '00000000000000000000.log';

/** Writes batches of the given sizes (one record each) and closes; returns their byte ends. */
async function writeLog(dir: string, sizes: number[], segmentBytes = 1 << 20) {
  const log = await openLog(dir, smallConfig({ segmentBytes, maxMessageBytes: 1 << 16 }));
  const ends: number[] = [];
  let at = 0;
  for (const [i, size] of sizes.entries()) {
    const batch = batchOf([`${i}:`.padEnd(size, 'x')], { timestamp: 1000 + i });
    await log.appendAsLeader(batch, 1 + Math.floor(i / 3));
    at += batch.length;
    ends.push(at);
  }
  await log.close();
  return ends;
}

function valuesUpTo(count: number, sizes: number[]): string[] {
  return sizes.slice(0, count).map((size, i) => `${i}:`.padEnd(size, 'x'));
}

describe('recovery of the active segment', () => {
  it('cuts a torn tail at any byte and keeps every whole batch before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        async (sizes, cutSeed) => {
          const dir = await tempDir();
          const ends = await writeLog(dir, sizes);
          const cut = cutSeed % (ends.at(-1)! + 1);
          await truncate(join(dir, FIRST_SEGMENT), cut);

          const log = await openLog(dir, smallConfig());
          const whole = ends.filter((end) => end <= cut).length;
          expect(log.logEndOffset).toBe(BigInt(whole));
          expect((await readAll(log)).map((r) => r.value)).toEqual(valuesUpTo(whole, sizes));
          expect(log.epochEntries().every((e) => e.startOffset < log.logEndOffset)).toBe(true);

          await log.appendAsLeader(batchOf(['after']), 9);
          expect((await readAll(log)).at(-1)?.value).toBe('after');
          await log.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('keeps every batch before a flipped byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (sizes, atSeed, flip) => {
          const dir = await tempDir();
          const ends = await writeLog(dir, sizes);
          const path = join(dir, FIRST_SEGMENT);
          const bytes = await readFile(path);
          const at = atSeed % bytes.length;
          bytes[at] ^= flip;
          await writeFile(path, bytes);

          const log = await openLog(dir, smallConfig());
          const damaged = ends.findIndex((end) => end > at);
          const inBatch = at - (damaged === 0 ? 0 : ends[damaged - 1]);
          // The leader epoch field (bytes 12-15) is outside the CRC: such a flip goes unseen.
          const kept = inBatch >= 12 && inBatch < 16 ? sizes.length : damaged;

          const values = (await readAll(log)).map((r) => r.value);
          expect(values).toEqual(valuesUpTo(kept, sizes));
          await log.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('cuts zeros left by preallocation and stale batches left by a reused file', async () => {
    const dir = await tempDir();
    const sizes = [50, 60, 70];
    const ends = await writeLog(dir, sizes);
    const path = join(dir, FIRST_SEGMENT);
    const original = await readFile(path);

    // Stale but valid batches from an older life of the file: offsets that go backwards.
    await appendFile(path, original.subarray(0, ends[1]));
    await appendFile(path, Buffer.alloc(4096));

    const log = await openLog(dir, smallConfig());
    expect(log.logEndOffset).toBe(3n);
    expect((await readFile(path)).length).toBe(ends[2]);
    expect((await readAll(log)).map((r) => r.value)).toEqual(valuesUpTo(3, sizes));
    await log.close();
  });
});

describe('recovery across segments and checkpoints', () => {
  it('rebuilds missing or damaged index files of sealed segments', async () => {
    const dir = await tempDir();
    const sizes = Array.from({ length: 20 }, () => 150);
    await writeLog(dir, sizes, 1024);
    const indexes = (await readdir(dir)).filter((n) => n.endsWith('index')).sort();
    expect(indexes.length).toBeGreaterThan(2);

    await unlink(join(dir, indexes[0]));
    await writeFile(join(dir, indexes[1]), Buffer.from('garbage'));

    const log = await openLog(dir, smallConfig({ segmentBytes: 1024 }));
    expect((await readAll(log)).map((r) => r.value)).toEqual(valuesUpTo(20, sizes));
    expect((await log.offsetForTimestamp(1005n))?.offset).toBe(5n);
    await log.close();
    expect((await readdir(dir)).filter((n) => n.endsWith('index')).length).toBe(indexes.length);
  });

  it('drops the leader epochs of records lost with a torn tail, and rebuilds a lost checkpoint', async () => {
    const dir = await tempDir();
    const ends = await writeLog(dir, [40, 40, 40, 40, 40, 40, 40]);
    const log = await openLog(dir, smallConfig());
    const before = log.epochEntries();
    await log.close();
    expect(before.map((e) => e.epoch)).toEqual([1, 2, 3]);

    await truncate(join(dir, FIRST_SEGMENT), ends[4] + 10);
    const cut = await openLog(dir, smallConfig());
    expect(cut.epochEntries()).toEqual(before.slice(0, 2));
    await cut.close();

    await unlink(join(dir, 'leader-epoch-checkpoint'));
    const rebuilt = await openLog(dir, smallConfig());
    expect(rebuilt.epochEntries()).toEqual(before.slice(0, 2));
    expect(rebuilt.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 3n });
    await rebuilt.close();
  });

  it('starts empty at the log start offset when the records below it were all lost', async () => {
    const dir = await tempDir();
    await writeLog(dir, [40, 40, 40]);
    const log = await openLog(dir, smallConfig());
    await log.deleteRecordsBefore(2n);
    await log.close();

    await truncate(join(dir, FIRST_SEGMENT), 0);
    const reopened = await openLog(dir, smallConfig());
    expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([2n, 2n]);
    expect((await reopened.appendAsLeader(batchOf(['next']), 5)).baseOffset).toBe(2n);
    await reopened.close();
  });
});
