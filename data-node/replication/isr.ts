// ISR bookkeeping of a partition leader, as pure functions over plain data: how far each follower
// has come and when it was last caught up (Kafka's rule), which followers have fallen out of sync
// or may join, and the leader's view of the ISR while a change waits at the controller.
//
// Out of sync: a follower that has not reached the leader's log end offset within
// replica.lag.time.max.ms. "Last caught up" is the time of the latest fetch at which the follower
// held everything the leader had, or, when the leader keeps appending, the time of the previous
// fetch if this one reaches the leader's end offset as of then: a steady follower is never more
// than one fetch behind, and that counts as caught up. A follower holding everything is in sync
// however old its last fetch (an idle partition).
//
// Joining: a follower joins once its durable end reaches the high watermark and the start of the
// current leader epoch (before that its log may still hold a deposed leader's tail). Once joined
// it has one lag period to catch up, so a follower that just made it is not dropped at once.
//
// In flight (Kafka's KIP-497): a proposal keeps the committed ISR until the controller answers,
// and the high watermark counts the union of both, the maximal ISR.

/** What the leader knows of one follower in the current leader epoch. */
export interface FollowerProgress {
  /**
   * The follower's durable log end offset, the highest fetch offset it reported; null until it
   * fetches. Only grows: a fetch that arrives late reports an older position.
   */
  logEndOffset: bigint | null;
  /** When the latest fetch arrived; -1 before any. */
  lastFetchTimeMs: number;
  /** The leader's log end offset when that fetch arrived. */
  lastFetchLeaderLogEndOffset: bigint;
  /** The last time the follower held everything the leader had. */
  lastCaughtUpTimeMs: number;
}

/** A new leader trusts the committed ISR for one lag period: the members had no chance to fetch. */
export function initialProgress(inIsr: boolean, nowMs: number): FollowerProgress {
  return {
    logEndOffset: null,
    lastFetchTimeMs: -1,
    lastFetchLeaderLogEndOffset: -1n,
    lastCaughtUpTimeMs: inIsr ? nowMs : -1,
  };
}

/** The progress after a fetch at `fetchOffset` while the leader's log ends at `leaderEnd`. */
export function recordFetch(
  progress: FollowerProgress,
  fetchOffset: bigint,
  leaderEnd: bigint,
  nowMs: number,
): FollowerProgress {
  const known = progress.logEndOffset;
  const logEndOffset = known === null || fetchOffset > known ? fetchOffset : known;

  let lastCaughtUpTimeMs = progress.lastCaughtUpTimeMs;
  if (logEndOffset >= leaderEnd) {
    lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, nowMs);
  } else if (
    progress.lastFetchTimeMs >= 0 &&
    logEndOffset >= progress.lastFetchLeaderLogEndOffset
  ) {
    lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, progress.lastFetchTimeMs);
  }

  return {
    logEndOffset,
    lastFetchTimeMs: nowMs,
    lastFetchLeaderLogEndOffset: leaderEnd,
    lastCaughtUpTimeMs,
  };
}

/** A follower holding everything the leader has is in sync however long ago it last fetched. */
export function isOutOfSync(
  progress: FollowerProgress,
  leaderEnd: bigint,
  nowMs: number,
  lagTimeMaxMs: number,
): boolean {
  const end = progress.logEndOffset;
  if (end !== null && end >= leaderEnd) return false;
  return nowMs - progress.lastCaughtUpTimeMs > lagTimeMaxMs;
}

/**
 * A follower that has just joined counts as caught up at its last fetch: it met the joining
 * rule then, and gets one lag period to keep up before it can be dropped again.
 */
export function joined(progress: FollowerProgress): FollowerProgress {
  const lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, progress.lastFetchTimeMs);
  return { ...progress, lastCaughtUpTimeMs };
}

export function canJoinIsr(
  progress: FollowerProgress,
  highWatermark: bigint,
  leaderEpochStartOffset: bigint,
): boolean {
  const end = progress.logEndOffset;
  return end !== null && end >= highWatermark && end >= leaderEpochStartOffset;
}

/** The leader's view of the ISR. */
export interface IsrState {
  /** The ISR as the controller last committed it; the leader is always a member. */
  committed: readonly number[];
  /** The partition epoch of that commit; a proposal names it so a stale one is refused. */
  partitionEpoch: number;
  /** The ISR proposed to the controller and not yet answered, or null. One at a time. */
  proposed: readonly number[] | null;
}

/** Committed members plus proposed ones: everyone the controller may soon call in sync. */
export function maximalIsr(state: IsrState): number[] {
  const extra = (state.proposed ?? []).filter((id) => !state.committed.includes(id));
  return [...state.committed, ...extra];
}

export function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/** `members` in the order of `replicas`, the order the controller keeps. */
export function inReplicaOrder(replicas: readonly number[], members: Iterable<number>): number[] {
  const set = new Set(members);
  return replicas.filter((id) => set.has(id));
}
