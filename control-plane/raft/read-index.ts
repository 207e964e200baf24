// The leader's queue of linearizable reads (ReadIndex, Raft dissertation section 6.4). A read is
// stamped with the commit index when it arrives and confirmed once a majority has answered a
// heartbeat sent after it: then no newer leader can have committed anything this one lacks. Reads
// that arrive before the leader has committed an entry of its own term wait for that commit, since
// until then its commit index may lag what earlier leaders committed.
import { invariant } from '../../shared/assert.ts';
import type { RaftIndex, ReadState } from './types.ts';

interface PendingRead {
  readonly round: number;
  readonly requestId: number;
  readonly index: RaftIndex;
}

export class ReadIndexQueue {
  /** Latest round started; heartbeats carry it and followers echo it. Grows for the node's life. */
  private round = 0;

  /** True when a round was started and no heartbeat carrying it has been sent yet. */
  private unsentRound = false;

  /** Reads stamped and waiting for a majority to echo their round, in round order. */
  private pending: PendingRead[] = [];

  /** Reads waiting for the leader's first commit in its term. */
  private awaitingCommit: number[] = [];

  get currentRound(): number {
    return this.round;
  }

  get needsBroadcast(): boolean {
    return this.unsentRound;
  }

  markBroadcast(): void {
    this.unsentRound = false;
  }

  hasWork(): boolean {
    return this.pending.length > 0 || this.awaitingCommit.length > 0;
  }

  /** Stamps a read with the commit index, or parks it until the leader's term has a commit. */
  add(requestId: number, commitIndex: RaftIndex, termCommitted: boolean): void {
    if (!termCommitted) {
      this.awaitingCommit.push(requestId);
      return;
    }
    this.startRound([requestId], commitIndex);
  }

  /** The leader committed in its term: parked reads can be stamped now. */
  releaseAwaiting(commitIndex: RaftIndex): void {
    if (this.awaitingCommit.length === 0) return;

    const parked = this.awaitingCommit;
    this.awaitingCommit = [];
    this.startRound(parked, commitIndex);
  }

  /** Reads whose round a majority has echoed; they leave the queue. */
  confirm(confirmedRound: number): ReadState[] {
    const ready: ReadState[] = [];
    while (this.pending.length > 0 && this.pending[0].round <= confirmedRound) {
      const read = this.pending.shift()!;
      ready.push({ requestId: read.requestId, index: read.index });
    }
    return ready;
  }

  /** Leadership lost: every queued read fails; the caller may retry at the new leader. */
  abortAll(): number[] {
    const aborted = [...this.awaitingCommit, ...this.pending.map((r) => r.requestId)];
    this.awaitingCommit = [];
    this.pending = [];
    this.unsentRound = false;
    return aborted;
  }

  private startRound(requestIds: readonly number[], commitIndex: RaftIndex): void {
    const last = this.pending.at(-1);
    invariant(last === undefined || last.index <= commitIndex, 'read index went backwards');

    this.round += 1;
    this.unsentRound = true;
    for (const requestId of requestIds) {
      this.pending.push({ round: this.round, requestId, index: commitIndex });
    }
  }
}
