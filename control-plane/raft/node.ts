// A running Raft member: the driver around the pure core. It owns the clock (a tick every
// `tickMs`), the durable storage, the transport and the state machine, and runs the Ready cycle:
// persist, send, apply, acknowledge. Work is processed on the next turn of the event loop, so
// messages and proposals that arrive meanwhile share one storage transaction (group commit).
// It offers what the controller's command log needs: propose, readBarrier, isLeader, leader id
// and status.
//
// Known shortcomings: storage writes run on the event loop, so requests wait behind each fsync;
// a proposal whose leader loses its leadership stays pending until the outcome is known here (the
// entry is applied, or another takes its index), which may take as long as this node is cut off.
import { invariant } from '../../shared/assert.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { RaftCore, type RaftStatus } from './core.ts';
import { bootstrapState, isEmptyState, type RaftStorage } from './storage.ts';
import type { RaftTransport } from './transport.ts';
import type {
  ConfigChange,
  ControllerId,
  Entry,
  RaftEvent,
  RaftIndex,
  Ready,
  Snapshot,
  Term,
} from './types.ts';

/** The replicated state, as the driver drives it. */
export interface RaftStateMachine {
  /** Index of the last entry applied; as durable as the state itself. */
  appliedIndex(): number;
  /**
   * Applies one committed entry at exactly appliedIndex() + 1, whatever its kind (no-op and
   * config entries only advance the index). A command's result goes to its proposer.
   */
  apply(entry: Entry): unknown;
  /** The whole state as of appliedIndex(). */
  snapshot(): Uint8Array;
  /** Replaces the whole state; afterwards appliedIndex() is the snapshot's index. */
  restore(snapshot: Snapshot): void;
}

export interface RaftNodeOptions {
  readonly id: ControllerId;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: RaftStateMachine;
  readonly logger: Logger;
  /** Voters of a new cluster, used only when storage is empty; omit on a joining node. */
  readonly bootstrap?: readonly ControllerId[];
  /** Milliseconds per tick. Default 100: elections after 1-2 s of silence, heartbeats each tick. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Applied entries after which the log is compacted into a snapshot. Default 10,000. */
  readonly snapshotEveryEntries?: number;
  readonly random?: () => number;
}

/** This controller cannot commit or serve a linearizable read; `leader` may be able to. */
export class RaftNotLeaderError extends KafkaError {
  override name = 'RaftNotLeaderError';

  constructor(readonly leader: ControllerId | null) {
    super(ErrorCode.NOT_CONTROLLER, `not the raft leader; leader is ${leader ?? 'unknown'}`);
  }
}

/** A proposal's entry was replaced by a new leader's: it was not committed and may be retried. */
export class ProposalDroppedError extends KafkaError {
  override name = 'ProposalDroppedError';

  constructor(index: RaftIndex) {
    super(ErrorCode.NOT_CONTROLLER, `proposal at index ${index} was overwritten by a new leader`);
  }
}

export interface RaftNodeStatus extends RaftStatus {
  /** Leader only: entries each follower lacks. */
  readonly followerLag: readonly { id: ControllerId; entries: number }[];
}

interface PendingProposal {
  readonly term: Term;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

interface PendingRead {
  resolve(): void;
  reject(err: Error): void;
  /** Set once the leader confirmed it: the read may proceed when this index is applied. */
  index: RaftIndex | null;
}

export class RaftNode {
  private readonly core: RaftCore;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<number, PendingRead>();
  private readonly listeners = new Set<(event: RaftEvent) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly logger: Logger;
  private nextReadId = 1;
  private scheduled = false;
  private stopped = false;
  private failure: Error | null = null;

  private constructor(private readonly options: RaftNodeOptions) {
    this.logger = options.logger.child({ component: 'raft-node', node: options.id });
    this.core = new RaftCore(
      {
        id: options.id,
        electionTicks: options.electionTicks,
        random: options.random ?? Math.random,
        logger: options.logger,
      },
      this.recover(),
    );

    options.transport.onMessage((message) => {
      if (this.stopped) return;
      this.core.step(message);
      this.schedule();
    });
    this.timer = setInterval(() => this.tick(), options.tickMs ?? 100);
    this.schedule();
  }

  static start(options: RaftNodeOptions): RaftNode {
    return new RaftNode(options);
  }

  /** Resolves with the state machine's result once the command is committed and applied here. */
  async propose(data: Uint8Array): Promise<unknown> {
    this.assertRunning();
    const result = this.core.propose(data);
    if (!result.ok) throw new RaftNotLeaderError(result.leader);

    return this.awaitEntry(result.index, result.term);
  }

  /** Resolves once a single-server membership change is committed. */
  async changeMembership(change: ConfigChange): Promise<void> {
    this.assertRunning();
    const result = this.core.proposeConfigChange(change);
    if (!result.ok && result.reason === 'not-leader') throw new RaftNotLeaderError(result.leader);
    if (!result.ok)
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `membership change ${result.reason}`);

    await this.awaitEntry(result.index, result.term);
  }

  /** Resolves once everything committed before the call is applied here (ReadIndex). */
  async readBarrier(): Promise<void> {
    this.assertRunning();
    const requestId = this.nextReadId++;
    const result = this.core.readIndex(requestId);
    if (!result.ok) throw new RaftNotLeaderError(result.leader);

    const done = new Promise<void>((resolve, reject) => {
      this.reads.set(requestId, { resolve, reject, index: null });
    });
    this.schedule();
    return done;
  }

  isLeader(): boolean {
    return this.core.currentRole === 'leader';
  }

  leaderId(): ControllerId | null {
    return this.core.currentLeader;
  }

  status(): RaftNodeStatus {
    const status = this.core.status();
    const followerLag = status.progress.map((p) => ({
      id: p.id,
      entries: status.lastIndex - p.match,
    }));
    return { ...status, followerLag };
  }

  /** Role and membership changes, as they happen; returns a function that unsubscribes. */
  onEvent(listener: (event: RaftEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);

    const stopping = new RaftNotLeaderError(null);
    for (const pending of this.proposals.values()) pending.reject(stopping);
    for (const read of this.reads.values()) read.reject(stopping);
    this.proposals.clear();
    this.reads.clear();

    await this.options.transport.close();
    this.options.storage.close();
  }

  // ---- startup

  /** Storage as it is, bootstrapped if new; the state machine caught up with its snapshot. */
  private recover() {
    const { storage, stateMachine, bootstrap } = this.options;
    let state = storage.load();
    if (isEmptyState(state) && bootstrap !== undefined) {
      const founder = bootstrapState(bootstrap);
      storage.save({ hardState: founder.hardState, snapshot: null, entries: founder.entries });
      state = storage.load();
      this.logger.info({ voters: bootstrap }, 'raft cluster bootstrapped');
    }

    if (stateMachine.appliedIndex() < state.snapshot.meta.index)
      stateMachine.restore(state.snapshot);
    const appliedIndex = stateMachine.appliedIndex() as RaftIndex;
    this.logger.info(
      { term: state.hardState.term, appliedIndex, entries: state.entries.length },
      'raft node recovered',
    );
    return { ...state, appliedIndex };
  }

  // ---- the Ready cycle

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.schedule();
  }

  /** Processes on the next turn, so that everything arriving meanwhile is persisted together. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.process());
  }

  private process(): void {
    this.scheduled = false;
    if (this.stopped || this.failure !== null) return;

    try {
      while (this.core.hasReady()) this.handle(this.core.ready());
      this.maybeCompact();
    } catch (err) {
      // Storage or the state machine failed: continuing could diverge from the log. Stop.
      this.failure = err as Error;
      this.logger.fatal({ err }, 'raft node failed; stopping');
      void this.stop();
    }
  }

  private handle(ready: Ready): void {
    this.options.storage.save(ready);
    for (const message of ready.messages) this.options.transport.send(message);

    if (ready.snapshot) this.installSnapshot(ready.snapshot);
    for (const entry of ready.committedEntries) this.apply(entry);
    this.noteReads(ready);
    for (const event of ready.events) this.emit(event);

    this.core.advance(ready);
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.options.stateMachine.restore(snapshot);
    this.logger.info({ index: snapshot.meta.index }, 'state machine restored from snapshot');

    // Proposals the snapshot covers have an outcome this node cannot tell apart.
    for (const [index, pending] of this.proposals) {
      if (index > snapshot.meta.index) continue;
      pending.reject(new ProposalDroppedError(index as RaftIndex));
      this.proposals.delete(index);
    }
    this.releaseReads();
  }

  private apply(entry: Entry): void {
    const { stateMachine } = this.options;
    invariant(entry.index === stateMachine.appliedIndex() + 1, 'entries applied out of order');

    const result = stateMachine.apply(entry);
    this.settleProposal(entry, result);
    this.releaseReads();
  }

  private settleProposal(entry: Entry, result: unknown): void {
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;

    this.proposals.delete(entry.index);
    if (pending.term === entry.term) pending.resolve(result);
    else pending.reject(new ProposalDroppedError(entry.index));
  }

  private noteReads(ready: Ready): void {
    for (const { requestId, index } of ready.readStates) {
      const read = this.reads.get(requestId);
      if (read !== undefined) read.index = index;
    }
    for (const requestId of ready.abortedReads) {
      this.reads.get(requestId)?.reject(new RaftNotLeaderError(this.core.currentLeader));
      this.reads.delete(requestId);
    }
    this.releaseReads();
  }

  /** Lets confirmed reads proceed once the state machine has caught up with their index. */
  private releaseReads(): void {
    const applied = this.options.stateMachine.appliedIndex();
    for (const [requestId, read] of this.reads) {
      if (read.index === null || read.index > applied) continue;
      this.reads.delete(requestId);
      read.resolve();
    }
  }

  private maybeCompact(): void {
    const log = this.core.raftLog;
    const every = this.options.snapshotEveryEntries ?? 10_000;
    if (log.appliedIndex - log.snapshot.meta.index < every) return;

    const snapshot = this.core.compact(log.appliedIndex, this.options.stateMachine.snapshot());
    this.options.storage.compact(snapshot);
    this.logger.info({ index: snapshot.meta.index }, 'raft log compacted');
  }

  private awaitEntry(index: RaftIndex, term: Term): Promise<unknown> {
    const done = new Promise<unknown>((resolve, reject) => {
      this.proposals.set(index, { term, resolve, reject });
    });
    this.schedule();
    return done;
  }

  private emit(event: RaftEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private assertRunning(): void {
    if (this.failure !== null) throw this.failure;
    if (this.stopped) throw new RaftNotLeaderError(null);
  }
}
