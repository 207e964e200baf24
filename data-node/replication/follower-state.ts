// The follower side of one partition replica: which leader it follows in which leader epoch, and
// where it stands with that leader. After every leader change it first finds where its log
// diverges (OffsetsForLeaderEpoch about its latest epoch, repeated until the answer is complete),
// truncates there, and only then fetches. It fetches from its durable end offset, so the leader
// counts only what is on disk here. The Partition should fsync what it appended before fetching
// again; if it does not, batches it holds unflushed come again and it must skip them. It keeps
// the high watermark learned from the leader, the starting point should this replica be elected.
//
// Pure: the Partition sends the requests named here, truncates the log when told, and reports
// answers back with the leader epoch they were asked under, so late answers are ignored.
import { invariant } from '../../shared/assert.ts';
import {
  decideTruncation,
  type EpochEndOffset,
  type EpochHistory,
  NO_EPOCH,
  type TruncationDecision,
} from './divergence.ts';

export type FollowerPhase = 'idle' | 'truncating' | 'fetching';

export type FollowerRequest =
  | { kind: 'none' }
  | {
      kind: 'epoch-end-offset';
      leaderId: number;
      currentLeaderEpoch: number;
      /** The epoch whose end is asked: this replica's latest. */
      leaderEpoch: number;
    }
  | {
      kind: 'fetch';
      leaderId: number;
      currentLeaderEpoch: number;
      fetchOffset: bigint;
      lastFetchedEpoch: number;
    };

/** What the follower reads of its own log. */
export interface LocalLog {
  readonly epochs: EpochHistory;
  readonly logEndOffset: bigint;
  readonly flushedOffset: bigint;
}

export class FollowerState {
  /** The leader followed, -1 when the partition has none; set by `follow`. */
  #leaderId = -1;

  /** The leader epoch followed; set by `follow` from the metadata, only grows. */
  #leaderEpoch = -1;

  /** idle without a leader; truncating until the divergence is found; then fetching. */
  #phase: FollowerPhase = 'idle';

  /**
   * The leader's high watermark as last learned, capped by this log's end. Grows with fetch
   * answers; a truncation caps it (a complete one never cuts below it).
   */
  #highWatermark: bigint;

  constructor(highWatermark: bigint) {
    this.#highWatermark = highWatermark;
  }

  get leaderId(): number {
    return this.#leaderId;
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  get phase(): FollowerPhase {
    return this.#phase;
  }

  get highWatermark(): bigint {
    return this.#highWatermark;
  }

  /** The metadata names a leader (or none) for `leaderEpoch`; returns whether anything changed. */
  follow(leaderId: number, leaderEpoch: number): boolean {
    if (leaderEpoch <= this.#leaderEpoch) return false;

    this.#leaderId = leaderId;
    this.#leaderEpoch = leaderEpoch;
    this.#phase = leaderId === -1 ? 'idle' : 'truncating';
    return true;
  }

  /** What to send the leader next. A replica that never held a batch has nothing to truncate. */
  nextRequest(log: LocalLog): FollowerRequest {
    if (this.#phase === 'idle') return { kind: 'none' };

    const latestEpoch = log.epochs.latestEpoch;
    if (this.#phase === 'truncating' && latestEpoch === NO_EPOCH) this.#phase = 'fetching';

    const leader = { leaderId: this.#leaderId, currentLeaderEpoch: this.#leaderEpoch };
    if (this.#phase === 'truncating') {
      return { kind: 'epoch-end-offset', ...leader, leaderEpoch: latestEpoch };
    }

    const fetchOffset = log.flushedOffset;
    const lastFetchedEpoch = log.epochs.epochAt(fetchOffset - 1n);
    return { kind: 'fetch', ...leader, fetchOffset, lastFetchedEpoch };
  }

  /**
   * The leader's answer about where our epoch ended, from OffsetsForLeaderEpoch or a Fetch's
   * diverging epoch, asked under `askedInEpoch`. Returns how far to truncate (the caller
   * truncates the log and its epoch cache there, durably, before fetching), or null for an
   * answer from an older leader epoch.
   */
  onEpochEndOffset(
    askedInEpoch: number,
    answer: EpochEndOffset,
    log: LocalLog,
  ): TruncationDecision | null {
    if (askedInEpoch !== this.#leaderEpoch || this.#phase === 'idle') return null;

    const view = {
      epochs: log.epochs,
      logEndOffset: log.logEndOffset,
      highWatermark: this.#highWatermark,
    };
    const decision = decideTruncation(answer, view);
    invariant(decision.truncateTo <= log.logEndOffset, 'truncation beyond the log end offset');

    this.#phase = decision.complete ? 'fetching' : 'truncating';
    if (decision.truncateTo < this.#highWatermark) this.#highWatermark = decision.truncateTo;
    return decision;
  }

  /** A fetch answer was appended: learn the leader's high watermark, up to our log end. */
  onFetchResponse(askedInEpoch: number, leaderHighWatermark: bigint, logEndOffset: bigint): void {
    if (askedInEpoch !== this.#leaderEpoch || this.#phase !== 'fetching') return;

    const known = leaderHighWatermark < logEndOffset ? leaderHighWatermark : logEndOffset;
    if (known > this.#highWatermark) this.#highWatermark = known;
  }
}
