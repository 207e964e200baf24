// The leader's view of one follower: how much of the log it is known to hold and how to send it
// more. Three modes, as in etcd's raft: probing (one append at a time until the logs meet),
// replicating (optimistic streaming with a bounded window), and waiting on a snapshot.
import { invariant } from '../../shared/assert.ts';
import { raftIndex } from '../../shared/ids.ts';
import type { RaftIndex } from './types.ts';

export type ProgressMode = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to match the leader's log; only grows during one leadership. */
  match: RaftIndex = raftIndex(0);

  /** Next index to send. Invariant: match < next <= leader's last index + 1. */
  next: RaftIndex;

  mode: ProgressMode = 'probe';

  /** probe: an append is out; send nothing more until it is answered or a heartbeat returns. */
  probeSent = false;

  /** replicate: last index carried by each append still in flight, oldest first. */
  inflight: RaftIndex[] = [];

  /** snapshot: index of the snapshot sent, and leader ticks since, to resend it if lost. */
  snapshotIndex: RaftIndex = raftIndex(0);
  snapshotTicks = 0;

  /** Heard from since the leader's last check-quorum. */
  recentActive = true;

  /** Newest ReadIndex round this follower echoed in the current leadership. */
  readRound = 0;

  constructor(next: RaftIndex) {
    this.next = next;
  }

  isPaused(maxInflight: number): boolean {
    if (this.mode === 'probe') return this.probeSent;
    if (this.mode === 'replicate') return this.inflight.length >= maxInflight;
    return true;
  }

  becomeProbe(): void {
    this.mode = 'probe';
    this.next = raftIndex(this.match + 1);
    this.probeSent = false;
    this.inflight = [];
  }

  becomeReplicate(): void {
    this.mode = 'replicate';
    this.next = raftIndex(this.match + 1);
    this.inflight = [];
  }

  becomeSnapshot(index: RaftIndex): void {
    this.mode = 'snapshot';
    this.snapshotIndex = index;
    this.snapshotTicks = 0;
    this.next = raftIndex(index + 1);
    this.inflight = [];
  }

  /** Records an append just sent; `lastIndex` is undefined when it carried no entries. */
  sentAppend(lastIndex: RaftIndex | undefined): void {
    if (this.mode === 'probe') {
      this.probeSent = true;
      return;
    }

    invariant(this.mode === 'replicate', 'append sent while waiting on a snapshot');
    if (lastIndex === undefined) return;
    this.next = raftIndex(lastIndex + 1);
    this.inflight.push(lastIndex);
  }

  /** A success up to `index`; false when it tells nothing new (late or duplicated). */
  maybeUpdate(index: RaftIndex): boolean {
    if (index <= this.match) return false;

    this.match = index;
    if (this.next <= index) this.next = raftIndex(index + 1);
    this.probeSent = false;
    this.inflight = this.inflight.filter((i) => i > index);
    return true;
  }

  /**
   * A refusal of the append whose prevLogIndex was `rejected`; `hint` is where the leader's log
   * can agree at best. False when the refusal answers an append older than the current attempt.
   */
  maybeBackOff(rejected: RaftIndex, hint: RaftIndex): boolean {
    if (this.mode === 'snapshot') return false;

    if (this.mode === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (this.next - 1 !== rejected) {
      return false;
    }

    this.next = raftIndex(Math.max(Math.min(rejected, hint + 1), this.match + 1));
    this.probeSent = false;
    return true;
  }
}
