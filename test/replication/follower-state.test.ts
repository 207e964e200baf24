// A follower after a leader change: it asks where its epoch ended, truncates, and only then
// fetches from its durable end, reporting the epoch of its last durable record.
import { describe, expect, it } from 'vitest';
import { LeaderEpochCache } from '../../data-node/log/leader-epoch-cache.ts';
import { FollowerState } from '../../data-node/replication/follower-state.ts';

function log(logEndOffset: bigint, flushedOffset: bigint) {
  const epochs = new LeaderEpochCache([
    { epoch: 1, startOffset: 0n },
    { epoch: 3, startOffset: 6n },
  ]);
  return { epochs, logEndOffset, flushedOffset };
}

describe('FollowerState', () => {
  it('asks about its latest epoch before fetching', () => {
    const follower = new FollowerState(4n);
    follower.follow(2, 7);

    expect(follower.nextRequest(log(10n, 9n))).toEqual({
      kind: 'epoch-end-offset',
      leaderId: 2,
      currentLeaderEpoch: 7,
      leaderEpoch: 3,
    });
  });

  it('truncates as told, then fetches from its durable end', () => {
    const follower = new FollowerState(4n);
    follower.follow(2, 7);
    const local = log(10n, 9n);

    const decision = follower.onEpochEndOffset(7, { leaderEpoch: 3, endOffset: 8n }, local);
    expect(decision).toEqual({ truncateTo: 8n, complete: true });
    expect(follower.phase).toBe('fetching');

    local.epochs.truncateFromEnd(8n);
    expect(follower.nextRequest({ ...local, logEndOffset: 8n, flushedOffset: 8n })).toEqual({
      kind: 'fetch',
      leaderId: 2,
      currentLeaderEpoch: 7,
      fetchOffset: 8n,
      lastFetchedEpoch: 3,
    });
  });

  it('ignores answers asked under an older leader epoch', () => {
    const follower = new FollowerState(0n);
    follower.follow(2, 7);
    follower.follow(3, 8);

    expect(
      follower.onEpochEndOffset(7, { leaderEpoch: 3, endOffset: 8n }, log(10n, 10n)),
    ).toBeNull();
    expect(follower.phase).toBe('truncating');
  });

  it('learns the high watermark up to its own log end, never backwards', () => {
    const follower = new FollowerState(0n);
    follower.follow(2, 7);
    follower.onEpochEndOffset(7, { leaderEpoch: 3, endOffset: 10n }, log(10n, 10n));

    follower.onFetchResponse(7, 15n, 12n);
    expect(follower.highWatermark).toBe(12n);
    follower.onFetchResponse(7, 9n, 12n);
    expect(follower.highWatermark).toBe(12n);
  });

  it('has nothing to truncate when it never held a batch, and idles without a leader', () => {
    const empty = { epochs: new LeaderEpochCache(), logEndOffset: 0n, flushedOffset: 0n };
    const follower = new FollowerState(0n);
    follower.follow(2, 7);
    expect(follower.nextRequest(empty).kind).toBe('fetch');

    follower.follow(-1, 8);
    expect(follower.nextRequest(empty)).toEqual({ kind: 'none' });
  });
});
