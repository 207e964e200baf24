// The leader's replication state, event by event: what a producer waiting with acks=all and a
// consumer reading below the high watermark would see, and what the leader asks the controller.
import { describe, expect, it } from 'vitest';
import { LeaderEpochCache } from '../../data-node/log/leader-epoch-cache.ts';
import { LeaderState, type LeaderStateOptions } from '../../data-node/replication/leader-state.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';

const LAG_MS = 100;

/** Leader 1 of epoch 5, replicas 1-3 all in sync, log at 10 and durable. */
function leader(overrides: Partial<LeaderStateOptions> = {}): LeaderState<string> {
  const epochs = new LeaderEpochCache([
    { epoch: 2, startOffset: 0n },
    { epoch: 5, startOffset: 10n },
  ]);
  return new LeaderState<string>({
    nodeId: 1,
    leaderEpoch: 5,
    partitionEpoch: 8,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    minInsyncReplicas: 2,
    replicaLagTimeMaxMs: LAG_MS,
    logStartOffset: 0n,
    logEndOffset: 10n,
    flushedOffset: 10n,
    highWatermark: 10n,
    epochs,
    nowMs: 0,
    ...overrides,
  });
}

function fetch(state: LeaderState<string>, replicaId: number, fetchOffset: bigint, nowMs: number) {
  return state.onFollowerFetch({
    replicaId,
    fetchOffset,
    currentLeaderEpoch: 5,
    lastFetchedEpoch: -1,
    nowMs,
  });
}

/** The leader appends and flushes up to `end`. */
function write(state: LeaderState<string>, end: bigint) {
  state.onLocalAppend(end);
  return state.onLocalFlush(end);
}

describe('high watermark', () => {
  it('moves to the least durable end offset over the ISR, the leader included', () => {
    const state = leader();
    write(state, 20n);

    expect(fetch(state, 2, 20n, 1).highWatermark).toBe(10n);
    expect(fetch(state, 3, 15n, 2).highWatermark).toBe(15n);
    expect(fetch(state, 3, 20n, 3).highWatermark).toBe(20n);
  });

  it('counts only what the leader has flushed', () => {
    const state = leader();
    state.onLocalAppend(20n);
    fetch(state, 2, 20n, 1);

    expect(fetch(state, 3, 20n, 2).highWatermark).toBe(10n);
    expect(state.onLocalFlush(20n).highWatermark).toBe(20n);
  });

  it('does not move for a leader alone in its ISR below min.insync.replicas', () => {
    const state = leader({ isr: [1], minInsyncReplicas: 2 });
    expect(write(state, 20n).highWatermark).toBe(10n);
    expect(() => state.checkAcksAllAppend()).toThrow(
      expect.objectContaining({ code: ErrorCode.NOT_ENOUGH_REPLICAS }),
    );

    const alone = leader({ isr: [1], minInsyncReplicas: 1 });
    expect(write(alone, 20n).highWatermark).toBe(20n);
  });

  it('starts from what the new leader had learned, within its durable log', () => {
    expect(leader({ highWatermark: 7n }).highWatermark).toBe(7n);
    expect(
      leader({ highWatermark: 30n, logEndOffset: 12n, flushedOffset: 11n }).highWatermark,
    ).toBe(11n);
  });

  it('does not move back when a follower reports an older position late', () => {
    const state = leader();
    write(state, 20n);
    fetch(state, 2, 20n, 1);
    fetch(state, 3, 20n, 2);

    expect(fetch(state, 3, 12n, 3).highWatermark).toBe(20n);
    expect(state.followerProgress(3)?.logEndOffset).toBe(20n);
  });
});

describe('acks=all', () => {
  it('completes once the high watermark passes the last offset of the batch', () => {
    const state = leader();
    write(state, 15n);
    expect(state.awaitAck(14n, 1_000, 'p1')).toBe(false);
    write(state, 18n);
    expect(state.awaitAck(17n, 1_000, 'p2')).toBe(false);

    fetch(state, 2, 18n, 1);
    expect(fetch(state, 3, 15n, 2).acked).toEqual(['p1']);
    expect(fetch(state, 3, 18n, 3).acked).toEqual(['p2']);
    expect(state.awaitAck(12n, 1_000, 'retry')).toBe(true);
  });

  it('fails waits at their deadline, when the ISR falls below minimum, and on resigning', () => {
    const state = leader();
    write(state, 15n);
    state.awaitAck(12n, 50, 'early');
    state.awaitAck(14n, 500, 'late');

    const expired = state.expireAcks(60);
    expect(expired.map((f) => [f.waiter, f.error.code])).toEqual([
      ['early', ErrorCode.REQUEST_TIMED_OUT],
    ]);

    const shrunk = state.onIsrCommitted([1], 9);
    expect(shrunk.failed.map((f) => [f.waiter, f.error.code])).toEqual([
      ['late', ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND],
    ]);

    state.awaitAck(14n, 500, 'last');
    expect(state.resign().map((f) => [f.waiter, f.error.code])).toEqual([
      ['last', ErrorCode.NOT_LEADER_OR_FOLLOWER],
    ]);
    expect(() => state.onLocalFlush(15n)).toThrow(/after resigning/);
  });
});

describe('ISR shrink', () => {
  it('proposes dropping a follower that has not caught up within replica.lag.time.max.ms', () => {
    const state = leader();
    write(state, 20n);
    fetch(state, 2, 20n, 50);

    expect(state.maybeShrinkIsr(LAG_MS)).toBeNull();
    const change = state.maybeShrinkIsr(LAG_MS + 1);
    expect(change).toEqual({ leaderId: 1, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2] });
    expect(state.maybeShrinkIsr(LAG_MS + 2)).toBeNull();
  });

  it('keeps a follower that is always one fetch behind a busy leader', () => {
    const state = leader();
    let end = 10n;
    for (let t = 10; t <= 1_000; t += 10) {
      const reported = end;
      end += 3n;
      write(state, end);
      fetch(state, 2, reported, t);
      fetch(state, 3, reported, t);
    }
    expect(state.maybeShrinkIsr(1_000 + LAG_MS / 2)).toBeNull();
    expect(state.followerProgress(2)?.lastCaughtUpTimeMs).toBe(990);
  });

  it('keeps waiting for the dropped follower until the controller commits the shrink', () => {
    const state = leader();
    write(state, 20n);
    fetch(state, 2, 20n, 150);
    state.maybeShrinkIsr(150);

    expect(state.maximalIsr).toEqual([1, 2, 3]);
    expect(write(state, 25n).highWatermark).toBe(10n);

    const committed = state.onIsrCommitted([1, 2], 9);
    expect(state.isr).toEqual([1, 2]);
    expect(committed.highWatermark).toBe(20n);
  });

  it('ignores an answer about an older partition epoch', () => {
    const state = leader();
    state.maybeShrinkIsr(LAG_MS + 1);

    state.onIsrCommitted([1, 2, 3], 8);
    expect(state.pendingIsrChange?.isr).toEqual([1]);
    expect(state.partitionEpoch).toBe(8);
  });
});

describe('ISR expansion', () => {
  it('proposes a follower once it reaches the high watermark and this epoch', () => {
    const state = leader({ isr: [1, 2] });
    write(state, 20n);
    fetch(state, 2, 20n, 1);

    expect(fetch(state, 3, 9n, 2).isrChange).toBeNull();
    const change = fetch(state, 3, 20n, 3).isrChange;
    expect(change).toEqual({ leaderId: 1, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2, 3] });
  });

  it('counts the joining follower for the high watermark while the change is in flight', () => {
    const state = leader({ isr: [1, 2] });
    write(state, 20n);
    fetch(state, 2, 20n, 1);
    fetch(state, 3, 20n, 2);

    write(state, 30n);
    expect(fetch(state, 2, 30n, 3).highWatermark).toBe(20n);
    expect(fetch(state, 3, 30n, 4).highWatermark).toBe(30n);
  });

  it('does not propose a follower the metadata shows fenced', () => {
    const state = leader({ isr: [1, 2], eligibleToJoin: (id) => id !== 3 });
    fetch(state, 2, 10n, 1);

    expect(fetch(state, 3, 10n, 2).isrChange).toBeNull();
  });

  it('drops a proposal the controller did not apply, and no other', () => {
    const state = leader({ isr: [1, 2] });
    write(state, 20n);
    fetch(state, 2, 20n, 1);
    const change = fetch(state, 3, 20n, 2).isrChange!;

    state.onIsrChangeNotApplied({ ...change, partitionEpoch: 7 });
    expect(state.pendingIsrChange).toEqual(change);

    state.onIsrChangeNotApplied(change);
    expect(state.pendingIsrChange).toBeNull();
    expect(state.maximalIsr).toEqual([1, 2]);
  });
});

describe('follower fetches refused', () => {
  it('names the epoch problem, the unknown replica and the offset out of range', () => {
    const state = leader();
    const base = { replicaId: 2, fetchOffset: 10n, lastFetchedEpoch: -1, nowMs: 1 };

    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code: number }).code;
      }
      return ErrorCode.NONE;
    };
    expect(codeOf(() => state.onFollowerFetch({ ...base, currentLeaderEpoch: 4 }))).toBe(
      ErrorCode.FENCED_LEADER_EPOCH,
    );
    expect(codeOf(() => state.onFollowerFetch({ ...base, currentLeaderEpoch: 6 }))).toBe(
      ErrorCode.UNKNOWN_LEADER_EPOCH,
    );
    expect(
      codeOf(() => state.onFollowerFetch({ ...base, currentLeaderEpoch: 5, replicaId: 9 })),
    ).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(
      codeOf(() => state.onFollowerFetch({ ...base, currentLeaderEpoch: 5, fetchOffset: 11n })),
    ).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('answers a diverging follower with where its epoch ended, and records nothing', () => {
    const state = leader({ isr: [1, 2] });
    const outcome = state.onFollowerFetch({
      replicaId: 3,
      fetchOffset: 10n,
      currentLeaderEpoch: 5,
      lastFetchedEpoch: 3,
      nowMs: 1,
    });

    expect(outcome.divergingEpoch).toEqual({ leaderEpoch: 2, endOffset: 10n });
    expect(outcome.isrChange).toBeNull();
    expect(state.followerProgress(3)?.logEndOffset).toBeNull();
  });
});
