// Idempotent producer rules against a simple model that keeps every batch ever appended and looks
// at the last five: a retry of one of them is a duplicate answered with its offsets, anything but
// the next sequence is out of order, an older epoch is fenced, a new epoch starts at 0.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  type LoggedProducerBatch,
  NO_PRODUCER_ID,
  type ProducerBatch,
  ProducerStateTable,
  REMEMBERED_BATCHES,
} from '../../data-node/replication/producer-state.ts';

const SEQUENCE_SPAN = 2 ** 31;

interface ModelBatch {
  first: number;
  last: number;
  baseOffset: bigint;
  lastOffset: bigint;
}

type Verdict = string;

class Model {
  producers = new Map<bigint, { epoch: number; history: ModelBatch[] }>();

  verdict(batch: ProducerBatch): Verdict {
    const p = this.producers.get(batch.producerId);
    if (batch.producerId === NO_PRODUCER_ID || p === undefined) return 'append';
    if (batch.producerEpoch < p.epoch) return `error ${ErrorCode.INVALID_PRODUCER_EPOCH}`;
    if (batch.producerEpoch > p.epoch) {
      return batch.baseSequence === 0
        ? 'append'
        : `error ${ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER}`;
    }

    const last = (batch.baseSequence + batch.lastOffsetDelta) % SEQUENCE_SPAN;
    const recent = p.history.slice(-REMEMBERED_BATCHES);
    const dup = recent.find((b) => b.first === batch.baseSequence && b.last === last);
    if (dup) return `duplicate ${dup.baseOffset}-${dup.lastOffset}`;

    const expected = (p.history[p.history.length - 1].last + 1) % SEQUENCE_SPAN;
    return batch.baseSequence === expected
      ? 'append'
      : `error ${ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER}`;
  }

  append(batch: LoggedProducerBatch): void {
    if (batch.producerId === NO_PRODUCER_ID) return;
    const p = this.producers.get(batch.producerId);
    const entry: ModelBatch = {
      first: batch.baseSequence,
      last: (batch.baseSequence + batch.lastOffsetDelta) % SEQUENCE_SPAN,
      baseOffset: batch.baseOffset,
      lastOffset: batch.baseOffset + BigInt(batch.lastOffsetDelta),
    };
    if (p === undefined || p.epoch !== batch.producerEpoch) {
      this.producers.set(batch.producerId, { epoch: batch.producerEpoch, history: [entry] });
    } else {
      p.history.push(entry);
    }
  }
}

function verdictOf(table: ProducerStateTable, batch: ProducerBatch): Verdict {
  try {
    const v = table.validate(batch);
    return v.kind === 'append' ? 'append' : `duplicate ${v.baseOffset}-${v.lastOffset}`;
  } catch (err) {
    if (err instanceof KafkaError) return `error ${err.code}`;
    throw err;
  }
}

/** How a produced batch relates to what the producer sent before. */
const intentArb = fc.record({
  producer: fc.constantFrom(1n, 2n, NO_PRODUCER_ID),
  epochMove: fc.constantFrom(0, 0, 0, 0, 1, -1),
  sequence: fc.constantFrom('next', 'next', 'next', 'retry', 'retry', 'gap', 'zero', 'wrap'),
  back: fc.integer({ min: 0, max: 7 }),
  lastOffsetDelta: fc.integer({ min: 0, max: 3 }),
});
type Intent = typeof intentArb extends fc.Arbitrary<infer T> ? T : never;

/** Turns an intent into a batch, reading the model for the producer's current position. */
function batchFor(model: Model, intent: Intent): ProducerBatch {
  const p = model.producers.get(intent.producer);
  const epoch = Math.max(0, (p?.epoch ?? 0) + intent.epochMove);
  const history = p?.history ?? [];
  const last = history[history.length - 1];
  const next = last === undefined ? 0 : (last.last + 1) % SEQUENCE_SPAN;

  let baseSequence = next;
  let lastOffsetDelta = intent.lastOffsetDelta;
  if (intent.sequence === 'retry' && history.length > 0) {
    const old = history[Math.max(0, history.length - 1 - intent.back)];
    baseSequence = old.first;
    lastOffsetDelta = Number(old.lastOffset - old.baseOffset);
  } else if (intent.sequence === 'gap') {
    baseSequence = (next + 1 + intent.back) % SEQUENCE_SPAN;
  } else if (intent.sequence === 'zero') {
    baseSequence = 0;
  } else if (intent.sequence === 'wrap') {
    baseSequence = SEQUENCE_SPAN - 1 - intent.back;
  }
  return { producerId: intent.producer, producerEpoch: epoch, baseSequence, lastOffsetDelta };
}

/** Runs intents through table and model; returns the batches appended, in log order. */
function run(intents: Intent[], table: ProducerStateTable, model: Model): LoggedProducerBatch[] {
  const log: LoggedProducerBatch[] = [];
  let end = 0n;
  for (const intent of intents) {
    const batch = batchFor(model, intent);
    const verdict = verdictOf(table, batch);
    expect(verdict).toBe(model.verdict(batch));
    if (verdict !== 'append') continue;

    const logged = { ...batch, baseOffset: end, maxTimestamp: BigInt(log.length) };
    table.onAppend(logged);
    model.append(logged);
    log.push(logged);
    end += BigInt(batch.lastOffsetDelta) + 1n;
  }
  return log;
}

describe('producer state', () => {
  it('agrees with the model on every produced batch', () => {
    fc.assert(
      fc.property(fc.array(intentArb, { maxLength: 60 }), (intents) => {
        run(intents, new ProducerStateTable(), new Model());
      }),
      { numRuns: 500 },
    );
  });

  it('rebuilt from the log, answers as the table kept alongside it', () => {
    fc.assert(
      fc.property(
        fc.array(intentArb, { maxLength: 40 }),
        fc.array(intentArb, { maxLength: 10 }),
        (intents, probes) => {
          const table = new ProducerStateTable();
          const model = new Model();
          const log = run(intents, table, model);

          const rebuilt = ProducerStateTable.rebuild(log);
          for (const probe of probes) {
            const batch = batchFor(model, probe);
            expect(verdictOf(rebuilt, batch)).toBe(verdictOf(table, batch));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // Truncation keeps no history of older epochs, so it may forget a producer whose remaining
  // batches are of an older epoch; it never contradicts the log.
  it('cut back by truncation, agrees with a rebuild of the remaining log or forgets', () => {
    fc.assert(
      fc.property(fc.array(intentArb, { maxLength: 40 }), fc.nat(), (intents, at) => {
        const table = new ProducerStateTable();
        const log = run(intents, table, new Model());
        const kept = log.slice(0, log.length === 0 ? 0 : at % (log.length + 1));
        const cut = kept.length === log.length ? undefined : log[kept.length].baseOffset;
        if (cut !== undefined) table.truncateTo(cut);

        const rebuilt = ProducerStateTable.rebuild(kept);
        for (const id of [1n, 2n]) {
          const a = table.entry(id);
          const b = rebuilt.entry(id);
          if (a === undefined) continue;
          expect(a.epoch).toBe(b?.epoch);
          expect(a.batches.at(-1)).toEqual(b?.batches.at(-1));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers a retried batch with its original offsets', () => {
    const table = new ProducerStateTable();
    const batch = { producerId: 7n, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 2 };
    table.onAppend({ ...batch, baseOffset: 40n, maxTimestamp: 0n });

    expect(table.validate(batch)).toEqual({ kind: 'duplicate', baseOffset: 40n, lastOffset: 42n });
    expect(table.validate({ ...batch, baseSequence: 3 })).toEqual({ kind: 'append' });
    expect(() => table.validate({ ...batch, baseSequence: 4 })).toThrow(/expected 3/);
  });

  it('continues a sequence across int32 max', () => {
    const table = new ProducerStateTable();
    const top = 2 ** 31 - 2;
    table.onAppend({
      producerId: 7n,
      producerEpoch: 0,
      baseSequence: top,
      lastOffsetDelta: 1,
      baseOffset: 0n,
      maxTimestamp: 0n,
    });

    const next = { producerId: 7n, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0 };
    expect(table.validate(next)).toEqual({ kind: 'append' });
  });

  it('forgets producers idle longer than the expiration', () => {
    const table = new ProducerStateTable();
    const batch = { producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 0, baseOffset: 0n };
    table.onAppend({ ...batch, producerId: 1n, maxTimestamp: 1_000n });
    table.onAppend({ ...batch, producerId: 2n, baseOffset: 1n, maxTimestamp: 5_000n });

    expect(table.removeExpired(7_000, 3_000)).toBe(1);
    expect(table.entry(1n)).toBeUndefined();
    expect(table.entry(2n)?.epoch).toBe(0);
  });
});
