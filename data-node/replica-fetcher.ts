// The follower side of replication as I/O: for every data node that leads a partition this node
// follows, one connection and one loop that asks the Partitions what to send (nextFollowerCall),
// batches their requests into one OffsetForLeaderEpoch (partitions that must first find where
// their log diverges) and one Fetch (the others), and hands each partition its answer. Followers
// use Kafka's own Fetch (v12: replica id, current leader epoch, last fetched epoch, and a diverging
// epoch in the answer), so one read path serves consumers and replicas.
//
// A partition's answer is acted on (appended and fsynced, or truncated) before the next request
// of that loop, so every fetch offset sent is a durable position. Loops start and stop as the
// metadata moves partitions between leaders; a failed connection is retried after a short backoff,
// with the leader's address read afresh from the metadata.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterSnapshot, DataNodeRecord } from '../shared/cluster-metadata.ts';
import { ErrorCode } from '../shared/kafka-errors.ts';
import type { Logger } from '../shared/logger.ts';
import { ApiKey, type FetchResponsePartition } from '../shared/protocol/index.ts';
import { BrokerConnection } from './broker-connection.ts';
import type { FollowerAnswer, FollowerCall, Partition } from './partition.ts';

/** One partition of a leader's answer, before it is matched to the call that asked. */
interface AnsweredPartition {
  topic: string;
  partition: number;
  errorCode: number;
  answer: () => FollowerAnswer;
}

export interface ReplicaFetcherOptions {
  nodeId: number;
  /** The partitions held here. */
  partitions: () => Iterable<Partition>;
  metadata: () => ClusterSnapshot;
  /** How long a follower's fetch may wait at the leader for new records. */
  fetchWaitMaxMs: number;
  /** Per partition, per fetch. */
  fetchMaxBytes: number;
  /** A leader that does not answer within fetchWaitMaxMs plus this is taken as gone. */
  requestTimeoutMs: number;
  /** Pause after a failed request or an error answer before asking that leader again. */
  retryBackoffMs: number;
  logger: Logger;
}

/** Fetch v12: the first version with lastFetchedEpoch and diverging epochs, named topics. */
const FETCH_VERSION = 12;
/** OffsetForLeaderEpoch v3: the first version naming the replica asking. */
const EPOCH_VERSION = 3;
const RESPONSE_MAX_BYTES = 32 * 1024 * 1024;
/** How often an idle loop looks for work it was not woken for. */
const IDLE_RECHECK_MS = 1000;

interface Pending {
  partition: Partition;
  call: FollowerCall;
}

export class ReplicaFetchers {
  private readonly loops = new Map<number, LeaderFetcher>();
  private scheduled = false;
  private stopped = false;

  constructor(private readonly options: ReplicaFetcherOptions) {}

  /**
   * Brings the loops in line with whom the partitions follow and wakes them; cheap to call
   * often (after metadata changes, after each follower step): calls are coalesced.
   */
  update(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((loop) => loop.stop()));
  }

  private reconcile(): void {
    if (this.stopped) return;
    const leaders = new Set<number>();
    for (const partition of this.options.partitions()) {
      const leader = partition.followedLeader;
      if (leader >= 0 && leader !== this.options.nodeId) leaders.add(leader);
    }

    for (const [leaderId, loop] of this.loops) {
      if (leaders.has(leaderId)) continue;
      this.loops.delete(leaderId);
      void loop.stop();
    }
    for (const leaderId of leaders) {
      let loop = this.loops.get(leaderId);
      if (loop === undefined) {
        loop = new LeaderFetcher(leaderId, this.options);
        this.loops.set(leaderId, loop);
      }
      loop.wake();
    }
  }
}

/** One leader's loop: one connection, one request at a time. */
class LeaderFetcher {
  private connection: BrokerConnection | null = null;
  private incarnationId: string | null = null;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private readonly stopping = new AbortController();
  private readonly done: Promise<void>;
  private readonly logger: Logger;
  /** Consecutive failures, so that a leader that stays down is logged once. */
  private failures = 0;

  constructor(
    readonly leaderId: number,
    private readonly options: ReplicaFetcherOptions,
  ) {
    this.logger = options.logger.child({ leaderId });
    this.done = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wake();
    this.connection?.close();
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.woken = false;
      const pending = this.collect();
      if (pending.length === 0) {
        await this.idle();
        continue;
      }

      const healthy = await this.exchange(pending);
      if (healthy) continue;
      await sleep(this.options.retryBackoffMs, undefined, this.abortable()).catch(() => undefined);
    }
  }

  /** The calls of every partition following this leader that has one to make. */
  private collect(): Pending[] {
    const pending: Pending[] = [];
    for (const partition of this.options.partitions()) {
      if (partition.followedLeader !== this.leaderId) continue;
      const call = partition.nextFollowerCall();
      if (call !== null) pending.push({ partition, call });
    }
    return pending;
  }

  /** Sends the calls, hands out the answers; false when the round should be followed by a pause. */
  private async exchange(pending: Pending[]): Promise<boolean> {
    const answered = new Set<Pending>();
    let healthy: boolean;
    try {
      const connection = await this.connect();
      const epochs = pending.filter((p) => p.call.request.kind === 'epoch-end-offset');
      const fetches = pending.filter((p) => p.call.request.kind === 'fetch');

      const epochsHealthy = await this.askEpochs(connection, epochs, answered);
      const fetchesHealthy = await this.fetch(connection, fetches, answered);
      healthy = epochsHealthy && fetchesHealthy;
      this.failures = 0;
    } catch (err) {
      this.dropConnection(err);
      healthy = false;
    }

    const unanswered = pending.filter((p) => !answered.has(p));
    await Promise.all(unanswered.map((p) => this.answer(p, null)));
    return healthy;
  }

  private async askEpochs(
    connection: BrokerConnection,
    pending: Pending[],
    answered: Set<Pending>,
  ): Promise<boolean> {
    if (pending.length === 0) return true;

    const topics = groupByTopic(pending, (p) => {
      const request = p.call.request as Extract<
        FollowerCall['request'],
        { kind: 'epoch-end-offset' }
      >;
      return {
        partition: p.partition.id.partition,
        currentLeaderEpoch: request.currentLeaderEpoch,
        leaderEpoch: request.leaderEpoch,
      };
    });
    const body = { replicaId: this.options.nodeId, topics };
    const timeoutMs = this.options.requestTimeoutMs;
    const response = await connection.send(
      ApiKey.OffsetForLeaderEpoch,
      EPOCH_VERSION,
      body,
      timeoutMs,
    );

    const parts = response.topics.flatMap((topic) =>
      topic.partitions.map((part) => ({
        topic: topic.topic,
        partition: part.partition,
        errorCode: part.errorCode,
        answer: (): FollowerAnswer => ({
          kind: 'epoch',
          errorCode: part.errorCode,
          leaderEpoch: part.leaderEpoch,
          endOffset: part.endOffset,
        }),
      })),
    );
    return this.deliver(pending, answered, parts);
  }

  private async fetch(
    connection: BrokerConnection,
    pending: Pending[],
    answered: Set<Pending>,
  ): Promise<boolean> {
    if (pending.length === 0) return true;

    const topics = groupByTopic(pending, (p) => {
      const request = p.call.request as Extract<FollowerCall['request'], { kind: 'fetch' }>;
      return {
        partition: p.partition.id.partition,
        currentLeaderEpoch: request.currentLeaderEpoch,
        fetchOffset: request.fetchOffset,
        lastFetchedEpoch: request.lastFetchedEpoch,
        logStartOffset: p.partition.logStartOffset,
        partitionMaxBytes: this.options.fetchMaxBytes,
      };
    });
    const body = {
      replicaId: this.options.nodeId,
      maxWaitMs: this.options.fetchWaitMaxMs,
      minBytes: 1,
      maxBytes: RESPONSE_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics,
      forgottenTopicsData: [],
      rackId: '',
    };
    const timeoutMs = this.options.fetchWaitMaxMs + this.options.requestTimeoutMs;
    const response = await connection.send(ApiKey.Fetch, FETCH_VERSION, body, timeoutMs);
    if (response.errorCode !== ErrorCode.NONE) return false;

    const parts = response.responses.flatMap((topic) =>
      topic.partitions.map((part) => ({
        topic: topic.topic,
        partition: part.partitionIndex,
        errorCode: part.errorCode,
        answer: () => fetchAnswer(part),
      })),
    );
    return this.deliver(pending, answered, parts);
  }

  /**
   * Hands each partition of an answer to the pending call it belongs to, once; resolves when all
   * have acted on it, true when none reported an error.
   */
  private async deliver(
    pending: Pending[],
    answered: Set<Pending>,
    parts: AnsweredPartition[],
  ): Promise<boolean> {
    let healthy = true;
    const steps: Promise<void>[] = [];
    for (const part of parts) {
      const found = findPending(pending, part.topic, part.partition);
      if (found === undefined || answered.has(found)) continue;
      answered.add(found);
      healthy &&= part.errorCode === ErrorCode.NONE;
      steps.push(this.answer(found, part.answer()));
    }
    await Promise.all(steps);
    return healthy;
  }

  private async answer(pending: Pending, answer: FollowerAnswer | null): Promise<void> {
    try {
      await pending.partition.answerFollowerCall(pending.call, answer);
    } catch (err) {
      const { topic, partition } = pending.partition.id;
      this.logger.error({ err, topic, partition }, 'follower step failed');
    }
  }

  /** The open connection, or a new one to the leader's address in the current metadata. */
  private async connect(): Promise<BrokerConnection> {
    const node = this.leaderNode();
    const changed = node !== undefined && node.incarnationId !== this.incarnationId;
    if (this.connection !== null && !this.connection.closed && !changed) return this.connection;

    this.connection?.close();
    this.connection = null;
    if (node === undefined) throw new Error(`leader ${this.leaderId} is not in the metadata`);

    const clientId = `weir-replica-${this.options.nodeId}`;
    const timeoutMs = this.options.requestTimeoutMs;
    this.connection = await BrokerConnection.open(node.host, node.kafkaPort, clientId, timeoutMs);
    this.incarnationId = node.incarnationId;
    this.logger.debug({ host: node.host, port: node.kafkaPort }, 'connected to leader');
    return this.connection;
  }

  private leaderNode(): DataNodeRecord | undefined {
    return this.options.metadata().dataNodes.find((n) => n.nodeId === this.leaderId);
  }

  private dropConnection(err: unknown): void {
    this.connection?.close();
    this.connection = null;
    if (this.stopped) return;

    this.failures++;
    const fields = { err: String(err), failures: this.failures };
    if (this.failures === 1) this.logger.warn(fields, 'cannot fetch from leader');
    else this.logger.debug(fields, 'cannot fetch from leader');
  }

  /** Waits for a wake-up (new work) or the periodic recheck. */
  private idle(): Promise<void> {
    if (this.woken) return Promise.resolve();

    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(finish, IDLE_RECHECK_MS);
      this.wakeUp = finish;
    });
  }

  private abortable(): { signal: AbortSignal } {
    return { signal: this.stopping.signal };
  }
}

function fetchAnswer(part: FetchResponsePartition): FollowerAnswer {
  const diverging = part.divergingEpoch;
  const diverges = diverging.epoch >= 0 || diverging.endOffset >= 0n;
  return {
    kind: 'fetch',
    errorCode: part.errorCode,
    highWatermark: part.highWatermark,
    logStartOffset: part.logStartOffset,
    divergingEpoch: diverges
      ? { leaderEpoch: diverging.epoch, endOffset: diverging.endOffset }
      : null,
    records: part.records,
  };
}

function groupByTopic<T>(pending: Pending[], entry: (p: Pending) => T) {
  const byTopic = new Map<string, T[]>();
  for (const p of pending) {
    const list = byTopic.get(p.partition.id.topic) ?? [];
    list.push(entry(p));
    byTopic.set(p.partition.id.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

function findPending(pending: Pending[], topic: string, partition: number): Pending | undefined {
  return pending.find(
    (p) => p.partition.id.topic === topic && p.partition.id.partition === partition,
  );
}
