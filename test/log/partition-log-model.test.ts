// The partition log against a model kept in memory, over random sequences of appends (some
// concurrent), reads, truncations, rolls, log start moves, timestamp lookups and reopens. After
// every step the log must answer exactly as the model says: offsets, records, epochs, and which
// whole batches a bounded read returns.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import { batches } from '../../shared/record-batch.ts';
import type { PartitionLog } from '../../data-node/log/partition-log.ts';
import { batchOf, openLog, smallConfig, tempDir, valuesOf } from './helpers.ts';

interface ModelBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  sizeBytes: number;
  values: string[];
  timestamps: number[];
}

class Model {
  batches: ModelBatch[] = [];
  logStartOffset = 0n;
  logEndOffset = 0n;
  epoch = 0;
  epochs: { epoch: number; startOffset: bigint }[] = [];

  append(values: string[], timestamps: number[], sizeBytes: number): void {
    const baseOffset = this.logEndOffset;
    if (this.epochs.at(-1)?.epoch !== this.epoch)
      this.epochs.push({ epoch: this.epoch, startOffset: baseOffset });
    this.batches.push({
      baseOffset,
      lastOffset: baseOffset + BigInt(values.length - 1),
      sizeBytes,
      values,
      timestamps,
    });
    this.logEndOffset = baseOffset + BigInt(values.length);
  }

  /** A batch goes whole; a cut that would end below the log start empties the log there. */
  truncateTo(offset: bigint): void {
    if (offset >= this.logEndOffset) return;
    if (offset < this.logStartOffset) return this.restart(offset);

    const cut = this.batches.findIndex((b) => b.lastOffset >= offset);
    const end = this.batches[cut].baseOffset;
    if (end < this.logStartOffset) return this.restart(this.logStartOffset);

    this.batches = this.batches.slice(0, cut);
    this.logEndOffset = end;
    this.epochs = this.epochs.filter((e) => e.startOffset < end);
  }

  restart(offset: bigint): void {
    this.batches = [];
    this.logStartOffset = offset;
    this.logEndOffset = offset;
    this.epochs = [];
  }

  deleteBefore(offset: bigint): void {
    if (offset <= this.logStartOffset) return;
    this.logStartOffset = offset;
    const covering = this.epochs.filter((e) => e.startOffset <= offset).at(-1);
    this.epochs = this.epochs.filter((e) => e.startOffset > offset);
    if (covering) this.epochs.unshift({ epoch: covering.epoch, startOffset: offset });
  }

  records(): { offset: bigint; value: string; timestamp: number }[] {
    return this.batches.flatMap((b) =>
      b.values.map((value, i) => ({
        offset: b.baseOffset + BigInt(i),
        value,
        timestamp: b.timestamps[i],
      })),
    );
  }
}

type Op =
  | { kind: 'append'; groups: { values: string[]; timestamps: number[] }[]; bumpEpoch: boolean }
  | { kind: 'read'; at: number; maxBytes: number; bound: number; minOneBatch: boolean }
  | { kind: 'truncate'; at: number }
  | { kind: 'deleteBefore'; at: number }
  | { kind: 'timestamp'; ts: number }
  | { kind: 'roll' }
  | { kind: 'reopen' };

const fraction = fc.integer({ min: 0, max: 1000 });
const group = fc
  .array(fc.tuple(fc.string({ maxLength: 120 }), fc.integer({ min: 0, max: 100 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((rs) => ({ values: rs.map(([v]) => v), timestamps: rs.map(([, t]) => t) }));

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      groups: fc.array(group, { minLength: 1, maxLength: 3 }),
      bumpEpoch: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      at: fraction,
      maxBytes: fc.integer({ min: 1, max: 1500 }),
      bound: fraction,
      minOneBatch: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteBefore' as const), at: fraction }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('timestamp' as const),
      ts: fc.integer({ min: 0, max: 110 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'roll' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** An offset in [0, end + 1], spread by a fraction. */
function pick(end: bigint, at: number): bigint {
  return ((end + 2n) * BigInt(at)) / 1001n;
}

async function expectOutOfRange(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  expect((err as KafkaError).code).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
}

/** The batches a read must return: from the one holding `at`, inside its segment, within limits. */
function expectedRead(
  model: Model,
  segmentBases: bigint[],
  at: bigint,
  maxBytes: number,
  bound: bigint,
  minOne: boolean,
) {
  const start = model.batches.findIndex((b) => b.lastOffset >= at);
  if (start < 0 || model.batches[start].lastOffset >= bound) return [];
  const first = model.batches[start];
  const segmentEnd = segmentBases.find((b) => b > first.baseOffset) ?? 1n << 62n;
  if (first.sizeBytes > maxBytes && !minOne) return [];

  const out = [first];
  let bytes = first.sizeBytes;
  for (const next of model.batches.slice(start + 1)) {
    if (
      next.baseOffset >= segmentEnd ||
      next.lastOffset >= bound ||
      bytes + next.sizeBytes > maxBytes
    )
      break;
    out.push(next);
    bytes += next.sizeBytes;
  }
  return out;
}

async function check(log: PartitionLog, model: Model): Promise<void> {
  expect([log.logStartOffset, log.logEndOffset]).toEqual([
    model.logStartOffset,
    model.logEndOffset,
  ]);
  expect(log.epochEntries()).toEqual(model.epochs);

  const bases = log.segmentBaseOffsets;
  expect(bases[0] <= log.logStartOffset).toBe(true);
  for (let i = 1; i < bases.length; i++) expect(bases[i] > bases[i - 1]).toBe(true);

  const visible = model.records().filter((r) => r.offset >= model.logStartOffset);
  const read = [];
  let offset = model.logStartOffset;
  while (offset < model.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20);
    const values = valuesOf(records).filter((r) => r.offset >= offset);
    read.push(...values);
    offset = values.at(-1)!.offset + 1n;
  }
  expect(read).toEqual(visible.map((r) => ({ offset: r.offset, value: r.value })));
}

interface Settings {
  fsync: boolean;
  indexIntervalBytes: number;
  tailCacheBytes: number;
}

async function run(ops: Op[], settings: Settings): Promise<void> {
  const dir = await tempDir();
  const config = smallConfig({ ...settings, segmentBytes: 1024, maxMessageBytes: 4096 });
  let log = await openLog(dir, config);
  const model = new Model();

  for (const step of ops) {
    if (step.kind === 'append') {
      if (step.bumpEpoch) model.epoch += 1;
      const encoded = step.groups.map((g) => batchOf(g.values, { timestamps: g.timestamps }));
      const results = await Promise.all(encoded.map((b) => log.appendAsLeader(b, model.epoch)));
      step.groups.forEach((g, i) => {
        expect(results[i].baseOffset).toBe(model.logEndOffset);
        model.append(g.values, g.timestamps, encoded[i].length);
      });
    } else if (step.kind === 'read') {
      const at = pick(model.logEndOffset, step.at);
      const bound = step.bound > 800 ? model.logEndOffset : at + BigInt(step.bound % 12);
      if (at < model.logStartOffset || at > model.logEndOffset) {
        await expectOutOfRange(log.read(at, step.maxBytes, bound, step.minOneBatch));
        continue;
      }
      const { records } = await log.read(at, step.maxBytes, bound, step.minOneBatch);
      const got = [...batches(records)].map((b) => b.baseOffset);
      const want = expectedRead(
        model,
        log.segmentBaseOffsets,
        at,
        step.maxBytes,
        bound,
        step.minOneBatch,
      );
      expect(got).toEqual(want.map((b) => b.baseOffset));
    } else if (step.kind === 'truncate') {
      const at = pick(model.logEndOffset, step.at);
      await log.truncateTo(at);
      model.truncateTo(at);
    } else if (step.kind === 'deleteBefore') {
      const at = pick(model.logEndOffset, step.at);
      if (at > model.logEndOffset) {
        await expectOutOfRange(log.deleteRecordsBefore(at));
        continue;
      }
      await log.deleteRecordsBefore(at);
      model.deleteBefore(at);
    } else if (step.kind === 'timestamp') {
      const want = model
        .records()
        .find((r) => r.offset >= model.logStartOffset && r.timestamp >= step.ts);
      const got = await log.offsetForTimestamp(BigInt(step.ts));
      expect(got?.offset ?? null).toBe(want?.offset ?? null);
    } else if (step.kind === 'roll') {
      await log.roll();
    } else {
      await log.close();
      log = await openLog(dir, config);
    }
    await check(log, model);
  }
  await log.close();
}

describe('partition log against a model', () => {
  it('agrees with the model over random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.record({
          fsync: fc.boolean(),
          indexIntervalBytes: fc.constantFrom(1, 150, 4096),
          // Off, smaller than a segment (reads fall back to the file), and everything cached.
          tailCacheBytes: fc.constantFrom(0, 300, 1 << 20),
        }),
        run,
      ),
      { numRuns: 80 },
    );
  });
});
