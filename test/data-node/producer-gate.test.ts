// The leader's idempotence check with writes in flight (data-node/producer-gate.ts), against a
// model: one producer sends batches in sequence and retries any of its last five at any moment,
// while the log writes admitted batches in admission order at random moments. Every sequence must
// be written exactly once and in order, and every retry must be answered with the original's
// offsets, whether the original was still in flight or already written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProducerGate, type Ticket } from '../../data-node/producer-gate.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';

const PRODUCER = 42n;

const batchOf = (sequence: number, epoch = 0) => ({
  producerId: PRODUCER,
  producerEpoch: epoch,
  baseSequence: sequence,
  lastOffsetDelta: 0,
});

type Op = { kind: 'send' } | { kind: 'retry'; back: number } | { kind: 'write' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'send' }),
  fc.integer({ min: 0, max: 4 }).map((back): Op => ({ kind: 'retry', back })),
  fc.constant<Op>({ kind: 'write' }),
);

describe('ProducerGate', () => {
  it('writes each sequence once and answers retries with the original offsets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const gate = new ProducerGate();
        const log: number[] = [];
        const inFlight: Ticket[] = [];
        const retries: Promise<[number, bigint]>[] = [];
        let sent = 0;

        const writeOldest = () => {
          const ticket = inFlight.shift()!;
          const baseOffset = BigInt(log.length);
          log.push(ticket.batch.baseSequence);
          gate.written(ticket, { ...ticket.batch, baseOffset, maxTimestamp: 0n });
        };

        for (const step of ops) {
          if (step.kind === 'send') {
            const admission = gate.admit(batchOf(sent++));
            expect(admission.kind).toBe('append');
            if (admission.kind === 'append') inFlight.push(admission.ticket);
          } else if (step.kind === 'retry' && step.back < sent) {
            const sequence = sent - 1 - step.back;
            const admission = gate.admit(batchOf(sequence));
            expect(admission.kind).toBe('duplicate');
            if (admission.kind === 'duplicate') {
              retries.push(admission.offsets.then((o) => [sequence, o.baseOffset]));
            }
          } else if (step.kind === 'write' && inFlight.length > 0) {
            writeOldest();
          }
        }
        while (inFlight.length > 0) writeOldest();

        expect(log).toEqual(Array.from({ length: sent }, (_, i) => i));
        for (const [sequence, baseOffset] of await Promise.all(retries)) {
          expect(baseOffset).toBe(BigInt(log.indexOf(sequence)));
        }
      }),
    );
  });

  it('refuses a gap behind a batch in flight, and an older producer epoch', () => {
    const gate = new ProducerGate();
    gate.admit(batchOf(0, 1));

    expect(() => gate.admit(batchOf(2, 1))).toThrow(
      expect.objectContaining({ code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER }),
    );
    expect(() => gate.admit(batchOf(1, 0))).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_PRODUCER_EPOCH }),
    );
    expect(gate.admit(batchOf(0, 2)).kind).toBe('append');
  });

  it('fails a retry waiting on an original that was not written', async () => {
    const gate = new ProducerGate();
    const first = gate.admit(batchOf(0));
    const retry = gate.admit(batchOf(0));
    if (first.kind !== 'append' || retry.kind !== 'duplicate') throw new Error('unexpected');

    gate.failed(first.ticket, new Error('disk full'));
    await expect(retry.offsets).rejects.toThrow('disk full');
    expect(gate.admit(batchOf(0)).kind).toBe('append');
  });
});
