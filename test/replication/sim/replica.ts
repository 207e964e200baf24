// One simulated data node holding one replica of the partition: a log with a durable prefix, the
// producer state table kept beside it, and the replication cores in the role the controller's
// metadata gives it (LeaderState as leader, FollowerState as follower). This is the part a real
// Partition will do around the same cores; it talks to the world only through WorldPort.
import {
  type FetchOutcome,
  LeaderState,
  type LeaderUpdate,
} from '../../../data-node/replication/leader-state.ts';
import { FollowerState } from '../../../data-node/replication/follower-state.ts';
import { ProducerStateTable } from '../../../data-node/replication/producer-state.ts';
import { ErrorCode, KafkaError } from '../../../shared/kafka-errors.ts';
import { CONTROLLER, PRODUCER, type Envelope } from './network.ts';
import type { ProducedBatch, SimBatch, SimMessage } from './messages.ts';
import { INELIGIBLE_REPLICA, type PartitionView } from './controller.ts';
import { lastOffsetOf, SimLog } from './sim-log.ts';

export interface SimConfig {
  replicas: number[];
  minInsyncReplicas: number;
  replicaLagTimeMaxMs: number;
  ackTimeoutMs: number;
  /** How long a follower, a leader asking the controller, or the producer waits for an answer. */
  requestTimeoutMs: number;
  fetchMaxBatches: number;
  /**
   * Followers fsync what they appended before fetching again, as the Partition should; when not,
   * batches held unflushed come again and are skipped, and progress waits for fsyncs.
   */
  flushBeforeFetch: boolean;
  /** A deliberate mistake in the model, to prove the invariants catch it; null in real runs. */
  bug: SimBug | null;
}

/**
 * Mistakes the invariants must catch, each about what may count as held now that followers read
 * a leader's written (not yet durable) records: a leader counting its written end toward the high
 * watermark, a follower reporting its written end as its position, and a controller letting a
 * restarted leader resume its leader epoch (its lost tail may live on at followers).
 */
export type SimBug = 'leader-counts-written' | 'follower-reports-written' | 'leader-resumes-epoch';

/** An acks=all produce waiting at a leader. */
export interface AckWaiter {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  payload: string;
  baseOffset: bigint;
  lastOffset: bigint;
}

export interface WorldPort {
  readonly nowMs: number;
  readonly config: SimConfig;
  send(from: number, to: number, body: SimMessage): void;
  fail(message: string): never;
  note(line: string): void;
  onAcked(node: SimReplica, waiter: AckWaiter): void;
  onAckFailed(node: SimReplica, waiter: AckWaiter, errorCode: number): void;
  onBecomeLeader(node: SimReplica): void;
  onProduceRefused(node: SimReplica, batch: ProducedBatch, errorCode: number): void;
  count(stat: 'partialTruncations' | 'isrReverts' | 'staleIsrAnswers' | 'unflushedFetches'): void;
  onTruncated(node: SimReplica, truncateTo: bigint, removed: SimBatch[]): void;
}

export class SimReplica {
  alive = true;
  /** Bumped at every crash; the controller must see the new one registered before it counts. */
  incarnation = 0;
  readonly log = new SimLog();
  producers = new ProducerStateTable();
  /** The high watermark as last written to disk, at flushes; what a restart starts from. */
  hwCheckpoint = 0n;

  /** From the metadata; reset by a crash. */
  knownLeaderEpoch = -1;
  knownPartitionEpoch = -1;
  leader: LeaderState<AckWaiter> | null = null;
  follower = new FollowerState(0n);
  /** The one request a follower has out to its leader; later answers to others are ignored. */
  inFlight: { requestId: number; askedInEpoch: number; sentAtMs: number } | null = null;
  #nextRequestId = 1;
  /** The latest ISR change copy sent; only its answer is acted on. */
  #isrSendId = 0;
  /** Copies sent and not answered: a leader resends only after an answer or a timeout. */
  isrOutstanding = 0;
  isrSentAtMs = 0;

  constructor(readonly id: number) {}

  get highWatermark(): bigint {
    if (!this.alive) return this.hwCheckpoint;
    return this.leader?.highWatermark ?? this.follower.highWatermark;
  }

  // --- faults -------------------------------------------------------------------------------

  crash(): void {
    this.alive = false;
    this.incarnation++;
    this.log.crash();
    this.producers = ProducerStateTable.rebuild(this.log.batches);

    this.leader = null;
    this.inFlight = null;
    this.isrOutstanding = 0;
    if (this.hwCheckpoint > this.log.logEndOffset) this.hwCheckpoint = this.log.logEndOffset;
    this.follower = new FollowerState(this.hwCheckpoint);
    this.knownLeaderEpoch = -1;
    this.knownPartitionEpoch = -1;
  }

  restart(): void {
    this.alive = true;
  }

  // --- metadata -----------------------------------------------------------------------------

  isBehind(record: PartitionView): boolean {
    return (
      record.leaderEpoch > this.knownLeaderEpoch || record.partitionEpoch > this.knownPartitionEpoch
    );
  }

  applyMetadata(record: PartitionView, world: WorldPort): void {
    if (record.leaderEpoch < this.knownLeaderEpoch) return;
    if (record.leaderEpoch === this.knownLeaderEpoch) {
      const update = this.leader?.onIsrCommitted(record.isr, record.partitionEpoch);
      if (update !== undefined) this.#handle(update, world);
      this.knownPartitionEpoch = Math.max(this.knownPartitionEpoch, record.partitionEpoch);
      return;
    }

    if (this.leader !== null) {
      const failed = this.leader.resign();
      for (const f of failed) world.onAckFailed(this, f.waiter, f.error.code);
      this.follower = new FollowerState(this.leader.highWatermark);
      this.leader = null;
    }
    this.knownLeaderEpoch = record.leaderEpoch;
    this.knownPartitionEpoch = record.partitionEpoch;
    this.inFlight = null;

    if (record.leader === this.id) this.#becomeLeader(record, world);
    else this.follower.follow(record.leader, record.leaderEpoch);
  }

  #becomeLeader(record: PartitionView, world: WorldPort): void {
    this.log.epochs.assign(record.leaderEpoch, this.log.logEndOffset);
    world.onBecomeLeader(this);

    this.leader = new LeaderState<AckWaiter>({
      nodeId: this.id,
      leaderEpoch: record.leaderEpoch,
      partitionEpoch: record.partitionEpoch,
      replicas: record.replicas,
      isr: record.isr,
      minInsyncReplicas: world.config.minInsyncReplicas,
      replicaLagTimeMaxMs: world.config.replicaLagTimeMaxMs,
      logStartOffset: 0n,
      logEndOffset: this.log.logEndOffset,
      flushedOffset: this.#durableEnd(world, true),
      highWatermark: this.follower.highWatermark,
      epochs: this.log.epochs,
      nowMs: world.nowMs,
    });
    this.follower = new FollowerState(0n);
  }

  // --- local events -------------------------------------------------------------------------

  /** The follower sends its next request, if it has a leader and nothing out. */
  sendNext(world: WorldPort): boolean {
    if (this.leader !== null || this.inFlight !== null) return false;
    const request = this.follower.nextRequest({
      epochs: this.log.epochs,
      logEndOffset: this.log.logEndOffset,
      flushedOffset: this.#durableEnd(world),
    });
    if (request.kind === 'none') return false;

    const requestId = this.#nextRequestId++;
    this.inFlight = { requestId, askedInEpoch: request.currentLeaderEpoch, sentAtMs: world.nowMs };
    if (request.kind === 'epoch-end-offset') {
      const { currentLeaderEpoch, leaderEpoch } = request;
      world.send(this.id, request.leaderId, {
        kind: 'epoch-request',
        requestId,
        currentLeaderEpoch,
        leaderEpoch,
      });
    } else {
      const { currentLeaderEpoch, fetchOffset, lastFetchedEpoch } = request;
      const body = {
        kind: 'fetch',
        requestId,
        currentLeaderEpoch,
        fetchOffset,
        lastFetchedEpoch,
      } as const;
      world.send(this.id, request.leaderId, body);
    }
    return true;
  }

  flush(count: number, world: WorldPort): void {
    this.log.flush(count);
    if (this.leader !== null) {
      this.#handle(this.leader.onLocalFlush(this.#durableEnd(world)), world);
    }

    const hw = this.highWatermark;
    this.hwCheckpoint = hw < this.log.flushedOffset ? hw : this.log.flushedOffset;
  }

  maybeShrinkIsr(world: WorldPort): void {
    const change = this.leader?.maybeShrinkIsr(world.nowMs) ?? null;
    if (change !== null) this.#sendIsrChange(world);
  }

  resendIsrChange(world: WorldPort): void {
    if (this.leader?.pendingIsrChange) this.#sendIsrChange(world);
  }

  expireAcks(world: WorldPort): void {
    for (const failed of this.leader?.expireAcks(world.nowMs) ?? []) {
      world.onAckFailed(this, failed.waiter, failed.error.code);
    }
  }

  // --- messages -----------------------------------------------------------------------------

  receive(envelope: Envelope, world: WorldPort): void {
    const message = envelope.body;
    switch (message.kind) {
      case 'epoch-request':
        return this.#onEpochRequest(envelope.from, message, world);
      case 'epoch-answer':
        return this.#onEpochAnswer(message, world);
      case 'fetch':
        return this.#onFetch(envelope.from, message, world);
      case 'fetch-answer':
        return this.#onFetchAnswer(message, world);
      case 'produce':
        return this.#onProduce(message.batch, world);
      case 'isr-answer':
        return this.#onIsrAnswer(message, world);
      default:
        world.fail(`node ${this.id} got unexpected ${message.kind}`);
    }
  }

  #onEpochRequest(
    from: number,
    message: Extract<SimMessage, { kind: 'epoch-request' }>,
    world: WorldPort,
  ): void {
    const errorCode = this.#leaderEpochError(message.currentLeaderEpoch);
    const answer =
      errorCode === ErrorCode.NONE
        ? this.log.epochs.endOffsetFor(message.leaderEpoch, this.log.logEndOffset)
        : { leaderEpoch: -1, endOffset: -1n };
    const { requestId } = message;
    world.send(this.id, from, { kind: 'epoch-answer', requestId, errorCode, answer });
  }

  #onEpochAnswer(message: Extract<SimMessage, { kind: 'epoch-answer' }>, world: WorldPort): void {
    const asked = this.#takeInFlight(message.requestId);
    if (asked === null || message.errorCode !== ErrorCode.NONE) return;

    const decision = this.follower.onEpochEndOffset(asked, message.answer, this.log);
    if (decision === null) return;
    this.#truncateTo(decision.truncateTo, world);
    if (!decision.complete) world.count('partialTruncations');
    world.note(
      `node ${this.id} truncates to ${decision.truncateTo} (complete ${decision.complete})`,
    );
  }

  #truncateTo(offset: bigint, world: WorldPort): void {
    const removed = this.log.truncateTo(offset);
    world.onTruncated(this, offset, removed);

    this.producers = ProducerStateTable.rebuild(this.log.batches);
    if (this.hwCheckpoint > offset) this.hwCheckpoint = offset;
  }

  #onFetch(from: number, message: Extract<SimMessage, { kind: 'fetch' }>, world: WorldPort): void {
    const { errorCode, outcome } = this.#leaderFetch(from, message, world);
    const diverging = outcome?.divergingEpoch ?? null;
    const readable = errorCode === ErrorCode.NONE && diverging === null;
    // A follower reads what the leader has written, durable here or not.
    const batches = readable
      ? this.log.readFrom(message.fetchOffset, world.config.fetchMaxBatches)
      : [];
    const flushed = this.log.flushedOffset;
    if (batches.some((b) => lastOffsetOf(b) >= flushed)) world.count('unflushedFetches');

    world.send(this.id, from, {
      kind: 'fetch-answer',
      requestId: message.requestId,
      errorCode,
      diverging,
      batches,
      highWatermark: this.highWatermark,
    });
    if (outcome !== null) this.#handle(outcome, world);
  }

  #leaderFetch(
    from: number,
    message: Extract<SimMessage, { kind: 'fetch' }>,
    world: WorldPort,
  ): { errorCode: number; outcome: FetchOutcome<AckWaiter> | null } {
    if (this.leader === null) {
      return { errorCode: this.#leaderEpochError(message.currentLeaderEpoch), outcome: null };
    }
    try {
      const fetch = { replicaId: from, ...message, nowMs: world.nowMs };
      return { errorCode: ErrorCode.NONE, outcome: this.leader.onFollowerFetch(fetch) };
    } catch (err) {
      if (err instanceof KafkaError) return { errorCode: err.code, outcome: null };
      throw err;
    }
  }

  #onFetchAnswer(message: Extract<SimMessage, { kind: 'fetch-answer' }>, world: WorldPort): void {
    const asked = this.#takeInFlight(message.requestId);
    if (asked === null) return;
    if (message.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      world.fail(`node ${this.id} fetched outside its leader's log after truncating`);
    }
    if (message.errorCode !== ErrorCode.NONE) return;
    if (message.diverging !== null) {
      const { leaderEpoch, endOffset } = message.diverging;
      world.fail(
        `node ${this.id} diverges after truncating: epoch ${leaderEpoch} ends at ${endOffset}`,
      );
    }

    for (const batch of message.batches) this.#appendFromLeader(batch, world);
    this.follower.onFetchResponse(asked, message.highWatermark, this.log.logEndOffset);
  }

  /** Batches it holds unflushed come again (it fetches from its durable end): they must match. */
  #appendFromLeader(batch: SimBatch, world: WorldPort): void {
    const end = this.log.logEndOffset;
    if (lastOffsetOf(batch) < end) {
      const held = this.log.batchAt(batch.baseOffset);
      if (held?.bytes !== batch.bytes) {
        world.fail(`node ${this.id} holds ${held?.bytes} where its leader has ${batch.bytes}`);
      }
      return;
    }
    if (batch.baseOffset !== end) {
      world.fail(`node ${this.id} got a batch at ${batch.baseOffset}, log ends at ${end}`);
    }

    const copy = { ...batch };
    this.log.append(copy);
    this.producers.onAppend(copy);
  }

  #onProduce(produced: ProducedBatch, world: WorldPort): void {
    const answer = (errorCode: number, baseOffset = -1n) =>
      world.send(this.id, PRODUCER, {
        kind: 'produce-answer',
        producerEpoch: produced.producerEpoch,
        baseSequence: produced.baseSequence,
        errorCode,
        baseOffset,
      });
    if (this.leader === null) return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    let offsets: { baseOffset: bigint; lastOffset: bigint };
    try {
      this.leader.checkAcksAllAppend();
      const verdict = this.producers.validate(produced);
      offsets = verdict.kind === 'duplicate' ? verdict : this.#appendAsLeader(produced, world);
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      world.onProduceRefused(this, produced, err.code);
      return answer(err.code);
    }

    const waiter: AckWaiter = { ...produced, ...offsets };
    const deadline = world.nowMs + world.config.ackTimeoutMs;
    if (this.leader.awaitAck(offsets.lastOffset, deadline, waiter)) world.onAcked(this, waiter);
  }

  #appendAsLeader(
    produced: ProducedBatch,
    world: WorldPort,
  ): { baseOffset: bigint; lastOffset: bigint } {
    const leader = this.leader!;
    const baseOffset = this.log.logEndOffset;
    const { producerId, producerEpoch, baseSequence, lastOffsetDelta, payload } = produced;
    const producer = `${producerId}:${producerEpoch}:${baseSequence}`;
    const bytes = `${baseOffset}/e${leader.leaderEpoch}/${producer}/${payload}`;
    const batch: SimBatch = {
      baseOffset,
      lastOffsetDelta,
      leaderEpoch: leader.leaderEpoch,
      producerId,
      producerEpoch,
      baseSequence,
      maxTimestamp: BigInt(world.nowMs),
      payload,
      bytes,
    };

    this.log.append(batch);
    this.producers.onAppend(batch);
    leader.onLocalAppend(this.log.logEndOffset);
    if (world.config.bug === 'leader-counts-written') {
      this.#handle(leader.onLocalFlush(this.#durableEnd(world)), world);
    }
    return { baseOffset, lastOffset: lastOffsetOf(batch) };
  }

  /** What this replica counts as on disk: its flushed end, unless a bug is injected. */
  #durableEnd(world: WorldPort, leading = this.leader !== null): bigint {
    const bug = world.config.bug;
    const countsWritten =
      (bug === 'leader-counts-written' && leading) ||
      (bug === 'follower-reports-written' && !leading);
    return countsWritten ? this.log.logEndOffset : this.log.flushedOffset;
  }

  /** Only the answer to the latest copy sent counts: an older one may predate a newer copy. */
  #onIsrAnswer(message: Extract<SimMessage, { kind: 'isr-answer' }>, world: WorldPort): void {
    const leader = this.leader;
    if (message.incarnation !== this.incarnation) return;
    this.isrOutstanding = Math.max(0, this.isrOutstanding - 1);
    if (message.sendId !== this.#isrSendId) return world.count('staleIsrAnswers');
    if (leader === null || message.request.leaderEpoch !== leader.leaderEpoch) return;

    if (message.errorCode === ErrorCode.NONE) {
      this.#handle(leader.onIsrCommitted(message.isr, message.partitionEpoch), world);
    } else if (message.errorCode === INELIGIBLE_REPLICA) {
      if (leader.pendingIsrChange !== null) world.count('isrReverts');
      this.#handle(leader.onIsrChangeNotApplied(message.request), world);
    }
  }

  #sendIsrChange(world: WorldPort): void {
    const request = this.leader!.pendingIsrChange!;
    this.#isrSendId++;
    this.isrOutstanding++;
    this.isrSentAtMs = world.nowMs;
    const body = {
      kind: 'isr-change',
      sendId: this.#isrSendId,
      incarnation: this.incarnation,
      request,
    } as const;
    world.send(this.id, CONTROLLER, body);
  }

  #handle(update: LeaderUpdate<AckWaiter>, world: WorldPort): void {
    for (const waiter of update.acked) world.onAcked(this, waiter);
    for (const failed of update.failed) world.onAckFailed(this, failed.waiter, failed.error.code);
    if (update.isrChange !== null) this.#sendIsrChange(world);
  }

  #takeInFlight(requestId: number): number | null {
    if (this.inFlight?.requestId !== requestId) return null;
    const asked = this.inFlight.askedInEpoch;
    this.inFlight = null;
    return asked;
  }

  #leaderEpochError(requestEpoch: number): number {
    if (this.leader === null) {
      return requestEpoch < this.knownLeaderEpoch
        ? ErrorCode.FENCED_LEADER_EPOCH
        : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    if (requestEpoch === this.leader.leaderEpoch) return ErrorCode.NONE;
    return requestEpoch < this.leader.leaderEpoch
      ? ErrorCode.FENCED_LEADER_EPOCH
      : ErrorCode.UNKNOWN_LEADER_EPOCH;
  }
}
