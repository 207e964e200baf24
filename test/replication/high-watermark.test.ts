// The high watermark rule against a naive model: sort every durable end offset of the maximal ISR
// and take the smallest, unless the ISR is below min.insync.replicas or a member has not reported.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  nextHighWatermark,
  type HighWatermarkInput,
} from '../../data-node/replication/high-watermark.ts';

function naive(input: HighWatermarkInput): bigint {
  if (input.committedIsrSize < input.minInsyncReplicas) return input.current;
  if (input.followerEndOffsets.some((end) => end === null)) return input.current;

  const ends = [input.leaderFlushedOffset, ...(input.followerEndOffsets as bigint[])];
  const least = [...ends].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0];
  return least > input.current ? least : input.current;
}

const offsetArb = fc.bigInt({ min: 0n, max: 50n });

const inputArb: fc.Arbitrary<HighWatermarkInput> = fc.record({
  current: offsetArb,
  leaderFlushedOffset: offsetArb,
  followerEndOffsets: fc.array(fc.option(offsetArb, { freq: 8 }), { maxLength: 4 }),
  committedIsrSize: fc.integer({ min: 1, max: 5 }),
  minInsyncReplicas: fc.integer({ min: 1, max: 3 }),
});

describe('nextHighWatermark', () => {
  it('agrees with the naive model', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(nextHighWatermark(input)).toBe(naive(input));
      }),
    );
  });

  it('never moves back, and never past a durable end offset of the maximal ISR', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const next = nextHighWatermark(input);
        expect(next >= input.current).toBe(true);
        if (next === input.current) return;

        expect(next <= input.leaderFlushedOffset).toBe(true);
        for (const end of input.followerEndOffsets) expect(end !== null && next <= end).toBe(true);
      }),
    );
  });

  it('does not advance for a leader alone in its ISR when min.insync.replicas is 2', () => {
    const input = {
      current: 3n,
      leaderFlushedOffset: 10n,
      followerEndOffsets: [],
      committedIsrSize: 1,
      minInsyncReplicas: 2,
    };
    expect(nextHighWatermark(input)).toBe(3n);
    expect(nextHighWatermark({ ...input, minInsyncReplicas: 1 })).toBe(10n);
  });

  it('waits for a member of the maximal ISR that has not fetched yet', () => {
    const input = {
      current: 0n,
      leaderFlushedOffset: 10n,
      followerEndOffsets: [8n, null],
      committedIsrSize: 3,
      minInsyncReplicas: 2,
    };
    expect(nextHighWatermark(input)).toBe(0n);
    expect(nextHighWatermark({ ...input, followerEndOffsets: [8n, 9n] })).toBe(8n);
  });
});
