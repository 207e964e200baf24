// Leader epoch lookups and follower truncation against naive models. Logs are generated the way
// leader changes make them: each epoch's leader starts from a prefix of an earlier leader's log
// and appends records of its own epoch, so two logs that hold epoch E at offset O hold the same
// record, and the true divergence point is the first offset whose epochs differ.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaderEpochCache, type EpochEntry } from '../../data-node/log/leader-epoch-cache.ts';
import {
  decideTruncation,
  divergingEpoch,
  type EpochEndOffset,
  NO_EPOCH,
  NO_OFFSET,
} from '../../data-node/replication/divergence.ts';

/** A replica's log as the epoch of each offset, plus its epoch cache entries. */
interface ModelLog {
  offsets: number[];
  entries: EpochEntry[];
}

/** The first `cut` offsets of a log; an epoch starting exactly at the end stays only if uncut. */
function prefix(log: ModelLog, cut: number): ModelLog {
  const whole = cut === log.offsets.length;
  const entries = log.entries.filter(
    (e) => e.startOffset < BigInt(cut) || (whole && e.startOffset === BigInt(cut)),
  );
  return { offsets: log.offsets.slice(0, cut), entries };
}

interface EpochStep {
  parent: number;
  cut: number;
  count: number;
}

/** Leader logs for epochs 1..n; index 0 is the empty log every history starts from. */
function leaderLogs(steps: EpochStep[]): ModelLog[] {
  const logs: ModelLog[] = [{ offsets: [], entries: [] }];
  steps.forEach((step, i) => {
    const epoch = i + 1;
    const parent = logs[step.parent % logs.length];
    const base = prefix(parent, step.cut % (parent.offsets.length + 1));
    logs.push({
      offsets: [...base.offsets, ...Array<number>(step.count).fill(epoch)],
      entries: [...base.entries, { epoch, startOffset: BigInt(base.offsets.length) }],
    });
  });
  return logs;
}

const historyArb = fc.record({
  steps: fc.array(
    fc.record({
      parent: fc.nat(),
      cut: fc.nat(),
      count: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  follower: fc.nat(),
  followerCut: fc.nat(),
});

function naiveDivergence(leader: number[], follower: number[]): number {
  const shorter = Math.min(leader.length, follower.length);
  for (let i = 0; i < shorter; i++) if (leader[i] !== follower[i]) return i;
  return shorter;
}

/** Runs the follower's rounds until an answer is complete, as the fetcher would. */
function truncateAgainst(leader: ModelLog, follower: ModelLog): { end: number; rounds: number } {
  const leaderCache = new LeaderEpochCache(leader.entries);
  const cache = new LeaderEpochCache(follower.entries);
  let end = BigInt(follower.offsets.length);

  for (let rounds = 1; rounds <= 64; rounds++) {
    if (cache.latestEpoch === NO_EPOCH) return { end: Number(end), rounds };
    const answer = leaderCache.endOffsetFor(cache.latestEpoch, BigInt(leader.offsets.length));
    const decision = decideTruncation(answer, {
      epochs: cache,
      logEndOffset: end,
      highWatermark: 0n,
    });

    expect(decision.truncateTo <= end).toBe(true);
    end = decision.truncateTo;
    cache.truncateFromEnd(end);
    if (decision.complete) return { end: Number(end), rounds };
  }
  throw new Error('truncation did not converge');
}

/** Where `epoch` ends, read off the per-offset epochs rather than the entries. */
function naiveEndOffset(log: ModelLog, epoch: number): EpochEndOffset {
  const known = log.entries.map((e) => e.epoch);
  const latest = known.length === 0 ? NO_EPOCH : known[known.length - 1];
  if (epoch === NO_EPOCH || known.length === 0 || epoch > latest) {
    return { leaderEpoch: NO_EPOCH, endOffset: NO_OFFSET };
  }

  const end = BigInt(log.offsets.length);
  if (epoch === latest) return { leaderEpoch: epoch, endOffset: end };

  const atOrBelow = known.filter((e) => e <= epoch);
  const leaderEpoch = atOrBelow.length === 0 ? epoch : Math.max(...atOrBelow);
  const after = log.offsets.findIndex((e) => e > epoch);
  return { leaderEpoch, endOffset: after === -1 ? end : BigInt(after) };
}

describe('leader epoch cache lookups', () => {
  it('answer OffsetsForLeaderEpoch like a scan of the per-offset epochs', () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: -1, max: 10 }), (history, epoch) => {
        const logs = leaderLogs(history.steps);
        const log = logs[history.follower % logs.length];
        const cache = new LeaderEpochCache(log.entries);

        const answer = cache.endOffsetFor(epoch, BigInt(log.offsets.length));
        expect(answer).toEqual(naiveEndOffset(log, epoch));
      }),
    );
  });
});

describe('follower truncation by leader epoch', () => {
  it('ends at the first offset where the epochs differ', () => {
    fc.assert(
      fc.property(historyArb, (history) => {
        const logs = leaderLogs(history.steps);
        const leader = logs[logs.length - 1];
        const whole = logs[history.follower % logs.length];
        const follower = prefix(whole, history.followerCut % (whole.offsets.length + 1));

        const { end } = truncateAgainst(leader, follower);
        expect(end).toBe(naiveDivergence(leader.offsets, follower.offsets));
      }),
      { numRuns: 2000 },
    );
  });

  it('asks again when the leader answers with an epoch the follower never had', () => {
    // Follower: epoch 0 at 0-9, epoch 2 at 10-11. Leader: epoch 0 at 0-7, epoch 1 at 8-11, epoch 3.
    const follower = new LeaderEpochCache([
      { epoch: 0, startOffset: 0n },
      { epoch: 2, startOffset: 10n },
    ]);
    const log = { epochs: follower, logEndOffset: 12n, highWatermark: 5n };

    const first = decideTruncation({ leaderEpoch: 1, endOffset: 12n }, log);
    expect(first).toEqual({ truncateTo: 10n, complete: false });

    follower.truncateFromEnd(10n);
    const second = decideTruncation(
      { leaderEpoch: 0, endOffset: 8n },
      { ...log, logEndOffset: 10n },
    );
    expect(second).toEqual({ truncateTo: 8n, complete: true });
  });

  it('falls back on the high watermark when the leader knows no epoch', () => {
    const follower = new LeaderEpochCache([{ epoch: 4, startOffset: 0n }]);
    const log = { epochs: follower, logEndOffset: 12n, highWatermark: 5n };
    const answer = { leaderEpoch: NO_EPOCH, endOffset: NO_OFFSET };

    expect(decideTruncation(answer, log)).toEqual({ truncateTo: 5n, complete: true });
  });
});

describe('diverging epoch on fetch', () => {
  const leader = new LeaderEpochCache([
    { epoch: 0, startOffset: 0n },
    { epoch: 2, startOffset: 8n },
  ]);

  it('accepts a fetch whose last epoch the leader holds up to the fetch offset', () => {
    expect(divergingEpoch(leader, 20n, 8n, 0)).toBeNull();
    expect(divergingEpoch(leader, 20n, 15n, 2)).toBeNull();
    expect(divergingEpoch(leader, 20n, 0n, NO_EPOCH)).toBeNull();
  });

  it('answers with where the epoch ended when the follower went past it', () => {
    expect(divergingEpoch(leader, 20n, 10n, 0)).toEqual({ leaderEpoch: 0, endOffset: 8n });
    expect(divergingEpoch(leader, 20n, 10n, 1)).toEqual({ leaderEpoch: 0, endOffset: 8n });
  });
});
