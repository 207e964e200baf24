// One partition replica on this data node: its log, its role (leader or follower) and leader
// epoch as the controller last said, and the replication state of that role. Handlers and the
// replica fetcher go through this class, never to the log directly, so the rules that depend on
// the role live in one place: only the leader appends for clients, consumers read below the high
// watermark, stale leader epochs are refused.
//
// The rules themselves are the pure cores of replication/: as leader a LeaderState (followers'
// durable positions, ISR, high watermark, acks=all waits), as follower a FollowerState (truncate
// to the divergence point, then fetch from the durable end), and the idempotent producer table
// (through ProducerGate). This class feeds them the log's events and carries out what they return:
// answer waiting producers, send ISR changes to the controller, truncate and append.
//
// Follower work (truncating, appending what the leader sent) runs one step at a time on a serial
// queue, and a replica becoming leader waits for the step in progress, so the log never moves
// backwards under a LeaderState.
//
// Followers read what the leader has written, durable or not, as Kafka's read the page cache: a
// parked follower fetch wakes as soon as a batch is written, so the follower copies and fsyncs it
// while the leader fsyncs it too. What counts stays durable: a follower reports its flushed end,
// and the high watermark is also bounded by this leader's own flushed end, so a record is
// committed (readable by consumers, acknowledged to acks=all) only once it is on disk everywhere.
// A leader that crashes before its fsync may come back without records a follower holds; it
// never resumes its old leader epoch, so that follower cuts them by epoch (divergence.ts).
import type { PartitionRecord } from '../shared/cluster-metadata.ts';
import { ErrorCode, KafkaError } from '../shared/kafka-errors.ts';
import type { Logger } from '../shared/logger.ts';
import { batches, BatchView, completeBatches } from '../shared/record-batch.ts';
import type { AppendResult, PartitionLog, ReadResult } from './log/partition-log.ts';
import { ProducerGate, type Admission, type BatchOffsets } from './producer-gate.ts';
import { durableEndOf, epochHistoryOf, producerBatchesOf } from './replica-log.ts';
import type { EpochEndOffset, EpochHistory } from './replication/divergence.ts';
import {
  FollowerState,
  type FollowerRequest,
  type LocalLog,
} from './replication/follower-state.ts';
import {
  LeaderState,
  type FollowerFetch,
  type IsrChangeRequest,
  type LeaderUpdate,
} from './replication/leader-state.ts';
import { NO_PRODUCER_ID, type ProducerBatch } from './replication/producer-state.ts';

export type ReplicaRole = 'leader' | 'follower';

/** Topic settings that change how a replica answers, read from the effective topic config. */
export interface PartitionSettings {
  minInsyncReplicas: number;
}

export interface PartitionIdentity {
  topic: string;
  topicId: string;
  partition: number;
}

/** A produce waiting for the high watermark (acks=all). */
export interface AckWaiter {
  resolve(): void;
  reject(error: KafkaError): void;
}

/** The controller's answer to an ISR change. */
export type IsrChangeOutcome =
  | { kind: 'committed'; leaderEpoch: number; partitionEpoch: number; isr: number[] }
  | { kind: 'refused'; errorCode: number; message: string };

/** What a partition needs from the rest of the node to replicate. */
export interface ReplicationPort {
  /** Sends an ISR change to the controller; rejects when no answer came. */
  changeIsr(id: PartitionIdentity, request: IsrChangeRequest): Promise<IsrChangeOutcome>;
  /** Whether the metadata shows `nodeId` registered and unfenced (it may join an ISR). */
  eligibleToJoin(nodeId: number): boolean;
  /** The replica follows another leader, or is ready to send its leader a request. */
  followerReady(partition: Partition): void;
}

export interface ReplicationOptions {
  /** A follower that has not caught up for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  /** A change unanswered by the controller (or lost) is sent again after this long. */
  isrResendMs: number;
  port: ReplicationPort;
}

/** A request of this follower to its leader, and the leader epoch it was asked under. */
export interface FollowerCall {
  readonly id: number;
  readonly askedInEpoch: number;
  readonly request: Exclude<FollowerRequest, { kind: 'none' }>;
}

/** A leader's answer to a follower call, as the replica fetcher decoded it. */
export type FollowerAnswer =
  | { kind: 'epoch'; errorCode: number; leaderEpoch: number; endOffset: bigint }
  | {
      kind: 'fetch';
      errorCode: number;
      highWatermark: bigint;
      logStartOffset: bigint;
      divergingEpoch: EpochEndOffset | null;
      records: Buffer | null;
    };

/** What a leader sends a fetching follower: records, or where it must truncate first. */
export interface FollowerRead {
  records: Buffer;
  divergingEpoch: EpochEndOffset | null;
}

/** Producer ids unused for longer than this are forgotten (Kafka's producer.id.expiration.ms). */
const PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const DEFAULT_ACK_TIMEOUT_MS = 30_000;

/** How often a moved high watermark is checkpointed, as Kafka's default for the same. */
const HW_CHECKPOINT_INTERVAL_MS = 5000;

const INELIGIBLE_REPLICA = 107;

const NO_REPLICATION: ReplicationOptions = {
  replicaLagTimeMaxMs: 5000,
  isrResendMs: 1000,
  port: {
    changeIsr: () => Promise.reject(new Error('this replica cannot reach a controller')),
    eligibleToJoin: () => true,
    followerReady: () => undefined,
  },
};

export class Partition {
  /** The latest partition record applied, of the leader epoch below. */
  private record: PartitionRecord | null = null;

  /** Bumped by the controller at every leader change; never moves backwards here. */
  private epoch = -1;

  /** Set while this replica leads `epoch`; null as follower (and while becoming leader). */
  private leading: LeaderState<AckWaiter> | null = null;

  /** The follower side; kept while leading only for the high watermark it learned. */
  private following: FollowerState;

  private readonly producers = new ProducerGate();

  /** The one request out to the leader; an answer to any other is stale and dropped. */
  private followerCall: FollowerCall | null = null;
  private nextCallId = 1;
  /** Follower steps queued or running, one at a time. */
  private followerOps = 0;
  private followerQueue: Promise<void> = Promise.resolve();

  /** One high watermark checkpoint is written at a time, every few seconds at most. */
  private hwCheckpointing = false;
  private hwCheckpointedAtMs = Number.NEGATIVE_INFINITY;

  /** One ISR change is sent at a time; `isrSentAtMs` paces sending it again. */
  private isrSending = false;
  private isrSentAtMs = Number.NEGATIVE_INFINITY;

  private readonly listeners = new Set<() => void>();
  /** The log end offset listeners last heard of. */
  private notifiedEnd = -1n;
  private closed = false;

  private constructor(
    readonly id: PartitionIdentity,
    private readonly nodeId: number,
    private readonly log: PartitionLog,
    private settings: PartitionSettings,
    private readonly logger: Logger,
    private readonly replication: ReplicationOptions,
  ) {
    // The checkpoint may lag the high watermark by a few seconds: lower is always safe, and a
    // replica elected right after a restart serves what was committed up to it at once.
    this.following = new FollowerState(log.highWatermarkCheckpoint);
    log.onProgress(() => this.onLogProgress());
  }

  /** A replica over an open log, with an empty producer table (tests; see `open`). */
  static create(
    id: PartitionIdentity,
    nodeId: number,
    log: PartitionLog,
    settings: PartitionSettings,
    logger: Logger,
    replication: ReplicationOptions = NO_REPLICATION,
  ): Partition {
    const bound = logger.child({ topic: id.topic, partition: id.partition });
    return new Partition(id, nodeId, log, settings, bound, replication);
  }

  /**
   * A replica over an open log, its producer table rebuilt from the batch headers. Known
   * shortcoming: this reads every batch header from the log start (there are no snapshots of the
   * table), so opening a large log takes a while.
   */
  static async open(
    id: PartitionIdentity,
    nodeId: number,
    log: PartitionLog,
    settings: PartitionSettings,
    logger: Logger,
    replication: ReplicationOptions,
  ): Promise<Partition> {
    const partition = Partition.create(id, nodeId, log, settings, logger, replication);
    try {
      for await (const batch of producerBatchesOf(log)) partition.producers.onLogged(batch);
    } catch (err) {
      await log.close();
      throw err;
    }
    return partition;
  }

  get role(): ReplicaRole {
    return this.leading !== null ? 'leader' : 'follower';
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  get leader(): number {
    return this.record?.leader ?? -1;
  }

  get highWatermark(): bigint {
    // Retention may move the log start offset past a lagging high watermark.
    const hw = this.leading?.highWatermark ?? this.following.highWatermark;
    const start = this.log.logStartOffset;
    return hw > start ? hw : start;
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }

  /** The end of what is on disk here: what this replica reports as its position. */
  get durableEndOffset(): bigint {
    return durableEndOf(this.log, this.log.config.fsync !== false);
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** The ISR as this leader knows it (committed by the controller); null when not leading. */
  get leaderIsr(): readonly number[] | null {
    return this.leading?.isr ?? null;
  }

  /** The leader followed, while following one; -1 otherwise. */
  get followedLeader(): number {
    if (this.leading !== null || this.following.leaderEpoch !== this.epoch) return -1;
    return this.following.leaderId;
  }

  /**
   * Takes the controller's latest word on this partition; older leader epochs are ignored. A new
   * leader epoch ends the role held (failing waiting produces); becoming leader waits for a
   * follower step in progress. Resolves once the new role is taken.
   */
  async applyMetadata(record: PartitionRecord, settings: PartitionSettings): Promise<void> {
    this.applySettings(settings);
    if (record.leaderEpoch < this.epoch || this.closed) return;

    this.record = record;
    if (record.leaderEpoch === this.epoch) return this.onSameEpoch(record);

    const wasLeader = this.leading !== null;
    this.resign();
    this.epoch = record.leaderEpoch;
    this.followerCall = null;

    if (record.leader === this.nodeId) {
      if (this.followerOps > 0) await this.serialFollower(async () => this.becomeLeader());
      else this.becomeLeader();
    } else {
      this.following.follow(record.leader, record.leaderEpoch);
    }

    const fields = { replicaRole: this.role, leader: record.leader, leaderEpoch: this.epoch };
    if (wasLeader !== (this.leading !== null)) this.logger.info(fields, 'replica role changed');
    else this.logger.info(fields, 'leader epoch changed');
    this.notify();
    this.replication.port.followerReady(this);
  }

  /**
   * Refuses a request that names a leader epoch other than ours: an older one comes from a
   * client with stale metadata, a newer one means our metadata is behind. -1 skips the check.
   */
  checkLeaderEpoch(currentLeaderEpoch: number): void {
    if (currentLeaderEpoch === -1 || currentLeaderEpoch === this.epoch) return;
    if (currentLeaderEpoch < this.epoch) throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH);
    throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH);
  }

  requireLeader(): void {
    this.leaderState();
  }

  /**
   * Appends a producer's batches. Called synchronously in request order, so two pipelined
   * produces to one partition keep their order; resolves once the batches are durable here
   * (acks 0 and 1) or committed, on every ISR member (acks=all), or fails with the reason.
   * A retry of an idempotent batch already written is answered with its original offsets.
   */
  async appendAsLeader(
    records: Buffer,
    acks: number,
    nowMs: number,
    timeoutMs = DEFAULT_ACK_TIMEOUT_MS,
  ): Promise<AppendResult> {
    const leader = this.leaderState();
    if (acks === -1) leader.checkAcksAllAppend();
    const admission = this.producers.admit(producerBatchOf(records));

    const result =
      admission.kind === 'duplicate'
        ? this.duplicateResult(await admission.offsets)
        : await this.write(records, leader.leaderEpoch, nowMs, admission);

    if (acks === -1) await this.awaitCommitted(leader, result.lastOffset, nowMs + timeoutMs);
    return result;
  }

  /** A consumer's read: only leaders serve it, and only below the high watermark. */
  readForConsumer(
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
  ): Promise<ReadResult> {
    this.leaderState();
    return this.log.read(fetchOffset, maxBytes, this.highWatermark, minOneBatch);
  }

  /**
   * A follower's fetch: its fetch offset is its durable position, which may move the high
   * watermark and the ISR. It reads up to the log end offset (written here, not necessarily
   * durable yet), or is told where it diverges.
   */
  async readForFollower(
    fetch: FollowerFetch,
    maxBytes: number,
    minOneBatch: boolean,
  ): Promise<FollowerRead> {
    const leader = this.leaderState();
    this.syncLeader(leader);

    const outcome = leader.onFollowerFetch(fetch);
    this.handle(outcome);
    if (outcome.divergingEpoch !== null) {
      return { records: Buffer.alloc(0), divergingEpoch: outcome.divergingEpoch };
    }

    const end = this.log.logEndOffset;
    const read = await this.log.read(fetch.fetchOffset, maxBytes, end, minOneBatch);
    return { records: read.records, divergingEpoch: null };
  }

  /** Earliest record with a timestamp >= `timestampMs` below the high watermark, or null. */
  offsetForTimestamp(timestampMs: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    return this.log.offsetForTimestamp(timestampMs, this.highWatermark);
  }

  /** Where `epoch` ended in this log (OffsetForLeaderEpoch), with the epoch actually found. */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    return this.epochHistory().endOffsetFor(epoch, this.log.logEndOffset);
  }

  // ---- the follower side, driven by the replica fetcher

  /** The request to send the leader next, or null: leading, no leader, or one already out. */
  nextFollowerCall(): FollowerCall | null {
    const idle = this.closed || this.leading !== null || this.record?.leader === this.nodeId;
    if (idle || this.followerCall !== null || this.followerOps > 0) return null;
    if (this.following.leaderEpoch !== this.epoch) return null;

    const request = this.following.nextRequest(this.localLog());
    if (request.kind === 'none') return null;

    const call = { id: this.nextCallId++, askedInEpoch: request.currentLeaderEpoch, request };
    this.followerCall = call;
    return call;
  }

  /**
   * The leader answered `call`, or null when the request failed. Truncates or appends as the
   * answer says; resolves once done, so the next fetch reports the new durable position.
   */
  answerFollowerCall(call: FollowerCall, answer: FollowerAnswer | null): Promise<void> {
    return this.serialFollower(async () => {
      try {
        if (this.followerCall?.id !== call.id || answer === null) return;
        if (answer.kind === 'epoch') await this.onEpochAnswer(call, answer);
        else await this.onFetchAnswer(call, answer);
      } finally {
        if (this.followerCall?.id === call.id) this.followerCall = null;
      }
    });
  }

  // ---- timers and lifecycle

  /**
   * Periodic work: checkpoint a moved high watermark (every role); as leader, expire acks=all
   * waits, shrink the ISR, resend a lost ISR change.
   */
  tick(nowMs: number): void {
    this.maybeCheckpointHighWatermark(nowMs);

    const leader = this.leading;
    if (leader === null) return;

    for (const { waiter, error } of leader.expireAcks(nowMs)) waiter.reject(error);

    if (leader.maybeShrinkIsr(nowMs) !== null) this.sendIsrChange(leader, nowMs);
    else if (nowMs - this.isrSentAtMs >= this.replication.isrResendMs) {
      this.sendIsrChange(leader, nowMs);
    }
  }

  /** Writes the high watermark checkpoint now (capped by the log at what is durable). */
  checkpointHighWatermark(): Promise<void> {
    return this.log.saveHighWatermark(this.highWatermark);
  }

  /** Calls `listener` whenever the high watermark or the log end offset may have moved. */
  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Deletes expired segments (only below the high watermark) and forgets idle producers. */
  async applyRetention(nowMs: number): Promise<void> {
    await this.log.applyRetention(nowMs, this.highWatermark);
    this.producers.removeExpired(nowMs, PRODUCER_ID_EXPIRATION_MS);

    const leader = this.leading;
    const start = this.log.logStartOffset;
    if (leader !== null && start <= leader.highWatermark) leader.onLogStartOffset(start);
  }

  /** Stops replicating, makes the log durable, checkpoints the high watermark and closes. */
  async close(): Promise<void> {
    const first = !this.closed;
    this.stopReplicating();
    await this.followerQueue;

    if (first) {
      try {
        await this.log.flush();
        await this.checkpointHighWatermark();
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'high watermark not checkpointed at close');
      }
    }
    await this.log.close();
  }

  async delete(): Promise<void> {
    this.stopReplicating();
    await this.followerQueue;
    await this.log.delete();
  }

  // ---- leading

  private leaderState(): LeaderState<AckWaiter> {
    if (this.leading === null) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `node ${this.nodeId} is not leader`);
    }
    return this.leading;
  }

  private becomeLeader(): void {
    const record = this.record;
    const current = record !== null && record.leaderEpoch === this.epoch;
    if (!current || record.leader !== this.nodeId || this.leading !== null || this.closed) return;

    const logEndOffset = this.log.logEndOffset;
    this.leading = new LeaderState<AckWaiter>({
      nodeId: this.nodeId,
      leaderEpoch: record.leaderEpoch,
      partitionEpoch: record.partitionEpoch,
      replicas: record.replicas,
      isr: record.isr,
      minInsyncReplicas: this.settings.minInsyncReplicas,
      replicaLagTimeMaxMs: this.replication.replicaLagTimeMaxMs,
      logStartOffset: this.log.logStartOffset,
      logEndOffset,
      flushedOffset: this.durableEndOffset,
      highWatermark: this.following.highWatermark,
      epochs: epochHistoryOf(this.log, { epoch: record.leaderEpoch, startOffset: logEndOffset }),
      nowMs: Date.now(),
      eligibleToJoin: (id) => this.replication.port.eligibleToJoin(id),
      logger: this.logger,
    });
    this.isrSentAtMs = Number.NEGATIVE_INFINITY;

    // A leader alone in its ISR commits what it holds at once; others wait for fetches.
    this.handle(this.leading.onLocalFlush(this.leading.flushedOffset));
  }

  /** Leadership ends: every waiting produce fails; the high watermark carries over. */
  private resign(): void {
    const leader = this.leading;
    if (leader === null) return;

    this.leading = null;
    for (const { waiter, error } of leader.resign()) waiter.reject(error);
    this.following = new FollowerState(leader.highWatermark);
  }

  /** Same leader epoch, newer partition epoch: the controller changed the ISR. */
  private onSameEpoch(record: PartitionRecord): void {
    const leader = this.leading;
    if (leader === null || record.partitionEpoch <= leader.partitionEpoch) return;
    this.handle(leader.onIsrCommitted(record.isr, record.partitionEpoch));
  }

  private applySettings(settings: PartitionSettings): void {
    const changed = settings.minInsyncReplicas !== this.settings.minInsyncReplicas;
    this.settings = settings;
    if (changed && this.leading !== null) {
      this.handle(this.leading.setMinInsyncReplicas(settings.minInsyncReplicas));
    }
  }

  private async write(
    records: Buffer,
    leaderEpoch: number,
    nowMs: number,
    admission: Exclude<Admission, { kind: 'duplicate' }>,
  ): Promise<AppendResult> {
    let result: AppendResult;
    try {
      result = await this.log.appendAsLeader(records, leaderEpoch, nowMs);
    } catch (err) {
      if (admission.kind === 'append') this.producers.failed(admission.ticket, err as Error);
      throw err;
    }

    if (admission.kind === 'append') {
      const { baseOffset, maxTimestamp } = result;
      this.producers.written(admission.ticket, {
        ...admission.ticket.batch,
        baseOffset,
        maxTimestamp,
      });
    }
    // Waiting fetches were woken when the batch was written, and the leader state learned that
    // it is durable before this resolved (`onLogProgress`).
    return result;
  }

  /**
   * The log wrote or flushed. A write wakes waiting fetches at once, so followers copy the batch
   * while this leader is still fsyncing it; a flush may move the high watermark, which counts
   * only durable positions (this leader's flushed end among them) and wakes them again.
   */
  private onLogProgress(): void {
    const highWatermark = this.highWatermark;
    if (this.leading !== null) this.syncLeader(this.leading, false);

    // One wake-up, whether the log end, the high watermark or both moved.
    const end = this.log.logEndOffset;
    const moved = end !== this.notifiedEnd || this.highWatermark !== highWatermark;
    this.notifiedEnd = end;
    if (moved) this.notify();
  }

  private duplicateResult(offsets: BatchOffsets): AppendResult {
    return {
      baseOffset: offsets.baseOffset,
      lastOffset: offsets.lastOffset,
      logAppendTimeMs: -1n,
      maxTimestamp: -1n,
      logStartOffset: this.log.logStartOffset,
      recordCount: Number(offsets.lastOffset - offsets.baseOffset + 1n),
    };
  }

  /** Resolves once `lastOffset` is below the high watermark of the leader epoch that wrote it. */
  private awaitCommitted(
    leader: LeaderState<AckWaiter>,
    lastOffset: bigint,
    deadlineMs: number,
  ): Promise<void> {
    if (this.leading !== leader) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
    }
    this.syncLeader(leader);

    return new Promise((resolve, reject) => {
      if (leader.awaitAck(lastOffset, deadlineMs, { resolve, reject })) resolve();
    });
  }

  /** Tells the leader state how far the log is written and durable. */
  private syncLeader(leader: LeaderState<AckWaiter>, notify = true): void {
    const end = this.log.logEndOffset;
    if (end > leader.logEndOffset) leader.onLocalAppend(end);

    const durable = this.durableEndOffset;
    if (durable > leader.flushedOffset && durable <= leader.logEndOffset) {
      this.handle(leader.onLocalFlush(durable), notify);
    }
  }

  private handle(update: LeaderUpdate<AckWaiter>, notify = true): void {
    for (const waiter of update.acked) waiter.resolve();
    for (const { waiter, error } of update.failed) waiter.reject(error);
    if (update.isrChange !== null && this.leading !== null) {
      this.sendIsrChange(this.leading, Date.now());
    }
    if (update.highWatermarkChanged && notify) this.notify();
  }

  /** Sends the change in flight, if any and if no copy is out; the answer settles it. */
  private sendIsrChange(leader: LeaderState<AckWaiter>, nowMs: number): void {
    const request = leader.pendingIsrChange;
    if (request === null || this.isrSending) return;

    this.isrSending = true;
    this.isrSentAtMs = nowMs;
    this.replication.port.changeIsr(this.id, request).then(
      (outcome) => {
        this.isrSending = false;
        this.onIsrOutcome(leader, request, outcome);
      },
      (err: unknown) => {
        this.isrSending = false;
        this.logger.warn({ err: String(err), isr: request.isr }, 'isr change not answered');
      },
    );
  }

  /**
   * Only an INELIGIBLE_REPLICA refusal drops the proposal; after any other the change stays in
   * flight until the metadata shows a newer partition epoch (or the resend timer tries again).
   * Known gap: a copy that went unanswered (timed out) but is applied later, after a newer copy
   * was refused as ineligible, would hand the controller an ISR this leader stopped counting.
   */
  private onIsrOutcome(
    leader: LeaderState<AckWaiter>,
    request: IsrChangeRequest,
    outcome: IsrChangeOutcome,
  ): void {
    if (this.leading !== leader) return;

    if (outcome.kind === 'committed') {
      if (outcome.leaderEpoch !== leader.leaderEpoch) return;
      this.handle(leader.onIsrCommitted(outcome.isr, outcome.partitionEpoch));
      return;
    }
    this.logger.info({ isr: request.isr, code: outcome.errorCode }, 'isr change refused');
    if (outcome.errorCode === INELIGIBLE_REPLICA)
      this.handle(leader.onIsrChangeNotApplied(request));
  }

  private epochHistory(): EpochHistory {
    const leader = this.leading;
    if (leader === null) return epochHistoryOf(this.log);
    return epochHistoryOf(this.log, {
      epoch: leader.leaderEpoch,
      startOffset: leader.leaderEpochStartOffset,
    });
  }

  // ---- following

  private localLog(): LocalLog {
    return {
      epochs: epochHistoryOf(this.log),
      logEndOffset: this.log.logEndOffset,
      flushedOffset: this.durableEndOffset,
    };
  }

  private async onEpochAnswer(
    call: FollowerCall,
    answer: Extract<FollowerAnswer, { kind: 'epoch' }>,
  ): Promise<void> {
    if (answer.errorCode !== ErrorCode.NONE) return;

    const found = { leaderEpoch: answer.leaderEpoch, endOffset: answer.endOffset };
    const decision = this.following.onEpochEndOffset(call.askedInEpoch, found, this.localLog());
    if (decision !== null) await this.truncateTo(decision.truncateTo);
  }

  private async onFetchAnswer(
    call: FollowerCall,
    answer: Extract<FollowerAnswer, { kind: 'fetch' }>,
  ): Promise<void> {
    if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) return this.onOutOfRange(call, answer);
    if (answer.errorCode !== ErrorCode.NONE) return;

    if (answer.divergingEpoch !== null) {
      const decision = this.following.onEpochEndOffset(
        call.askedInEpoch,
        answer.divergingEpoch,
        this.localLog(),
      );
      if (decision !== null) await this.truncateTo(decision.truncateTo);
      return;
    }

    if (answer.records !== null && !(await this.appendFromLeader(answer.records))) return;
    this.following.onFetchResponse(call.askedInEpoch, answer.highWatermark, this.log.logEndOffset);
    await this.followLogStart(answer.logStartOffset);
  }

  /**
   * Retention or DeleteRecords moved the leader's log start: the records below it go here too.
   * The leader's log start is at most its high watermark and this log reaches the fetch offset,
   * so the cut only removes records both replicas hold and consumers can no longer ask for.
   */
  private async followLogStart(leaderLogStartOffset: bigint): Promise<void> {
    const end = this.log.logEndOffset;
    const target = leaderLogStartOffset < end ? leaderLogStartOffset : end;
    if (target <= this.log.logStartOffset) return;

    await this.log.deleteRecordsBefore(target);
    this.logger.debug({ logStartOffset: target }, 'log start follows the leader');
  }

  /**
   * Appends what the leader sent, skipping batches already held (fetched again because they were
   * not yet durable here). Returns false when the batches do not line up with this log: the
   * follower then looks for the divergence again.
   */
  private async appendFromLeader(records: Buffer): Promise<boolean> {
    const whole = completeBatches(records);
    const end = this.log.logEndOffset;
    let skip = 0;
    for (const batch of batches(whole)) {
      if (batch.nextOffset > end) break;
      skip = batch.end;
    }

    const fresh = whole.subarray(skip);
    if (fresh.length === 0) return true;
    if (new BatchView(fresh, 0).baseOffset !== end) {
      this.logger.warn({ logEndOffset: end }, 'fetched batches do not start at the log end');
      this.refollow();
      return false;
    }

    await this.log.appendAsFollower(fresh);
    for (const batch of batches(fresh)) {
      if (batch.producerId === NO_PRODUCER_ID) continue;
      this.producers.onLogged({ ...producerFields(batch), baseOffset: batch.baseOffset });
    }
    return true;
  }

  /** Below the leader's log start: start over there. Past its end: find the divergence again. */
  private async onOutOfRange(
    call: FollowerCall,
    answer: Extract<FollowerAnswer, { kind: 'fetch' }>,
  ): Promise<void> {
    const fetchOffset = call.request.kind === 'fetch' ? call.request.fetchOffset : -1n;
    if (answer.logStartOffset > fetchOffset) {
      this.logger.info({ logStartOffset: answer.logStartOffset }, 'behind the leader log start');
      await this.log.truncateFullyAndStartAt(answer.logStartOffset);
      this.producers.clear();
      return;
    }
    this.refollow();
  }

  /** Follows the same leader epoch again from the truncation step. */
  private refollow(): void {
    this.following = new FollowerState(this.following.highWatermark);
    if (this.record !== null) this.following.follow(this.record.leader, this.epoch);
  }

  private async truncateTo(offset: bigint): Promise<void> {
    const startBefore = this.log.logStartOffset;
    const endBefore = this.log.logEndOffset;
    const end = await this.log.truncateTo(offset);

    // At or below the old log start the log restarted empty; otherwise `end` is a batch boundary.
    if (end <= startBefore) this.producers.clear();
    else this.producers.truncateTo(end);
    if (end < endBefore) this.logger.info({ offset, logEndOffset: end }, 'follower truncated');
  }

  private serialFollower(step: () => Promise<void>): Promise<void> {
    this.followerOps++;
    const run = this.followerQueue.then(step).finally(() => {
      this.followerOps--;
      if (this.followerOps === 0 && !this.closed) this.replication.port.followerReady(this);
    });
    this.followerQueue = run.catch(() => undefined);
    return run;
  }

  private maybeCheckpointHighWatermark(nowMs: number): void {
    if (this.closed || this.hwCheckpointing) return;
    if (nowMs - this.hwCheckpointedAtMs < HW_CHECKPOINT_INTERVAL_MS) return;
    if (this.highWatermark === this.log.highWatermarkCheckpoint) return;

    this.hwCheckpointing = true;
    this.hwCheckpointedAtMs = nowMs;
    this.checkpointHighWatermark()
      .catch((err: unknown) => {
        this.logger.warn({ err: String(err) }, 'high watermark checkpoint failed');
      })
      .finally(() => {
        this.hwCheckpointing = false;
      });
  }

  private stopReplicating(): void {
    this.closed = true;
    this.resign();
    this.followerCall = null;
    this.listeners.clear();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * The producer fields of a produced record set. Since Produce v3 a partition carries one batch;
 * an idempotent batch must come alone, so its sequence check covers everything written.
 */
function producerBatchOf(records: Buffer): ProducerBatch {
  const found = [...batches(records)];
  const first = found[0];
  if (first === undefined || first.producerId === NO_PRODUCER_ID) {
    return { producerId: NO_PRODUCER_ID, producerEpoch: -1, baseSequence: -1, lastOffsetDelta: 0 };
  }
  if (found.length > 1) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, 'an idempotent produce carries one batch');
  }
  return producerFields(first);
}

function producerFields(batch: BatchView) {
  return {
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    lastOffsetDelta: batch.lastOffsetDelta,
    maxTimestamp: batch.maxTimestamp,
  };
}
