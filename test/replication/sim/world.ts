// The deterministic simulation of one partition with three replicas. One seeded generator picks
// every event: message deliveries (any order, some lost), follower requests and timeouts, fsyncs,
// ISR checks, metadata reaching a node, produces of an idempotent acks=all producer that retries
// until acknowledged and of a plain one that never retries, crashes that lose what was not
// flushed, restarts, fencing and registration at the controller, leader moves and network
// isolation. The fake clock moves a little every step; timeouts are measured on it.
// After every step the named invariants (invariants.ts) are checked; a failure carries the seed
// and the last events, and `run.ts --seed N` replays it.
//
// A run ends with a calm phase (no faults, no losses, every node back) that must reach a state
// where every replica is in sync and holds the same log: replication must not get stuck.
import { InvariantError } from '../../../shared/assert.ts';
import { ErrorCode } from '../../../shared/kafka-errors.ts';
import { SimController } from './controller.ts';
import { checkInvariants, checkSettled, type Observed } from './invariants.ts';
import type { ProducedBatch, SimBatch, SimMessage } from './messages.ts';
import { CONTROLLER, type Envelope, Network, PRODUCER } from './network.ts';
import { Prng } from './prng.ts';
import {
  type AckWaiter,
  type SimBug,
  type SimConfig,
  SimReplica,
  type WorldPort,
} from './replica.ts';
import { lastOffsetOf } from './sim-log.ts';

export interface SimOptions {
  seed: number;
  /** Steps with faults; the calm phase comes after. */
  steps: number;
  /** Steps the calm phase may take to settle; by default more for longer logs. */
  settleSteps?: number;
  /** Events kept for the failure report. */
  traceLines?: number;
  /** Print every event as it happens. */
  verbose?: boolean;
  /** Inject a known mistake into the model (the invariants must then fail). */
  bug?: SimBug;
}

export interface SimStats {
  steps: number;
  acked: number;
  leaderChanges: number;
  crashes: number;
  truncatedBatches: number;
  /** Truncations after which the follower had to ask again (multi-round divergence). */
  partialTruncations: number;
  /** ISR proposals dropped on a not-applied answer. */
  isrReverts: number;
  /** Controller answers ignored because a newer copy had been sent. */
  staleIsrAnswers: number;
  /** Follower fetches answered with batches the leader had not yet made durable. */
  unflushedFetches: number;
  /** Crashes that lost batches another replica holds (it fetched them before they were durable). */
  lostTailsHeldElsewhere: number;
  isrChanges: number;
  logEndOffset: bigint;
}

export type CountedStat =
  'partialTruncations' | 'isrReverts' | 'staleIsrAnswers' | 'unflushedFetches';

export class SimFailure extends Error {
  override name = 'SimFailure';

  constructor(
    readonly seed: number,
    readonly step: number,
    readonly reason: string,
    readonly trace: string[],
  ) {
    super(`seed ${seed} failed at step ${step}: ${reason}`);
  }
}

type EventKind =
  | 'deliver'
  | 'follower-send'
  | 'request-timeout'
  | 'flush'
  | 'metadata'
  | 'shrink-check'
  | 'isr-resend'
  | 'isr-timeout'
  | 'expire-acks'
  | 'produce'
  | 'producer-timeout'
  | 'produce-bulk'
  | 'producer-restart'
  | 'crash'
  | 'restart'
  | 'fence'
  | 'register'
  | 'preferred-election'
  | 'leader-move'
  | 'isolate'
  | 'heal'
  | 'tick';

const BASE_WEIGHTS: Record<EventKind, number> = {
  deliver: 40,
  'follower-send': 20,
  'request-timeout': 4,
  flush: 12,
  metadata: 6,
  'shrink-check': 3,
  'isr-resend': 1,
  'isr-timeout': 4,
  'expire-acks': 1,
  produce: 10,
  'producer-timeout': 4,
  'produce-bulk': 4,
  'producer-restart': 0.2,
  crash: 0.6,
  restart: 2,
  fence: 1,
  register: 2,
  'preferred-election': 0.3,
  'leader-move': 0.3,
  isolate: 0.3,
  heal: 1,
  tick: 2,
};

const FAULTS: readonly EventKind[] = [
  'crash',
  'isolate',
  'producer-restart',
  'preferred-election',
  'leader-move',
];

/** The idempotent producer: one batch in flight, retried until acknowledged. */
interface Producer {
  readonly producerId: bigint;
  epoch: number;
  nextSequence: number;
  current: ProducedBatch | null;
  /** Copies sent and not answered; a timeout forgets them (they may still arrive). */
  outstanding: number;
  lastSentMs: number;
}

export class World implements WorldPort, Observed {
  nowMs = 0;
  readonly config: SimConfig;
  readonly prng: Prng;
  readonly controller: SimController;
  readonly network = new Network();
  readonly nodes: SimReplica[];
  readonly isolated = new Set<number>();
  /** acked batches by producer key: where they are and what they hold. */
  readonly acked = new Map<string, { baseOffset: bigint; bytes: string }>();
  readonly highWatermarkByEpoch = new Map<number, { node: number; highWatermark: bigint }>();
  readonly committed = new Map<bigint, string>();
  readonly stats: SimStats;

  readonly #options: SimOptions;
  readonly #weights: Record<EventKind, number>;
  readonly #trace: string[] = [];
  #dropProbability: number;
  #calm = false;
  #step = 0;
  #bulkSent = 0;
  #producer: Producer = {
    producerId: 7n,
    epoch: 0,
    nextSequence: 0,
    current: null,
    outstanding: 0,
    lastSentMs: 0,
  };

  constructor(options: SimOptions) {
    this.#options = options;
    this.prng = new Prng(options.seed);
    this.config = {
      replicas: [1, 2, 3],
      minInsyncReplicas: this.prng.pick([1, 2, 2, 2, 3]),
      replicaLagTimeMaxMs: this.prng.pick([100, 300, 1_000]),
      ackTimeoutMs: this.prng.pick([200, 1_000]),
      requestTimeoutMs: this.prng.pick([50, 200]),
      fetchMaxBatches: this.prng.int(1, 4),
      flushBeforeFetch: this.prng.chance(0.7),
      bug: options.bug ?? null,
    };
    const resumeEpochs = options.bug === 'leader-resumes-epoch';
    this.controller = new SimController(this.config.replicas, this.prng, resumeEpochs);
    this.nodes = this.config.replicas.map((id) => new SimReplica(id));
    this.#dropProbability = this.prng.pick([0, 0.02, 0.1]);
    this.#weights = swarmWeights(this.prng);
    this.stats = {
      steps: 0,
      acked: 0,
      leaderChanges: 0,
      crashes: 0,
      truncatedBatches: 0,
      partialTruncations: 0,
      isrReverts: 0,
      staleIsrAnswers: 0,
      unflushedFetches: 0,
      lostTailsHeldElsewhere: 0,
      isrChanges: 0,
      logEndOffset: 0n,
    };
    this.note(`config ${JSON.stringify({ ...this.config, drop: this.#dropProbability })}`);
  }

  /** Runs the faulty phase, then the calm one; throws SimFailure. */
  run(): SimStats {
    try {
      for (this.#step = 1; this.#step <= this.#options.steps; this.#step++) this.#stepOnce();
      this.#settle();
    } catch (err) {
      if (err instanceof SimFailure) throw err;
      const reason = err instanceof InvariantError ? `invariant: ${err.message}` : String(err);
      throw new SimFailure(this.#options.seed, this.#step, reason, this.#trace);
    }
    this.stats.steps = this.#step;
    this.stats.logEndOffset = this.nodes.reduce(
      (m, n) => (n.log.logEndOffset > m ? n.log.logEndOffset : m),
      0n,
    );
    return this.stats;
  }

  // --- WorldPort ----------------------------------------------------------------------------

  send(from: number, to: number, body: SimMessage): void {
    this.network.send({ from, to, body });
  }

  fail(reason: string): never {
    throw new SimFailure(this.#options.seed, this.#step, reason, this.#trace);
  }

  note(line: string): void {
    const entry = `[${this.#step} t=${this.nowMs}] ${line}`;
    if (this.#options.verbose) console.log(entry);
    this.#trace.push(entry);
    const keep = this.#options.traceLines ?? 60;
    if (this.#trace.length > keep) this.#trace.shift();
  }

  /**
   * A leader answers an acks=all produce: the batch it names must be the producer's, below the
   * high watermark, on disk on at least min.insync.replicas replicas, and at the same offsets as
   * any earlier answer for it.
   */
  onAcked(node: SimReplica, waiter: AckWaiter): void {
    const key = keyOf(waiter);
    const batch = node.log.batchAt(waiter.baseOffset);
    if (batch === undefined || keyOf(batch) !== key || lastOffsetOf(batch) !== waiter.lastOffset) {
      this.fail(`node ${node.id} acknowledged ${key} at ${waiter.baseOffset}: ${batch?.bytes}`);
    }
    if (node.highWatermark <= waiter.lastOffset) {
      this.fail(`node ${node.id} acknowledged ${key} above its HW`);
    }

    const copies = this.nodes.filter((n) => {
      const held = n.log.batchAt(waiter.baseOffset);
      return held?.bytes === batch.bytes && waiter.lastOffset < n.log.flushedOffset;
    });
    if (copies.length < this.config.minInsyncReplicas) {
      this.fail(`${key} acknowledged with ${copies.length} durable copies`);
    }

    const earlier = this.acked.get(key);
    if (earlier !== undefined && earlier.baseOffset !== waiter.baseOffset) {
      this.fail(`${key} acknowledged at ${earlier.baseOffset} and again at ${waiter.baseOffset}`);
    }
    if (earlier === undefined) this.stats.acked++;
    this.acked.set(key, { baseOffset: waiter.baseOffset, bytes: batch.bytes });

    this.note(`node ${node.id} acks ${key} at ${waiter.baseOffset}`);
    this.#answerProducer(node.id, waiter, ErrorCode.NONE);
  }

  onAckFailed(node: SimReplica, waiter: AckWaiter, errorCode: number): void {
    this.#answerProducer(node.id, waiter, errorCode);
  }

  /**
   * The leader of the controller's current epoch holds every acknowledged batch of the producer,
   * so it can never refuse the producer's current batch as out of order or fenced; a stale leader
   * may.
   */
  count(stat: CountedStat): void {
    this.stats[stat]++;
  }

  onProduceRefused(node: SimReplica, batch: ProducedBatch, errorCode: number): void {
    const fatal =
      errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      errorCode === ErrorCode.INVALID_PRODUCER_EPOCH;
    const current = this.#producer.current;
    const isCurrent =
      current !== null &&
      current.producerEpoch === batch.producerEpoch &&
      current.baseSequence === batch.baseSequence;
    const leadsNow = node.leader?.leaderEpoch === this.controller.record.leaderEpoch;
    if (fatal && isCurrent && leadsNow) {
      this.fail(`node ${node.id} refused the producer's current batch with error ${errorCode}`);
    }
  }

  onBecomeLeader(node: SimReplica): void {
    this.stats.leaderChanges++;
    this.note(
      `node ${node.id} leads epoch ${node.knownLeaderEpoch}, log end ${node.log.logEndOffset}`,
    );
    for (const [key, acked] of this.acked) {
      if (node.log.batchAt(acked.baseOffset)?.bytes !== acked.bytes) {
        this.fail(`node ${node.id} leads without acknowledged ${key} at ${acked.baseOffset}`);
      }
    }
    for (const [offset, bytes] of this.committed) {
      if (node.log.batchAt(offset)?.bytes !== bytes) {
        this.fail(`node ${node.id} leads without the batch committed at ${offset}`);
      }
    }
  }

  onTruncated(node: SimReplica, truncateTo: bigint, removed: SimBatch[]): void {
    this.stats.truncatedBatches += removed.length;
    for (const batch of removed) {
      if (this.committed.get(batch.baseOffset) === batch.bytes) {
        this.fail(`node ${node.id} truncated the batch committed at ${batch.baseOffset}`);
      }
      const key = keyOf(batch);
      if (this.acked.get(key)?.bytes === batch.bytes) {
        this.fail(`node ${node.id} truncated acknowledged ${key} (to ${truncateTo})`);
      }
    }
  }

  // --- stepping -----------------------------------------------------------------------------

  #stepOnce(): void {
    this.nowMs += this.prng.int(0, 2);
    const events = this.#enabledEvents();
    const kinds = [...events.keys()];
    const kind = kinds[this.prng.weighted(kinds.map((k) => this.#weightOf(k)))];
    const target = this.prng.pick(events.get(kind)!);

    this.#apply(kind, target);
    checkInvariants(this);
  }

  /**
   * Messages travel side by side: each one in flight is a chance of an arrival, so a busy network
   * delivers faster instead of piling up behind the other events.
   */
  #weightOf(kind: EventKind): number {
    const weight = this.#weights[kind];
    return kind === 'deliver' ? weight * Math.max(1, this.network.size / 4) : weight;
  }

  /** Heals every fault, then steps without faults until the partition is settled. */
  #settle(): void {
    this.#calm = true;
    this.#dropProbability = 0;
    this.isolated.clear();
    for (const node of this.nodes) if (!node.alive) node.restart();
    this.note('calm phase');

    const batches = Math.max(...this.nodes.map((n) => n.log.batches.length));
    const limit = this.#step + (this.#options.settleSteps ?? 3_000 + 60 * batches);
    for (; this.#step <= limit; this.#step++) {
      if (this.#step % 50 === 0 && checkSettled(this) === null) return;
      this.#stepOnce();
    }
    this.fail(`did not settle: ${checkSettled(this)}`);
  }

  #enabledEvents(): Map<EventKind, number[]> {
    const events = new Map<EventKind, number[]>();
    const add = (kind: EventKind, target = 0) => {
      if (this.#weights[kind] <= 0 || (this.#calm && FAULTS.includes(kind))) return;
      events.set(kind, [...(events.get(kind) ?? []), target]);
    };

    add('tick');
    if (this.network.size > 0) add('deliver');
    this.#addProducerEvents(add);
    if (this.controller.record.leader !== this.config.replicas[0]) add('preferred-election');
    if (this.controller.record.leader !== -1) add('leader-move');
    if (this.isolated.size === 0) add('isolate', this.prng.pick(this.config.replicas));
    for (const node of this.nodes) this.#addNodeEvents(node, add);
    return events;
  }

  #addProducerEvents(add: (kind: EventKind, target?: number) => void): void {
    const producer = this.#producer;
    const wantsToSend = producer.current !== null || !this.#calm;
    if (producer.outstanding === 0 && wantsToSend) add('produce');
    if (producer.outstanding > 0 && this.#timedOut(producer.lastSentMs)) add('producer-timeout');
    add('producer-restart');
    if (!this.#calm) add('produce-bulk');
  }

  #addNodeEvents(node: SimReplica, add: (kind: EventKind, target?: number) => void): void {
    const id = node.id;
    const registered = this.controller.registeredIncarnation(id) === node.incarnation;
    const reachable = node.alive && !this.isolated.has(id);
    if (this.isolated.has(id)) add('heal', id);

    if (!node.alive) add('restart', id);
    else if (this.nodes.filter((n) => !n.alive).length < 2) add('crash', id);

    const gone = !reachable || !registered;
    if (this.controller.eligible(id) && gone) add('fence', id);
    if (reachable && (!registered || this.controller.isFenced(id))) add('register', id);
    if (!node.alive) return;

    if (reachable && registered && node.isBehind(this.controller.record)) add('metadata', id);
    if (node.log.flushedCount < node.log.batches.length) add('flush', id);
    const waiting = node.inFlight !== null && this.#timedOut(node.inFlight.sentAtMs);
    if (waiting) add('request-timeout', id);
    if (node.isrOutstanding > 0 && this.#timedOut(node.isrSentAtMs)) add('isr-timeout', id);
    if (node.leader === null && node.inFlight === null && node.follower.phase !== 'idle') {
      add('follower-send', id);
    }
    if (node.leader !== null) {
      add('shrink-check', id);
      const pending = node.leader.pendingIsrChange !== null;
      if (pending && node.isrOutstanding === 0) add('isr-resend', id);
      if (node.leader.pendingAckCount > 0) add('expire-acks', id);
    }
  }

  #timedOut(sentAtMs: number): boolean {
    return this.nowMs - sentAtMs >= this.config.requestTimeoutMs;
  }

  #apply(kind: EventKind, target: number): void {
    const node = this.nodes.find((n) => n.id === target)!;
    switch (kind) {
      case 'deliver':
        return this.#deliver();
      case 'follower-send':
        if (this.config.flushBeforeFetch || this.#calm) node.flush(Infinity, this);
        node.sendNext(this);
        return;
      case 'request-timeout':
        node.inFlight = null;
        return;
      case 'flush':
        node.flush(this.prng.int(1, 3), this);
        return;
      case 'metadata':
        return this.#deliverMetadata(node);
      case 'shrink-check':
        return node.maybeShrinkIsr(this);
      case 'isr-resend':
        return node.resendIsrChange(this);
      case 'isr-timeout':
        node.isrOutstanding = 0;
        return;
      case 'expire-acks':
        return node.expireAcks(this);
      case 'produce':
        return this.#produce();
      case 'producer-timeout':
        this.#producer.outstanding = 0;
        return;
      case 'producer-restart':
        return this.#restartProducer();
      case 'produce-bulk':
        return this.#produceBulk();
      case 'crash':
        this.stats.crashes++;
        if (this.#heldElsewhere(node, node.log.batches.slice(node.log.flushedCount))) {
          this.stats.lostTailsHeldElsewhere++;
        }
        node.crash();
        this.note(`node ${node.id} crashes; durable log end ${node.log.logEndOffset}`);
        return;
      case 'restart':
        node.restart();
        this.note(`node ${node.id} restarts`);
        return;
      case 'fence':
        return this.#controllerChange(`fence ${target}`, () => this.controller.fence(target));
      case 'register':
        return this.#controllerChange(`register ${target}`, () =>
          this.controller.register(target, node.incarnation),
        );
      case 'preferred-election':
        return this.#controllerChange('preferred election', () => this.controller.electPreferred());
      case 'leader-move':
        return this.#controllerChange('leader move', () => this.controller.moveLeader());
      case 'isolate':
        this.isolated.add(target);
        this.note(`node ${target} isolated`);
        return;
      case 'heal':
        this.isolated.delete(target);
        this.note(`node ${target} healed`);
        return;
      case 'tick':
        this.nowMs += this.prng.int(5, 20);
        return;
    }
  }

  /** Whether another replica holds one of `batches` of `node`, byte for byte. */
  #heldElsewhere(node: SimReplica, batches: readonly SimBatch[]): boolean {
    const others = this.nodes.filter((n) => n !== node);
    return batches.some((b) => others.some((n) => n.log.batchAt(b.baseOffset)?.bytes === b.bytes));
  }

  #deliver(): void {
    const envelope = this.network.take(this.prng)!;
    if (this.#lost(envelope)) return;

    if (envelope.to === CONTROLLER) return this.#controllerReceive(envelope);
    if (envelope.to === PRODUCER) return this.#producerReceive(envelope);
    this.nodes.find((n) => n.id === envelope.to)!.receive(envelope, this);
  }

  #lost(envelope: Envelope): boolean {
    if (this.isolated.has(envelope.from) || this.isolated.has(envelope.to)) return true;
    const node = this.nodes.find((n) => n.id === envelope.to);
    if (node !== undefined && !node.alive) return true;
    return this.prng.chance(this.#dropProbability);
  }

  #deliverMetadata(node: SimReplica): void {
    const record = this.controller.record;
    this.note(`node ${node.id} learns ${JSON.stringify(record)}`);
    node.applyMetadata(record, this);
  }

  #controllerChange(what: string, change: () => unknown): void {
    const before = this.controller.record;
    change();
    const after = this.controller.record;
    if (after === before) return;

    if (before.isr.join() !== after.isr.join()) this.stats.isrChanges++;
    this.note(`controller: ${what} -> ${JSON.stringify(after)}`);
  }

  #controllerReceive(envelope: Envelope): void {
    const message = envelope.body;
    if (message.kind !== 'isr-change') this.fail(`controller got ${message.kind}`);

    const before = this.controller.record;
    const answer = this.controller.changeIsr(envelope.from, message.incarnation, message.request);
    if (this.controller.record !== before) {
      this.stats.isrChanges++;
      this.note(
        `controller: isr change from ${envelope.from} -> ${JSON.stringify(this.controller.record)}`,
      );
    }

    const { sendId, incarnation, request } = message;
    this.send(CONTROLLER, envelope.from, {
      kind: 'isr-answer',
      sendId,
      incarnation,
      request,
      ...answer,
    });
  }

  // --- producer -----------------------------------------------------------------------------

  #produce(): void {
    const producer = this.#producer;
    if (producer.current === null) {
      const lastOffsetDelta = this.prng.int(0, 2);
      producer.current = {
        producerId: producer.producerId,
        producerEpoch: producer.epoch,
        baseSequence: producer.nextSequence,
        lastOffsetDelta,
        payload: `v${this.prng.next().toString(16)}`,
      };
    }

    const to = this.#targetLeader();
    producer.outstanding++;
    producer.lastSentMs = this.nowMs;
    this.send(PRODUCER, to, { kind: 'produce', batch: producer.current });
  }

  /**
   * The other producer is not idempotent and does not retry: it keeps several batches in flight,
   * which leaves uncommitted tails on leaders that lose their place.
   */
  #produceBulk(): void {
    const batch = {
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
      lastOffsetDelta: this.prng.int(0, 2),
      payload: `bulk-${this.#bulkSent++}`,
    };
    this.send(PRODUCER, this.#targetLeader(), { kind: 'produce', batch });
  }

  /** Producers mostly reach the leader the controller names; sometimes a stale one. */
  #targetLeader(): number {
    const leader = this.controller.record.leader;
    const current = leader !== -1 && this.prng.chance(0.85);
    return current ? leader : this.prng.pick(this.config.replicas);
  }

  #restartProducer(): void {
    const producer = this.#producer;
    producer.epoch++;
    producer.nextSequence = 0;
    producer.current = null;
    producer.outstanding = 0;
    this.note(`producer restarts with epoch ${producer.epoch}`);
  }

  #producerReceive(envelope: Envelope): void {
    const message = envelope.body;
    if (message.kind !== 'produce-answer') this.fail(`producer got ${message.kind}`);
    if (message.producerEpoch === -1) return;
    const producer = this.#producer;
    producer.outstanding = Math.max(0, producer.outstanding - 1);

    const current = producer.current;
    const mine =
      current !== null &&
      message.producerEpoch === current.producerEpoch &&
      message.baseSequence === current.baseSequence;
    if (!mine) return;

    if (message.errorCode === ErrorCode.NONE) {
      producer.nextSequence = current.baseSequence + current.lastOffsetDelta + 1;
      producer.current = null;
    }
  }

  #answerProducer(from: number, waiter: AckWaiter, errorCode: number): void {
    const body = {
      kind: 'produce-answer',
      producerEpoch: waiter.producerEpoch,
      baseSequence: waiter.baseSequence,
      errorCode,
      baseOffset: waiter.baseOffset,
    } as const;
    this.send(from, PRODUCER, body);
  }

  get minInsyncReplicas(): number {
    return this.config.minInsyncReplicas;
  }

  get producerDone(): boolean {
    return this.#producer.current === null;
  }
}

/** Each seed weighs the events differently, so some runs are crash-heavy, others loss-heavy. */
function swarmWeights(prng: Prng): Record<EventKind, number> {
  const weights = { ...BASE_WEIGHTS };
  for (const kind of Object.keys(weights) as EventKind[]) {
    weights[kind] *= swarmFactor(prng, FAULTS.includes(kind));
  }
  return weights;
}

/** Mostly a moderate factor; some events are made rare (faults: absent) or very frequent. */
function swarmFactor(prng: Prng, fault: boolean): number {
  const roll = prng.float();
  if (fault && roll < 0.15) return 0;
  if (roll > 0.8) return 4 + prng.float() * 6;
  return 0.25 + prng.float() * 1.75;
}

/** A produced batch's identity: its producer id, epoch and sequence, or its payload if none. */
function keyOf(batch: {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  payload: string;
}): string {
  if (batch.producerId === -1n) return `bulk:${batch.payload}`;
  return `${batch.producerId}:${batch.producerEpoch}:${batch.baseSequence}`;
}
