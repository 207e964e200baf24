// One partition replica on this data node: its log, its role (leader or follower) and leader
// epoch as the controller last said, and its high watermark. Handlers go through this class, never
// to the log directly, so the rules that depend on the role live in one place: only the leader
// appends for clients, consumers read below the high watermark, stale leader epochs are refused.
//
// Replication is not here yet. The leader records how far each follower has fetched (the follower
// fetch path already exists) so that ISR tracking can be added, but the high watermark is for now
// the leader's durable log end offset: with a replication factor above one, a record acknowledged
// with acks=all is not yet on any follower, and a follower promoted by the controller does not have
// the leader's records.
import { invariant } from '../shared/assert.ts';
import type { PartitionRecord } from '../shared/cluster-metadata.ts';
import { ErrorCode, KafkaError } from '../shared/kafka-errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { AppendResult, PartitionLog, ReadResult } from './log/partition-log.ts';

export type ReplicaRole = 'leader' | 'follower';

/** Topic settings that change how a replica answers, read from the effective topic config. */
export interface PartitionSettings {
  minInsyncReplicas: number;
}

/** What the leader knows of one follower, from its fetches. */
export interface FollowerProgress {
  /** The follower's log end offset: the offset of its last fetch. */
  logEndOffset: bigint;
  lastFetchMs: number;
}

export interface PartitionIdentity {
  topic: string;
  topicId: string;
  partition: number;
}

export class Partition {
  /** Leader node id from the last applied metadata; -1 when no replica can lead. */
  private leaderId = -1;

  /** Bumped by the controller at every leader change; never moves backwards here. */
  private epoch = -1;

  private isr: readonly number[] = [];

  /**
   * Consumers read below it; it only moves forwards while this replica leads.
   * Invariant: logStartOffset <= highWatermark <= logEndOffset.
   */
  private hwm: bigint;

  private readonly followers = new Map<number, FollowerProgress>();
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly id: PartitionIdentity,
    private readonly nodeId: number,
    private readonly log: PartitionLog,
    private settings: PartitionSettings,
    private readonly logger: Logger,
  ) {
    this.hwm = log.logStartOffset;
  }

  static create(
    id: PartitionIdentity,
    nodeId: number,
    log: PartitionLog,
    settings: PartitionSettings,
    logger: Logger,
  ): Partition {
    const bound = logger.child({ topic: id.topic, partition: id.partition });
    return new Partition(id, nodeId, log, settings, bound);
  }

  get role(): ReplicaRole {
    return this.leaderId === this.nodeId ? 'leader' : 'follower';
  }

  get leaderEpoch(): number {
    return this.epoch;
  }

  get leader(): number {
    return this.leaderId;
  }

  get highWatermark(): bigint {
    // Retention or deleted records may move the log start offset past a lagging high watermark.
    const start = this.log.logStartOffset;
    return this.hwm > start ? this.hwm : start;
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }

  get sizeBytes(): number {
    return this.log.sizeBytes;
  }

  /** Takes the controller's latest word on this partition; older leader epochs are ignored. */
  applyMetadata(record: PartitionRecord, settings: PartitionSettings): void {
    this.settings = settings;
    if (record.leaderEpoch < this.epoch) return;

    const wasRole = this.role;
    const changed = record.leaderEpoch !== this.epoch || record.leader !== this.leaderId;
    this.leaderId = record.leader;
    this.epoch = record.leaderEpoch;
    this.isr = record.isr;

    if (!changed) return;
    if (this.role === 'leader') this.becomeLeader();
    else this.followers.clear();

    const fields = { role: this.role, leader: this.leaderId, leaderEpoch: this.epoch };
    if (this.role !== wasRole) this.logger.info(fields, 'replica role changed');
    else this.logger.info(fields, 'leader epoch changed');
    this.notify();
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
    if (this.role !== 'leader') {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `node ${this.nodeId} is not leader`);
    }
  }

  /**
   * Appends a producer's batches. Called synchronously in request order, so two pipelined
   * produces to one partition keep their order; resolves once the batches are durable.
   */
  async appendAsLeader(records: Buffer, acks: number, nowMs: number): Promise<AppendResult> {
    this.requireLeader();
    if (acks === -1 && this.isr.length < this.settings.minInsyncReplicas) {
      const detail = `isr ${this.isr.length} below min.insync.replicas ${this.settings.minInsyncReplicas}`;
      throw new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, detail);
    }

    const result = await this.log.appendAsLeader(records, this.epoch, nowMs);

    this.advanceHighWatermark(result.lastOffset + 1n);
    return result;
  }

  /** A consumer's read: only leaders serve it, and only below the high watermark. */
  readForConsumer(
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
  ): Promise<ReadResult> {
    this.requireLeader();
    return this.log.read(fetchOffset, maxBytes, this.highWatermark, minOneBatch);
  }

  /** A follower's read: up to the log end offset; its fetch offset tells how far it has come. */
  readForFollower(
    replicaId: number,
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    nowMs: number,
  ): Promise<ReadResult> {
    this.requireLeader();
    this.followers.set(replicaId, { logEndOffset: fetchOffset, lastFetchMs: nowMs });
    return this.log.read(fetchOffset, maxBytes, this.log.logEndOffset, minOneBatch);
  }

  /** How far each follower has fetched, for ISR tracking. */
  followerProgress(): ReadonlyMap<number, FollowerProgress> {
    return this.followers;
  }

  /** Earliest record with a timestamp >= `timestampMs` below the high watermark, or null. */
  offsetForTimestamp(timestampMs: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    return this.log.offsetForTimestamp(timestampMs, this.highWatermark);
  }

  /** Where `epoch` ended in this log (OffsetForLeaderEpoch), with the epoch actually found. */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: bigint } {
    return this.log.endOffsetForEpoch(epoch);
  }

  /** Calls `listener` whenever the high watermark or the log end offset may have moved. */
  onProgress(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Deletes expired segments; only records below the high watermark may go. */
  async applyRetention(nowMs: number): Promise<void> {
    await this.log.applyRetention(nowMs, this.highWatermark);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.log.close();
  }

  async delete(): Promise<void> {
    this.listeners.clear();
    await this.log.delete();
  }

  private becomeLeader(): void {
    // With no replication yet, everything in the local log is taken as committed.
    this.followers.clear();
    this.hwm = this.log.logEndOffset;
  }

  private advanceHighWatermark(candidate: bigint): void {
    if (candidate <= this.hwm) return;

    invariant(candidate <= this.log.logEndOffset, 'high watermark beyond log end offset');
    this.hwm = candidate;
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
