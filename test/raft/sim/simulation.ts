// A deterministic simulation of a whole controller quorum in one process. One seed decides
// everything: the cluster (3 or 5 voters, two spare nodes that may join), which faults are in
// play, and every scheduling choice. During the chaos phase the network drops, duplicates, delays
// and reorders messages and partitions links; nodes crash (losing whatever they wrote but had not
// yet synced), restart, have their clocks jump, compact their logs; clients propose writes,
// membership changes and reads. Then everything heals and the cluster must converge, with every
// acknowledged write applied exactly once on every voter. Invariants are checked after each event.
import { controllerId, raftIndex, type ControllerId } from '../../../shared/ids.ts';
import { RaftCore } from '../../../control-plane/raft/core.ts';
import { createPrng, type Prng } from '../../../control-plane/raft/prng.ts';
import { bootstrapState, emptyState, MemoryStorage } from '../../../control-plane/raft/storage.ts';
import type { Entry, Message, Ready } from '../../../control-plane/raft/types.ts';
import { InvariantChecker, SimFailure } from './checker.ts';
import { EventQueue } from './event-queue.ts';
import { SimNetwork } from './network.ts';
import { SimStateMachine } from './state-machine.ts';

export interface SimOptions {
  readonly seed: number;
  /** Virtual time during which faults are injected. */
  readonly chaosTime?: number;
  /** Virtual time allowed after healing for the cluster to converge. */
  readonly healTimeLimit?: number;
  /** Receives one line per event, for replaying a failure. */
  readonly trace?: (line: string) => void;
}

export interface SimStats {
  readonly voters: number;
  readonly events: number;
  readonly proposals: number;
  readonly acknowledged: number;
  readonly reads: number;
  readonly crashes: number;
  readonly configChanges: number;
  readonly snapshotsSent: number;
  readonly maxTerm: number;
}

export type SimResult =
  | { readonly ok: true; readonly seed: number; readonly stats: SimStats }
  | { readonly ok: false; readonly seed: number; readonly failure: SimFailure | Error };

/** What this seed turns on, so runs differ in kind and not only in timing (swarm testing). */
interface Profile {
  readonly voters: number;
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly delayMax: number;
  readonly diskDelayMax: number;
  readonly partitions: boolean;
  readonly crashes: boolean;
  readonly clockJumps: boolean;
  /** Crash new leaders soon after they win: successions of half-replicated logs (figure 8). */
  readonly leaderChurn: boolean;
  /** Off lets deposed leaders linger, which is what linearizable reads must withstand. */
  readonly checkQuorum: boolean;
  /** Chance that a node crashes just before syncing a write: what is acked must be durable. */
  readonly crashBeforeSync: number;
  readonly membership: boolean;
  readonly compaction: boolean;
  readonly reads: boolean;
  readonly maxEntriesPerAppend: number;
  readonly maxInflightAppends: number;
  readonly clientInterval: number;
  readonly faultInterval: number;
}

type FaultKind = 'partition' | 'crash' | 'clockJump' | 'changeMembership' | 'compact';

type SimEvent =
  | { readonly kind: 'tick'; readonly id: ControllerId; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly message: Message }
  | { readonly kind: 'sync'; readonly id: ControllerId; readonly incarnation: number }
  | { readonly kind: 'restart'; readonly id: ControllerId }
  | { readonly kind: 'crash'; readonly id: ControllerId; readonly incarnation: number }
  | { readonly kind: 'client' }
  | { readonly kind: 'fault'; readonly fault: FaultKind }
  | { readonly kind: 'heal-partition' }
  | { readonly kind: 'heal' };

interface Proposal {
  readonly id: string;
  readonly index: number;
  readonly term: number;
}

class SimNode {
  core: RaftCore | null = null;
  machine = new SimStateMachine();
  incarnation = 0;
  /** A Ready written but not yet synced: lost if the node crashes first. */
  pending: Ready | null = null;
  /** Proposals this incarnation accepted, by index, awaiting their outcome. */
  proposals = new Map<number, Proposal>();
  /** Reads asked of this incarnation: request id to the highest index acknowledged before. */
  reads = new Map<number, number>();
  /** Highest term in any message this node sent, and the votes it granted, by term. */
  sentTerm = 0;
  votesGranted = new Map<number, ControllerId>();

  constructor(
    readonly id: ControllerId,
    readonly storage: MemoryStorage,
    readonly tickEvery: number,
  ) {}
}

const TICK = 10;
const ELECTION_TICKS = 10;

export function runSimulation(options: SimOptions): SimResult {
  const simulation = new Simulation(options);
  try {
    return { ok: true, seed: options.seed, stats: simulation.run() };
  } catch (err) {
    return { ok: false, seed: options.seed, failure: err as Error };
  }
}

class Simulation {
  private readonly prng: Prng;
  private readonly profile: Profile;
  private readonly network: SimNetwork;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly checker = new InvariantChecker();
  private readonly nodes = new Map<ControllerId, SimNode>();
  private readonly chaosTime: number;
  private readonly healTimeLimit: number;
  private readonly trace: ((line: string) => void) | undefined;

  private now = 0;
  private healed = false;
  private proposalSeq = 0;
  private readSeq = 0;
  /** Acknowledged writes: proposal id to index. */
  private readonly acked = new Map<string, number>();
  private maxAckedIndex = 0;
  private stats = {
    events: 0,
    proposals: 0,
    reads: 0,
    crashes: 0,
    configChanges: 0,
    snapshotsSent: 0,
  };

  constructor(options: SimOptions) {
    this.prng = createPrng(options.seed);
    this.profile = chooseProfile(this.prng);
    this.chaosTime = options.chaosTime ?? 3000;
    this.healTimeLimit = options.healTimeLimit ?? 20_000;
    this.trace = options.trace;
    this.network = new SimNetwork(this.prng.fork(), {
      lossRate: this.profile.lossRate,
      duplicateRate: this.profile.duplicateRate,
      delayMin: 1,
      delayMax: this.profile.delayMax,
    });
    this.createNodes();
  }

  run(): SimStats {
    this.log(`profile ${JSON.stringify(this.profile)}`);
    this.queue.push(this.prng.int(1, 20), { kind: 'client' });
    this.scheduleFaults();
    this.queue.push(this.chaosTime, { kind: 'heal' });

    for (let event = this.queue.pop(); event; event = this.queue.pop()) {
      this.now = event.time;
      this.stats.events += 1;
      this.dispatch(event.item);
      this.checkNodes();
      if (this.stats.events % 512 === 0) this.checkWholeLogs();
      if (this.healed && this.converged()) break;
      if (this.now > this.chaosTime + this.healTimeLimit) {
        const states = [...this.nodes.values()].map((n) => describeNode(n)).join('; ');
        throw new SimFailure('liveness', `no convergence after healing: ${states}`);
      }
    }

    this.checkWholeLogs();
    this.checkAcknowledgedWrites();
    return this.summary();
  }

  // ---- setup

  private createNodes(): void {
    const total = this.profile.voters + 2;
    const founders = range(1, this.profile.voters).map(controllerId);
    for (const n of range(1, total)) {
      const id = controllerId(n);
      const initial = founders.includes(id) ? bootstrapState(founders) : emptyState();
      const node = new SimNode(id, new MemoryStorage(initial), this.prng.int(TICK - 1, TICK + 2));
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  private start(node: SimNode): void {
    const state = node.storage.load();
    this.checkDurableBeforeSent(node, state.hardState.term, state.hardState.vote);

    node.machine = SimStateMachine.restore(state.snapshot.data);
    this.checker.checkRestored(node.id, node.machine.index, node.machine.hash);
    node.incarnation += 1;
    node.core = new RaftCore(
      {
        id: node.id,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 1,
        maxEntriesPerAppend: this.profile.maxEntriesPerAppend,
        maxInflightAppends: this.profile.maxInflightAppends,
        checkQuorum: this.profile.checkQuorum,
        random: this.prng.fork().next,
      },
      state,
    );
    this.scheduleTick(node);
    this.pump(node);
  }

  // ---- events

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick(event.id, event.incarnation);
      case 'deliver':
        return this.onDeliver(event.message);
      case 'sync':
        return this.onSync(event.id, event.incarnation);
      case 'restart':
        return this.onRestart(event.id);
      case 'crash':
        return this.onCrash(event.id, event.incarnation);
      case 'client':
        return this.onClient();
      case 'fault':
        return this.onFault(event.fault);
      case 'heal-partition':
        this.log('heal partition');
        return this.network.heal();
      case 'heal':
        return this.onHeal();
    }
  }

  private onTick(id: ControllerId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.core === null || node.incarnation !== incarnation) return;

    node.core.tick();
    this.pump(node);
    this.scheduleTick(node);
  }

  private scheduleTick(node: SimNode): void {
    const event = { kind: 'tick', id: node.id, incarnation: node.incarnation } as const;
    this.queue.push(this.now + node.tickEvery, event);
  }

  private onDeliver(message: Message): void {
    const node = this.nodes.get(message.to)!;
    if (node.core === null || this.network.isCut(message.from, message.to)) return;

    this.log(`deliver ${describe(message)}`);
    node.core.step(message);
    this.pump(node);
  }

  /** Takes the next Ready and writes it; it becomes durable, and acts, when its sync comes. */
  private pump(node: SimNode): void {
    const core = node.core;
    if (core === null || node.pending !== null || !core.hasReady()) return;

    const ready = core.ready();
    this.checker.checkNewEntries(node.id, core.raftLog, ready.entries);
    node.pending = ready;
    const delay = this.prng.int(0, this.profile.diskDelayMax + 1);
    const incarnation = node.incarnation;
    if (!this.healed && this.prng.chance(this.profile.crashBeforeSync)) {
      this.queue.push(this.now + delay, { kind: 'crash', id: node.id, incarnation });
    }
    this.queue.push(this.now + delay, { kind: 'sync', id: node.id, incarnation });
  }

  private onSync(id: ControllerId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    const ready = node.pending;
    if (node.core === null || node.incarnation !== incarnation || ready === null) return;

    node.storage.save(ready);
    for (const message of ready.messages) this.send(node, message);
    if (ready.snapshot) this.installSnapshot(node, ready);
    for (const entry of ready.committedEntries) this.apply(node, entry);
    for (const read of ready.readStates) this.completeRead(node, read.requestId, read.index);
    for (const requestId of ready.abortedReads) node.reads.delete(requestId);

    node.pending = null;
    node.core.advance(ready);
    this.maybeChurn(node, ready);
    this.pump(node);
  }

  private maybeChurn(node: SimNode, ready: Ready): void {
    if (!this.profile.leaderChurn || this.healed) return;
    const elected = ready.events.some((e) => e.type === 'role-changed' && e.role === 'leader');
    if (!elected || !this.prng.chance(0.5)) return;

    const event = { kind: 'crash', id: node.id, incarnation: node.incarnation } as const;
    this.queue.push(this.now + this.prng.int(1, 60), event);
  }

  private send(node: SimNode, message: Message): void {
    // Pre-vote messages speak of a term the sender has not entered; nothing is persisted for them.
    if (message.type !== 'PreVote' && message.type !== 'PreVoteResponse') {
      node.sentTerm = Math.max(node.sentTerm, message.term);
    }
    if (message.type === 'RequestVoteResponse' && message.granted) {
      node.votesGranted.set(message.term, message.to);
    }
    if (message.type === 'InstallSnapshot') this.stats.snapshotsSent += 1;

    for (const delay of this.network.deliveries(message)) {
      this.queue.push(this.now + delay, { kind: 'deliver', message });
    }
  }

  private installSnapshot(node: SimNode, ready: Ready): void {
    const snapshot = ready.snapshot!;
    node.machine = SimStateMachine.restore(snapshot.data);
    this.checker.checkRestored(node.id, node.machine.index, node.machine.hash);

    // Proposals the snapshot covers have an outcome this node can no longer tell.
    for (const index of node.proposals.keys()) {
      if (index <= snapshot.meta.index) node.proposals.delete(index);
    }
  }

  private apply(node: SimNode, entry: Entry): void {
    const applied = node.machine.apply(entry);
    this.checker.checkApplied(node.id, entry, node.machine.hash);
    if (applied !== null && !applied.fresh) {
      throw new SimFailure('exactly once', `node ${node.id} applied ${applied.id} twice`);
    }

    const proposal = node.proposals.get(entry.index);
    if (proposal === undefined) return;
    node.proposals.delete(entry.index);
    if (proposal.id !== applied?.id || proposal.term !== entry.term) return;

    this.acked.set(proposal.id, entry.index);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, entry.index);
  }

  private completeRead(node: SimNode, requestId: number, index: number): void {
    const ackedBefore = node.reads.get(requestId);
    if (ackedBefore === undefined) return;

    node.reads.delete(requestId);
    this.checker.checkRead(node.id, index, ackedBefore);
  }

  private onRestart(id: ControllerId): void {
    const node = this.nodes.get(id)!;
    if (node.core !== null) return;

    this.log(`restart ${id}`);
    this.start(node);
  }

  // ---- clients

  private onClient(): void {
    // After healing, clients stop so that "converged" can be reached and checked.
    if (this.healed) return;

    const leader = this.someLeader();
    if (leader !== null) {
      if (this.profile.reads && this.prng.chance(0.25)) this.read(leader);
      else this.propose(leader);
    }

    const interval = this.profile.clientInterval;
    this.queue.push(this.now + this.prng.int(1, interval + 1), { kind: 'client' });
  }

  /**
   * A node that believes it leads. Clients are adversarial: half the time they pick the one with
   * the lowest term, a deposed leader if there is one, which reads and log repair must withstand.
   */
  private someLeader(): SimNode | null {
    const leaders = [...this.nodes.values()].filter((n) => n.core?.currentRole === 'leader');
    if (leaders.length === 0) return null;
    if (!this.prng.chance(0.5)) return this.prng.pick(leaders);

    return leaders.reduce((a, b) => (a.core!.currentTerm <= b.core!.currentTerm ? a : b));
  }

  private propose(node: SimNode): void {
    const id = `p${++this.proposalSeq}`;
    const result = node.core!.propose(new TextEncoder().encode(id));
    if (!result.ok) return;

    this.stats.proposals += 1;
    node.proposals.set(result.index, { id, index: result.index, term: result.term });
    this.log(`propose ${id} at ${node.id} -> ${result.index}@${result.term}`);
    this.pump(node);
  }

  private read(node: SimNode): void {
    const requestId = ++this.readSeq;
    if (!node.core!.readIndex(requestId).ok) return;

    this.stats.reads += 1;
    node.reads.set(requestId, this.maxAckedIndex);
    this.pump(node);
  }

  // ---- faults

  private onFault(fault: FaultKind): void {
    if (this.healed) return;

    const pause = this[fault]();
    const gap = this.prng.int(1, this.profile.faultInterval + 1);
    this.queue.push(this.now + pause + gap, { kind: 'fault', fault });
  }

  private scheduleFaults(): void {
    const p = this.profile;
    const enabled: [boolean, FaultKind][] = [
      [p.partitions, 'partition'],
      [p.crashes, 'crash'],
      [p.clockJumps, 'clockJump'],
      [p.membership, 'changeMembership'],
      [p.compaction, 'compact'],
    ];
    for (const [on, fault] of enabled) {
      if (on) this.queue.push(this.prng.int(1, p.faultInterval + 1), { kind: 'fault', fault });
    }
  }

  /** Members as the most advanced log sees them, plus one outsider now and then. */
  private likelyMembers(): ControllerId[] {
    let best: RaftCore | null = null;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core && (best === null || core.raftLog.lastIndex > best.raftLog.lastIndex)) best = core;
    }
    const voters = best?.raftLog.voters ?? [...this.nodes.keys()];
    const outsiders = [...this.nodes.keys()].filter((id) => !voters.includes(id));
    const extra = outsiders.length > 0 && this.prng.chance(0.3) ? [this.prng.pick(outsiders)] : [];
    return [...voters, ...extra];
  }

  /** Cuts some links for a while; returns how long the cut lasts. */
  private partition(): number {
    const members = this.likelyMembers();
    const all = [...this.nodes.keys()];
    const shape = this.prng.int(0, 3);
    if (shape === 0) {
      const isolated = this.prng.pick(members);
      this.network.split([isolated], all);
      this.log(`isolate ${isolated}`);
    } else if (shape === 1) {
      const group = members.filter(() => this.prng.chance(0.5));
      this.network.split(group, all);
      this.log(`split ${group.join(',')} from the rest`);
    } else {
      for (let k = this.prng.int(1, 4); k > 0; k--) {
        const from = this.prng.pick(members);
        const to = this.prng.pick(members.filter((id) => id !== from));
        if (to !== undefined) this.network.cutOneWay(from, to);
        this.log(`cut ${from}>${to}`);
      }
    }

    const duration = this.prng.int(20, this.prng.pick([200, 800, 2000]));
    this.queue.push(this.now + duration, { kind: 'heal-partition' });
    return duration;
  }

  /** Crashes a node, usually keeping a majority up so that the protocol, not an outage, runs. */
  private crash(): number {
    const up = [...this.nodes.values()].filter((n) => n.core !== null);
    const down = this.nodes.size - up.length;
    const minority = Math.floor((this.profile.voters - 1) / 2);
    if (up.length === 0 || (down >= minority && this.prng.chance(0.8))) return 0;

    // Leaders are where most of the protocol happens: aim at them half the time.
    const leaders = up.filter((n) => n.core!.currentRole === 'leader');
    this.crashNode(this.prng.pick(leaders.length > 0 && this.prng.chance(0.5) ? leaders : up));
    return 0;
  }

  private onCrash(id: ControllerId, incarnation: number): void {
    const node = this.nodes.get(id)!;
    if (node.core !== null && node.incarnation === incarnation && !this.healed)
      this.crashNode(node);
  }

  private crashNode(node: SimNode): void {
    this.log(`crash ${node.id}${node.pending ? ' losing an unsynced write' : ''}`);
    node.core = null;
    node.pending = null;
    node.proposals.clear();
    node.reads.clear();
    this.stats.crashes += 1;
    const downtime = this.prng.int(1, this.prng.pick([30, 200, 1000]));
    this.queue.push(this.now + downtime, { kind: 'restart', id: node.id });
  }

  /** A paused VM or a jumping clock: many ticks at once, with no messages in between. */
  private clockJump(): number {
    const up = [...this.nodes.values()].filter((n) => n.core !== null);
    if (up.length === 0) return 0;

    const node = this.prng.pick(up);
    const ticks = this.prng.int(1, 3 * ELECTION_TICKS);
    this.log(`clock jump ${node.id} by ${ticks} ticks`);
    for (let k = 0; k < ticks; k++) node.core!.tick();
    this.pump(node);
    return 0;
  }

  private changeMembership(): number {
    const leader = this.someLeader();
    if (leader === null) return 0;

    const voters = leader.core!.raftLog.voters;
    const outsiders = [...this.nodes.keys()].filter((id) => !voters.includes(id));
    const add = voters.length <= 2 || (outsiders.length > 0 && this.prng.chance(0.5));
    const id = add ? this.prng.pick(outsiders) : this.prng.pick(voters);
    if (id === undefined) return 0;

    const change = add
      ? ({ type: 'add-voter', id } as const)
      : ({ type: 'remove-voter', id } as const);
    const result = leader.core!.proposeConfigChange(change);
    this.log(`${change.type} ${id} at ${leader.id}: ${result.ok ? 'proposed' : result.reason}`);
    if (result.ok) this.stats.configChanges += 1;
    this.pump(leader);
    return 0;
  }

  private compact(): number {
    const candidates = [...this.nodes.values()].filter((n) => {
      const log = n.core?.raftLog;
      return log && n.pending === null && log.appliedIndex > log.snapshot.meta.index;
    });
    if (candidates.length === 0) return 0;

    const node = this.prng.pick(candidates);
    const log = node.core!.raftLog;
    const index = log.appliedIndex;
    invariantMachineAt(node, index);
    const snapshot = node.core!.compact(raftIndex(index), node.machine.snapshot());
    node.storage.compact(snapshot);
    this.log(`compact ${node.id} to ${index}`);
    return 0;
  }

  private onHeal(): void {
    this.log('heal everything');
    this.healed = true;
    this.network.heal();
    this.network.faults = { lossRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 5 };
    for (const node of this.nodes.values()) {
      if (node.core === null) this.queue.push(this.now + 1, { kind: 'restart', id: node.id });
    }
  }

  // ---- checks

  private checkNodes(): void {
    for (const node of this.nodes.values()) {
      if (node.core !== null) this.checker.checkNode(node.id, node.core);
    }
  }

  private checkWholeLogs(): void {
    for (const node of this.nodes.values()) {
      if (node.core !== null) this.checker.checkWholeLog(node.id, node.core.raftLog);
    }
  }

  /** A node must never restart with a term below one it sent, or forget a vote it granted. */
  private checkDurableBeforeSent(node: SimNode, term: number, vote: ControllerId | null): void {
    if (term < node.sentTerm) {
      throw new SimFailure(
        'persist before send',
        `node ${node.id} restarted in term ${term} after sending in term ${node.sentTerm}`,
      );
    }
    const granted = node.votesGranted.get(term);
    if (granted !== undefined && granted !== vote) {
      throw new SimFailure(
        'persist before send',
        `node ${node.id} restarted with vote ${vote} in term ${term}, having granted ${granted}`,
      );
    }
  }

  /** Healed: a leader whose every voter holds and has applied its whole log. */
  private converged(): boolean {
    const leader = [...this.nodes.values()].find((n) => n.core?.currentRole === 'leader');
    if (leader === undefined) return false;

    const log = leader.core!.raftLog;
    if (log.commitIndex !== log.lastIndex) return false;
    return log.voters.every((id) => {
      const node = this.nodes.get(id)!;
      const theirs = node.core?.raftLog;
      return (
        theirs !== undefined &&
        node.pending === null &&
        theirs.lastIndex === log.lastIndex &&
        theirs.termAt(log.lastIndex) === log.lastTerm &&
        theirs.appliedIndex === log.lastIndex
      );
    });
  }

  /** Every acknowledged write is in every voter's state machine, once. */
  private checkAcknowledgedWrites(): void {
    const leader = [...this.nodes.values()].find((n) => n.core?.currentRole === 'leader')!;
    for (const id of leader.core!.raftLog.voters) {
      const machine = this.nodes.get(id)!.machine;
      for (const [proposal, index] of this.acked) {
        if (machine.ids.has(proposal)) continue;
        throw new SimFailure(
          'durability',
          `write ${proposal} acknowledged at ${index} is missing on node ${id}`,
        );
      }
    }
  }

  private summary(): SimStats {
    const terms = [...this.nodes.values()].map((n) => n.core?.currentTerm ?? 0);
    return {
      voters: this.profile.voters,
      ...this.stats,
      acknowledged: this.acked.size,
      maxTerm: Math.max(...terms),
    };
  }

  private log(line: string): void {
    this.trace?.(`${String(this.now).padStart(6)} ${line}`);
  }
}

function chooseProfile(prng: Prng): Profile {
  return {
    voters: prng.chance(0.5) ? 3 : 5,
    lossRate: prng.pick([0, 0.01, 0.05, 0.2]),
    duplicateRate: prng.pick([0, 0.02, 0.1]),
    delayMax: prng.pick([2, 5, 15, 40, 120]),
    diskDelayMax: prng.pick([0, 3, 10]),
    partitions: prng.chance(0.7),
    crashes: prng.chance(0.7),
    clockJumps: prng.chance(0.5),
    leaderChurn: prng.chance(0.4),
    checkQuorum: prng.chance(0.7),
    crashBeforeSync: prng.pick([0, 0, 0.002, 0.01]),
    membership: prng.chance(0.5),
    compaction: prng.chance(0.6),
    reads: prng.chance(0.6),
    maxEntriesPerAppend: prng.pick([1, 1, 4, 64]),
    maxInflightAppends: prng.pick([1, 4, 16]),
    clientInterval: prng.pick([5, 20, 60]),
    faultInterval: prng.pick([30, 100, 300]),
  };
}

function invariantMachineAt(node: SimNode, index: number): void {
  if (node.machine.index !== index) {
    throw new SimFailure(
      'harness',
      `node ${node.id} machine at ${node.machine.index}, not ${index}`,
    );
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

function describeNode(node: SimNode): string {
  if (node.core === null) return `${node.id} down`;
  const s = node.core.status();
  const peers = s.progress.map((p) => `${p.id}:${p.mode}/${p.match}/${p.next}`).join(' ');
  return (
    `${s.id} ${s.role} t${s.term} lead=${s.leader} commit=${s.commitIndex} ` +
    `applied=${s.appliedIndex} last=${s.lastIndex} snap=${s.snapshotIndex} ` +
    `voters=${s.voters.join(',')} ${peers}`
  );
}

function describe(m: Message): string {
  return `${m.from}->${m.to} ${m.type} t${m.term}`;
}
