// The pure pieces of the log against naive models: the sparse offset and time indexes, finding
// the segment of an offset, and the leader epoch cache's answers to OffsetsForLeaderEpoch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { LeaderEpochCache } from '../../data-node/log/leader-epoch-cache.ts';
import { OffsetIndex } from '../../data-node/log/offset-index.ts';
import { findSegmentIndex } from '../../data-node/log/segment-lookup.ts';
import { TimeIndex } from '../../data-node/log/time-index.ts';

/** Strictly increasing positive integers, from random gaps. */
const increasing = (maxLength: number) =>
  fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength }).map((gaps) => {
    let at = 0;
    return gaps.map((g) => (at += g));
  });

describe('offset index', () => {
  it('finds the last entry at or below an offset, as a linear scan does', () => {
    fc.assert(
      fc.property(
        increasing(60),
        fc.array(fc.integer({ min: -5, max: 70_000 })),
        (offsets, targets) => {
          const entries = offsets.map((o) => ({ offset: o, position: o * 7 }));
          const index = new OffsetIndex();
          for (const e of entries) index.append(e.offset, e.position);

          for (const target of targets) {
            const naive = entries.filter((e) => e.offset <= target).at(-1)?.position ?? 0;
            expect(index.lookup(target)).toBe(naive);
          }
        },
      ),
    );
  });

  it('survives its file format and truncation', () => {
    fc.assert(
      fc.property(increasing(40), fc.integer({ min: 0, max: 45_000 }), (offsets, cut) => {
        const index = new OffsetIndex();
        for (const o of offsets) index.append(o, o * 3);

        const copy = OffsetIndex.fromBuffer(index.toBuffer(), 1 << 30)!;
        copy.truncateFrom(cut);
        const kept = offsets.filter((o) => o < cut);
        expect(copy.entryCount).toBe(kept.length);
        expect(copy.lastPosition).toBe((kept.at(-1) ?? 0) * 3);
      }),
    );
  });

  it('refuses index files it cannot trust', () => {
    const index = new OffsetIndex();
    index.append(1, 100);
    index.append(5, 200);
    const file = index.toBuffer();

    expect(OffsetIndex.fromBuffer(file.subarray(0, 12), 1000)).toBeNull();
    expect(OffsetIndex.fromBuffer(file, 150)).toBeNull();
    expect(
      OffsetIndex.fromBuffer(Buffer.concat([file.subarray(8), file.subarray(0, 8)]), 1000),
    ).toBeNull();
  });
});

describe('time index', () => {
  it('points a search at the last entry below the timestamp', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 20 }))),
        fc.array(fc.integer({ min: -1, max: 1200 })),
        (steps, targets) => {
          const index = new TimeIndex();
          const kept: { ts: bigint; offset: number }[] = [];
          let ts = 0n;
          let offset = 0;
          for (const [dt, doff] of steps) {
            ts += BigInt(dt);
            offset += doff;
            index.maybeAppend(ts, offset);
            if (kept.length === 0 || ts > kept[kept.length - 1].ts) kept.push({ ts, offset });
          }

          for (const target of targets) {
            const naive = kept.filter((e) => e.ts < BigInt(target)).at(-1)?.offset ?? -1;
            expect(index.lastOffsetBefore(BigInt(target))).toBe(naive);
          }
          expect(TimeIndex.fromBuffer(index.toBuffer())?.lastTimestamp).toBe(index.lastTimestamp);
        },
      ),
    );
  });
});

describe('segment lookup', () => {
  it('picks the last segment whose base offset is at or below the offset', () => {
    fc.assert(
      fc.property(
        increasing(30),
        fc.array(fc.integer({ min: -10, max: 35_000 })),
        (bases, targets) => {
          const segments = bases.map((b) => ({ baseOffset: BigInt(b) }));
          for (const target of targets) {
            const naive = segments.filter((s) => s.baseOffset <= BigInt(target)).length - 1;
            expect(findSegmentIndex(segments, BigInt(target))).toBe(naive);
          }
        },
      ),
    );
  });
});

describe('leader epoch cache', () => {
  /** Epochs and start offsets of a log, both increasing. */
  const history = fc
    .array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 5 })), {
      maxLength: 8,
    })
    .map((steps) => {
      let epoch = -1;
      let start = 0n;
      return steps.map(([de, ds]) => ({
        epoch: (epoch += de),
        startOffset: (start += BigInt(ds)),
      }));
    });

  it('answers OffsetsForLeaderEpoch as a naive reading of the history does', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: -1, max: 30 }), (entries, asked) => {
        const logEnd = (entries.at(-1)?.startOffset ?? 0n) + 3n;
        const cache = new LeaderEpochCache(entries);

        const latest = entries.at(-1)?.epoch;
        const higher = entries.find((e) => e.epoch > asked);
        const floor = entries.filter((e) => e.epoch <= asked).at(-1);
        let expected = { leaderEpoch: -1, endOffset: -1n };
        if (asked >= 0 && asked === latest) expected = { leaderEpoch: asked, endOffset: logEnd };
        else if (asked >= 0 && higher) {
          expected = { leaderEpoch: floor?.epoch ?? asked, endOffset: higher.startOffset };
        }

        expect(cache.endOffsetFor(asked, logEnd)).toEqual(expected);
      }),
    );
  });

  it('keeps the epoch in force when the log start moves, and drops epochs past a truncation', () => {
    const cache = new LeaderEpochCache([
      { epoch: 1, startOffset: 0n },
      { epoch: 3, startOffset: 10n },
      { epoch: 5, startOffset: 20n },
    ]);

    cache.truncateFromStart(15n);
    expect(cache.list()).toEqual([
      { epoch: 3, startOffset: 15n },
      { epoch: 5, startOffset: 20n },
    ]);

    cache.truncateFromEnd(20n);
    expect(cache.list()).toEqual([{ epoch: 3, startOffset: 15n }]);
    expect(LeaderEpochCache.parse(cache.serialize())?.list()).toEqual(cache.list());
    expect(LeaderEpochCache.parse('0\n2\n1 0\n')).toBeNull();
  });
});
