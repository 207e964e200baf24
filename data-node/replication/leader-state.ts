// The replication state of a partition leader for one leader epoch: what each follower has
// reported, the ISR (committed, and any change waiting at the controller), the high watermark and
// the acks=all produces waiting for it. A synchronous object without I/O, timers or clock: the
// Partition feeds it events (follower fetches, local appends and flushes, controller answers) with
// the time as a number, and carries out what it returns (answer producers, send an ISR change).
// A new leader epoch is a new object; `resign` ends this one.
//
// The safety argument, in short. The high watermark is the least durable end offset over the
// maximal ISR, so a committed record is on disk on every replica the controller may call in sync.
// The controller elects leaders only from its ISR, which is always within the leader's maximal
// ISR: it shrinks the ISR on its own, but grows it only when this leader asks. A follower joins
// only once it holds everything below the high watermark. So every future leader holds every
// committed record; followers then cut their divergent tails by leader epoch (divergence.ts).
import { invariant } from '../../shared/assert.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { divergingEpoch, type EpochEndOffset, type EpochHistory } from './divergence.ts';
import { nextHighWatermark } from './high-watermark.ts';
import {
  canJoinIsr,
  type FollowerProgress,
  inReplicaOrder,
  initialProgress,
  isOutOfSync,
  joined,
  type IsrState,
  maximalIsr,
  recordFetch,
  sameMembers,
} from './isr.ts';

export interface LeaderStateOptions {
  nodeId: number;
  leaderEpoch: number;
  /** Of the partition record that made this node leader. */
  partitionEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  minInsyncReplicas: number;
  replicaLagTimeMaxMs: number;
  logStartOffset: bigint;
  /** The log end offset now, where this leader epoch starts (the epoch cache already says so). */
  logEndOffset: bigint;
  flushedOffset: bigint;
  /** The high watermark this replica learned as a follower; kept within [log start, flushed]. */
  highWatermark: bigint;
  /** The log's leader epoch cache, read to check followers' fetches for divergence. */
  epochs: EpochHistory;
  nowMs: number;
  /**
   * Whether the controller would let this replica join the ISR now (registered, not fenced), as
   * the metadata says; saves proposals the controller would refuse. Everyone, by default.
   */
  eligibleToJoin?: (replicaId: number) => boolean;
  logger?: Logger;
}

/** A follower's Fetch, reduced to what replication needs. */
export interface FollowerFetch {
  replicaId: number;
  /** The follower's durable log end offset: it reports only what it has fsynced. */
  fetchOffset: bigint;
  /** The leader epoch the follower believes current; -1 skips the check. */
  currentLeaderEpoch: number;
  /** The epoch of the follower's record just below `fetchOffset`; -1 skips the divergence check. */
  lastFetchedEpoch: number;
  nowMs: number;
}

/** What the leader asks the controller; the controller refuses it if any epoch moved. */
export interface IsrChangeRequest {
  leaderId: number;
  leaderEpoch: number;
  /** The partition epoch of the ISR this change starts from. */
  partitionEpoch: number;
  isr: number[];
}

export interface FailedAck<W> {
  waiter: W;
  error: KafkaError;
}

/** What an event changed that the caller must act on. */
export interface LeaderUpdate<W> {
  highWatermark: bigint;
  highWatermarkChanged: boolean;
  /** acks=all waits now committed, to answer with success, lowest offset first. */
  acked: W[];
  /** Waits to answer with an error. */
  failed: FailedAck<W>[];
  /** An ISR change this event started, to send to the controller. */
  isrChange: IsrChangeRequest | null;
}

export interface FetchOutcome<W> extends LeaderUpdate<W> {
  /** A diverging follower must truncate with this answer; nothing of its fetch was recorded. */
  divergingEpoch: EpochEndOffset | null;
}

interface PendingAck<W> {
  lastOffset: bigint;
  deadlineMs: number;
  waiter: W;
}

export class LeaderState<W = unknown> {
  readonly nodeId: number;
  readonly leaderEpoch: number;
  /** The first offset of this leader epoch; a follower below it cannot join the ISR. */
  readonly leaderEpochStartOffset: bigint;
  readonly replicas: readonly number[];

  /** Set by the topic config; may change while leading (`setMinInsyncReplicas`). */
  #minInsyncReplicas: number;
  readonly #replicaLagTimeMaxMs: number;
  readonly #epochs: EpochHistory;
  readonly #eligibleToJoin: (replicaId: number) => boolean;
  readonly #logger: Logger;

  /** Moved by retention and DeleteRecords (`onLogStartOffset`); never past the high watermark. */
  #logStartOffset: bigint;

  /** Moved by this leader's appends (`onLocalAppend`); only grows: a leader never truncates. */
  #logEndOffset: bigint;

  /** Moved by fsyncs of this leader's log (`onLocalFlush`); only grows, <= log end offset. */
  #flushedOffset: bigint;

  /**
   * Consumers read below it; acks=all produces below it are answered. Moved only by
   * `#advanceHighWatermark`, never backwards. Invariants: logStart <= HW <= flushed <= logEnd,
   * and HW <= the reported end offset of every maximal ISR member that has reported one.
   */
  #highWatermark: bigint;

  /** Committed ISR and the change in flight; advanced by proposals and controller answers. */
  #isr: IsrState;

  /** One entry per replica other than this leader; advanced by their fetches. */
  readonly #followers = new Map<number, FollowerProgress>();

  /** acks=all produces waiting for the high watermark, by ascending last offset. */
  #waits: PendingAck<W>[] = [];

  /** Set by `resign`; a resigned leader accepts no more events. */
  #resigned = false;

  constructor(options: LeaderStateOptions) {
    invariant(options.isr.includes(options.nodeId), `leader ${options.nodeId} not in its ISR`);
    invariant(options.flushedOffset <= options.logEndOffset, 'flushed offset past log end offset');

    this.nodeId = options.nodeId;
    this.leaderEpoch = options.leaderEpoch;
    this.leaderEpochStartOffset = options.logEndOffset;
    this.replicas = [...options.replicas];
    this.#minInsyncReplicas = options.minInsyncReplicas;
    this.#replicaLagTimeMaxMs = options.replicaLagTimeMaxMs;
    this.#epochs = options.epochs;
    this.#eligibleToJoin = options.eligibleToJoin ?? (() => true);
    this.#logger = (options.logger ?? silentLogger).child({ leaderEpoch: options.leaderEpoch });

    // A follower's high watermark may run ahead of what it has flushed; as leader only durable
    // records may count as committed.
    this.#logStartOffset = options.logStartOffset;
    this.#logEndOffset = options.logEndOffset;
    this.#flushedOffset = options.flushedOffset;
    this.#highWatermark = clamp(
      options.highWatermark,
      options.logStartOffset,
      options.flushedOffset,
    );

    const isr = inReplicaOrder(this.replicas, options.isr);
    this.#isr = { committed: isr, partitionEpoch: options.partitionEpoch, proposed: null };
    const followers = this.replicas.filter((id) => id !== this.nodeId);
    for (const id of followers) {
      this.#followers.set(id, initialProgress(isr.includes(id), options.nowMs));
    }
    this.#checkInvariants();
  }

  get highWatermark(): bigint {
    return this.#highWatermark;
  }

  get logStartOffset(): bigint {
    return this.#logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.#logEndOffset;
  }

  get flushedOffset(): bigint {
    return this.#flushedOffset;
  }

  /** The ISR as the controller last committed it. */
  get isr(): readonly number[] {
    return this.#isr.committed;
  }

  /** Committed members plus those of the change in flight; the high watermark waits for all. */
  get maximalIsr(): readonly number[] {
    return inReplicaOrder(this.replicas, maximalIsr(this.#isr));
  }

  get partitionEpoch(): number {
    return this.#isr.partitionEpoch;
  }

  get minInsyncReplicas(): number {
    return this.#minInsyncReplicas;
  }

  get pendingAckCount(): number {
    return this.#waits.length;
  }

  get resigned(): boolean {
    return this.#resigned;
  }

  /** The change waiting at the controller, to send again after a lost answer; null when none. */
  get pendingIsrChange(): IsrChangeRequest | null {
    if (this.#isr.proposed === null) return null;
    return this.#request(this.#isr.proposed);
  }

  followerProgress(replicaId: number): Readonly<FollowerProgress> | undefined {
    return this.#followers.get(replicaId);
  }

  /**
   * A follower fetched: its fetch offset is what it holds durably. Throws FENCED_LEADER_EPOCH or
   * UNKNOWN_LEADER_EPOCH for another epoch, NOT_LEADER_OR_FOLLOWER for a node that is not a
   * replica, OFFSET_OUT_OF_RANGE outside the log.
   */
  onFollowerFetch(fetch: FollowerFetch): FetchOutcome<W> {
    this.#checkOpen();
    this.#checkLeaderEpoch(fetch.currentLeaderEpoch);
    const progress = this.#followers.get(fetch.replicaId);
    if (progress === undefined) {
      const detail = `node ${fetch.replicaId} is not a follower of this partition`;
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, detail);
    }
    this.#checkFetchOffset(fetch.fetchOffset);

    // A follower whose log diverges holds nothing we can count until it truncates.
    const diverging = divergingEpoch(
      this.#epochs,
      this.#logEndOffset,
      fetch.fetchOffset,
      fetch.lastFetchedEpoch,
    );
    if (diverging !== null) return { ...this.#settle(null, []), divergingEpoch: diverging };

    const next = recordFetch(progress, fetch.fetchOffset, this.#logEndOffset, fetch.nowMs);
    this.#followers.set(fetch.replicaId, next);

    const isrChange = this.#maybeExpand(fetch.replicaId, next);
    return { ...this.#settle(isrChange, []), divergingEpoch: null };
  }

  /** This leader appended: its log now ends at `logEndOffset` (not yet durable). */
  onLocalAppend(logEndOffset: bigint): void {
    this.#checkOpen();
    invariant(logEndOffset >= this.#logEndOffset, 'a leader log end offset never moves back');

    this.#logEndOffset = logEndOffset;
  }

  /** This leader's log is durable below `flushedOffset`. */
  onLocalFlush(flushedOffset: bigint): LeaderUpdate<W> {
    this.#checkOpen();
    invariant(flushedOffset <= this.#logEndOffset, 'flushed past the log end offset');
    invariant(flushedOffset >= this.#flushedOffset, 'a flushed offset never moves back');

    this.#flushedOffset = flushedOffset;
    return this.#settle(null, []);
  }

  /** Retention or DeleteRecords moved the log start offset; it may not pass the high watermark. */
  onLogStartOffset(logStartOffset: bigint): void {
    this.#checkOpen();
    invariant(logStartOffset <= this.#highWatermark, 'log start offset past the high watermark');

    if (logStartOffset > this.#logStartOffset) this.#logStartOffset = logStartOffset;
  }

  /** Refuses an acks=all produce while the ISR is smaller than min.insync.replicas. */
  checkAcksAllAppend(): void {
    this.#checkOpen();
    const size = this.#isr.committed.length;
    if (size < this.#minInsyncReplicas) {
      const detail = `ISR has ${size} members, min.insync.replicas is ${this.#minInsyncReplicas}`;
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, detail);
    }
  }

  /**
   * An acks=all produce (or a retry answered as a duplicate) waits until its last offset is
   * committed. Returns true when it already is; otherwise `waiter` comes back later in `acked`,
   * or in `failed` (expired, ISR too small, leadership lost).
   */
  awaitAck(lastOffset: bigint, deadlineMs: number, waiter: W): boolean {
    this.#checkOpen();
    invariant(lastOffset < this.#logEndOffset, `wait for offset ${lastOffset} beyond the log end`);
    if (lastOffset < this.#highWatermark) return true;

    let at = this.#waits.length;
    while (at > 0 && this.#waits[at - 1].lastOffset > lastOffset) at--;
    this.#waits.splice(at, 0, { lastOffset, deadlineMs, waiter });
    return false;
  }

  /** Waits past their deadline, answered REQUEST_TIMED_OUT. */
  expireAcks(nowMs: number): FailedAck<W>[] {
    this.#checkOpen();
    const expired = this.#waits.filter((w) => w.deadlineMs <= nowMs);
    if (expired.length === 0) return [];

    this.#waits = this.#waits.filter((w) => w.deadlineMs > nowMs);
    const error = new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'not replicated in time');
    return expired.map((w) => ({ waiter: w.waiter, error }));
  }

  /**
   * Proposes dropping the committed ISR members that have not caught up within
   * replica.lag.time.max.ms; null when none lag or a change is already in flight.
   */
  maybeShrinkIsr(nowMs: number): IsrChangeRequest | null {
    this.#checkOpen();
    if (this.#isr.proposed !== null) return null;

    const lagging = this.#isr.committed.filter((id) => {
      if (id === this.nodeId) return false;
      const progress = this.#followers.get(id)!;
      return isOutOfSync(progress, this.#logEndOffset, nowMs, this.#replicaLagTimeMaxMs);
    });
    if (lagging.length === 0) return null;

    const isr = this.#isr.committed.filter((id) => !lagging.includes(id));
    this.#logger.info({ lagging, isr }, 'isr shrink proposed');
    return this.#propose(isr);
  }

  /**
   * The controller committed `isr` at `partitionEpoch` for this leader epoch: the answer to our
   * change, or a change of its own seen in the metadata. Older partition epochs are ignored.
   */
  onIsrCommitted(isr: readonly number[], partitionEpoch: number): LeaderUpdate<W> {
    this.#checkOpen();
    if (partitionEpoch <= this.#isr.partitionEpoch) return this.#settle(null, []);
    invariant(isr.includes(this.nodeId), `leader ${this.nodeId} dropped from its ISR ${isr}`);
    invariant(
      isr.every((id) => this.replicas.includes(id)),
      `ISR ${isr} outside the replicas`,
    );

    const committed = inReplicaOrder(this.replicas, isr);
    for (const id of committed) {
      if (id === this.nodeId || this.#isr.committed.includes(id)) continue;
      this.#followers.set(id, joined(this.#followers.get(id)!));
    }
    this.#isr = { committed, partitionEpoch, proposed: null };
    this.#logger.info({ isr: committed, partitionEpoch }, 'isr change committed');

    return this.#settle(null, this.#failIfIsrTooSmall());
  }

  /**
   * The controller refused `request` and said it was not applied while its partition epoch is
   * still current (Kafka's INELIGIBLE_REPLICA): the proposal is dropped. Only for an answer to the
   * latest copy sent, with no older copy still able to reach the controller: an older copy
   * applied later would hand the controller an ISR this leader no longer waits for. Other
   * refusals need nothing: the change stays in flight until the metadata shows a newer epoch.
   */
  onIsrChangeNotApplied(request: IsrChangeRequest): LeaderUpdate<W> {
    this.#checkOpen();
    const proposed = this.#isr.proposed;
    const current =
      proposed !== null &&
      request.partitionEpoch === this.#isr.partitionEpoch &&
      sameMembers(request.isr, proposed);
    if (!current) return this.#settle(null, []);

    this.#isr = { ...this.#isr, proposed: null };
    this.#logger.info({ isr: request.isr }, 'isr change not applied');
    return this.#settle(null, []);
  }

  /** The topic's min.insync.replicas changed. */
  setMinInsyncReplicas(minInsyncReplicas: number): LeaderUpdate<W> {
    this.#checkOpen();
    invariant(minInsyncReplicas >= 1, 'min.insync.replicas is at least 1');

    this.#minInsyncReplicas = minInsyncReplicas;
    return this.#settle(null, this.#failIfIsrTooSmall());
  }

  /** Leadership ended (a newer leader epoch, or the replica goes away): every wait fails. */
  resign(): FailedAck<W>[] {
    this.#checkOpen();
    this.#resigned = true;

    const error = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
    const failed = this.#waits.map((w) => ({ waiter: w.waiter, error }));
    this.#waits = [];
    return failed;
  }

  #maybeExpand(replicaId: number, progress: FollowerProgress): IsrChangeRequest | null {
    if (this.#isr.proposed !== null || this.#isr.committed.includes(replicaId)) return null;
    if (!canJoinIsr(progress, this.#highWatermark, this.leaderEpochStartOffset)) return null;
    if (!this.#eligibleToJoin(replicaId)) return null;

    const isr = inReplicaOrder(this.replicas, [...this.#isr.committed, replicaId]);
    this.#logger.info({ joining: replicaId, isr }, 'isr expansion proposed');
    return this.#propose(isr);
  }

  #propose(isr: number[]): IsrChangeRequest {
    this.#isr = { ...this.#isr, proposed: isr };
    return this.#request(isr);
  }

  #request(isr: readonly number[]): IsrChangeRequest {
    return {
      leaderId: this.nodeId,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.#isr.partitionEpoch,
      isr: [...isr],
    };
  }

  /**
   * With fewer committed members than min.insync.replicas the high watermark stops, so waiting
   * produces are answered now rather than at their deadline; a retry is refused at append time
   * until the ISR grows again.
   */
  #failIfIsrTooSmall(): FailedAck<W>[] {
    const size = this.#isr.committed.length;
    if (size >= this.#minInsyncReplicas || this.#waits.length === 0) return [];

    this.#logger.warn(
      { isr: this.#isr.committed, waiting: this.#waits.length },
      'isr below minimum',
    );
    const error = new KafkaError(
      ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      `ISR has ${size} members, min.insync.replicas is ${this.#minInsyncReplicas}`,
    );
    const failed = this.#waits.map((w) => ({ waiter: w.waiter, error }));
    this.#waits = [];
    return failed;
  }

  /** Moves the high watermark if it can and collects the waits it satisfies. */
  #settle(isrChange: IsrChangeRequest | null, failed: FailedAck<W>[]): LeaderUpdate<W> {
    const before = this.#highWatermark;
    this.#advanceHighWatermark();

    let done = 0;
    while (done < this.#waits.length && this.#waits[done].lastOffset < this.#highWatermark) done++;
    const acked = this.#waits.splice(0, done).map((w) => w.waiter);
    this.#checkInvariants();

    const highWatermark = this.#highWatermark;
    return {
      highWatermark,
      highWatermarkChanged: highWatermark !== before,
      acked,
      failed,
      isrChange,
    };
  }

  #advanceHighWatermark(): void {
    const followerEndOffsets = maximalIsr(this.#isr)
      .filter((id) => id !== this.nodeId)
      .map((id) => this.#followers.get(id)!.logEndOffset);
    const next = nextHighWatermark({
      current: this.#highWatermark,
      leaderFlushedOffset: this.#flushedOffset,
      followerEndOffsets,
      committedIsrSize: this.#isr.committed.length,
      minInsyncReplicas: this.#minInsyncReplicas,
    });
    if (next === this.#highWatermark) return;
    invariant(next > this.#highWatermark, 'the high watermark never moves back within an epoch');

    this.#highWatermark = next;
    this.#logger.debug({ highWatermark: next }, 'high watermark advanced');
  }

  #checkInvariants(): void {
    const hw = this.#highWatermark;
    invariant(this.#logStartOffset <= hw, `log start ${this.#logStartOffset} above HW ${hw}`);
    invariant(hw <= this.#flushedOffset, `HW ${hw} above flushed offset ${this.#flushedOffset}`);
    invariant(this.#flushedOffset <= this.#logEndOffset, 'flushed offset above log end offset');

    for (const id of maximalIsr(this.#isr)) {
      const end = id === this.nodeId ? this.#flushedOffset : this.#followers.get(id)!.logEndOffset;
      invariant(end === null || hw <= end, `HW ${hw} above ISR member ${id}'s end offset ${end}`);
    }
  }

  #checkOpen(): void {
    invariant(!this.#resigned, `leader state of epoch ${this.leaderEpoch} used after resigning`);
  }

  #checkLeaderEpoch(epoch: number): void {
    if (epoch === -1 || epoch === this.leaderEpoch) return;
    if (epoch < this.leaderEpoch) throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH);
    throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH);
  }

  #checkFetchOffset(fetchOffset: bigint): void {
    if (fetchOffset >= this.#logStartOffset && fetchOffset <= this.#logEndOffset) return;
    const range = `[${this.#logStartOffset}, ${this.#logEndOffset}]`;
    throw new KafkaError(
      ErrorCode.OFFSET_OUT_OF_RANGE,
      `fetch offset ${fetchOffset} outside ${range}`,
    );
  }
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  if (value < low) return low;
  return value > high ? high : value;
}
