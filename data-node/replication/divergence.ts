// Where a follower's log stops agreeing with its leader's, decided from leader epoch caches alone.
// After a leader change, a follower (or a deposed leader coming back) asks the new leader where its
// latest epoch ended (OffsetsForLeaderEpoch, or the diverging epoch of a Fetch answer) and
// truncates what the leader does not have before it fetches again. The cache itself lives with the
// log (data-node/log/leader-epoch-cache.ts); this module only reads it, so the rule can be checked
// against a naive model and driven by the simulation without files.
//
// Why epochs and not the high watermark: a record of epoch E at offset O was written by the one
// leader of E, so two logs holding epoch E at O hold the same record. The first offset where the
// epochs differ is therefore where the logs diverge, and nothing committed lies beyond it.
import { invariant } from '../../shared/assert.ts';

export const NO_EPOCH = -1;
export const NO_OFFSET = -1n;

/** The answer to "where did epoch E end?", as OffsetsForLeaderEpoch and Fetch carry it. */
export interface EpochEndOffset {
  /** The largest epoch at or below the one asked for that the answering log knows, or NO_EPOCH. */
  leaderEpoch: number;
  /** The first offset after that epoch's records, or NO_OFFSET. */
  endOffset: bigint;
}

/** What this module reads from a leader epoch cache; the log's cache has exactly this shape. */
export interface EpochHistory {
  /** NO_EPOCH when the log has never held a batch. */
  readonly latestEpoch: number;
  /** The epoch that wrote `offset`, or NO_EPOCH when the offset is before every entry. */
  epochAt(offset: bigint): number;
  endOffsetFor(epoch: number, logEndOffset: bigint): EpochEndOffset;
}

/** What a follower knows about its own log when it decides how far to truncate. */
export interface FollowerLog {
  readonly epochs: EpochHistory;
  readonly logEndOffset: bigint;
  /** The follower's high watermark: a floor no committed record lies above. */
  readonly highWatermark: bigint;
}

export interface TruncationDecision {
  /** Truncate the log (and the epoch cache) to this offset; it may equal the log end offset. */
  truncateTo: bigint;
  /**
   * False when the leader answered with an epoch this follower does not have: after truncating,
   * the follower asks again about its (now older) latest epoch. Each round lowers that epoch, so
   * the exchange ends.
   */
  complete: boolean;
}

/**
 * One round of the follower's side: given the leader's answer about the follower's latest epoch
 * (or about the `lastFetchedEpoch` of a fetch), how far to truncate.
 */
export function decideTruncation(
  answer: EpochEndOffset,
  follower: FollowerLog,
): TruncationDecision {
  const end = follower.logEndOffset;

  // Without epochs on either side there is nothing to compare: fall back on the high watermark,
  // below which every replica agrees.
  if (answer.endOffset === NO_OFFSET || follower.epochs.latestEpoch === NO_EPOCH) {
    return { truncateTo: min(follower.highWatermark, end), complete: true };
  }
  if (answer.leaderEpoch === NO_EPOCH) {
    return { truncateTo: min(answer.endOffset, end), complete: true };
  }

  // An epoch below our earliest comes back as itself, ending where our first epoch starts.
  const own = follower.epochs.endOffsetFor(answer.leaderEpoch, end);
  invariant(
    own.endOffset !== NO_OFFSET,
    `leader answered epoch ${answer.leaderEpoch}, above our latest ${follower.epochs.latestEpoch}`,
  );

  // Every epoch we hold above the leader's answer is one the leader never saw: those records go,
  // and we ask again about what remains.
  if (own.leaderEpoch !== answer.leaderEpoch) {
    return { truncateTo: min(own.endOffset, end), complete: false };
  }

  // Both logs hold the answered epoch from the same start; they agree until the shorter run ends.
  return { truncateTo: min(min(own.endOffset, answer.endOffset), end), complete: true };
}

/**
 * Whether a follower fetching at `fetchOffset`, whose last record was written in
 * `lastFetchedEpoch`, still agrees with this leader; if not, the answer it must truncate with.
 * This is the leader's side of Fetch v12+ (diverging epoch); NO_EPOCH skips the check.
 */
export function divergingEpoch(
  leader: EpochHistory,
  leaderLogEndOffset: bigint,
  fetchOffset: bigint,
  lastFetchedEpoch: number,
): EpochEndOffset | null {
  if (lastFetchedEpoch === NO_EPOCH) return null;

  const answer = leader.endOffsetFor(lastFetchedEpoch, leaderLogEndOffset);
  const agrees = answer.leaderEpoch === lastFetchedEpoch && answer.endOffset >= fetchOffset;
  return agrees ? null : answer;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
