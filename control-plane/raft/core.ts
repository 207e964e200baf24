// The Raft core: one controller's consensus state as a synchronous object. A driver feeds it
// messages (`step`), clock ticks (`tick`) and client requests (`propose`, `readIndex`), then takes
// a Ready batch of what to persist, send and apply, and acknowledges it with `advance`. Nothing
// here touches a socket, a timer, a file or the wall clock; timeouts count ticks and randomness
// comes from the injected generator, so the simulator can replay any schedule from a seed.
//
// Beyond the Raft paper it implements pre-vote and check-quorum (dissertation 9.6), ReadIndex
// reads (6.4), snapshots with InstallSnapshot (chapter 5) and single-server membership changes
// (4.1). A configuration takes effect as soon as its entry is appended, as section 4.1 prescribes:
// consecutive voter sets then always share a majority, whoever has or has not yet learned of the
// commit. To keep at most one change in flight, a leader accepts a change only after its previous
// one is committed and after it has committed an entry of its own term (the fix described on the
// raft-dev list in 2015 for changes racing across leaders).
//
// Known shortcomings: a new voter joins at once, with no catch-up phase as a learner, so adding an
// empty server to a cluster with a member down can stall commits until it catches up; there is no
// leadership transfer, so removing the leader leaves the cluster leaderless for one election
// timeout; snapshots travel in one message rather than in chunks.
import { invariant } from '../../shared/assert.ts';
import { raftIndex, term as toTerm } from '../../shared/ids.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { RaftLog, type RaftLogView } from './log.ts';
import { Progress, type ProgressMode } from './progress.ts';
import { leaderCommitIndex, quorumValue, voteOutcome } from './quorum.ts';
import { ReadIndexQueue } from './read-index.ts';
import type {
  ConfigChange,
  ControllerId,
  Entry,
  HardState,
  Message,
  PersistedState,
  ProposeResult,
  RaftEvent,
  RaftIndex,
  ReadState,
  Ready,
  Role,
  Snapshot,
  Term,
} from './types.ts';

export interface RaftOptions {
  readonly id: ControllerId;
  /** Follower ticks without a leader before campaigning; randomized in [n, 2n). Default 10. */
  readonly electionTicks?: number;
  /** Leader ticks between heartbeats; must be well below electionTicks. Default 1. */
  readonly heartbeatTicks?: number;
  /** Entries per AppendEntries message. Default 64. */
  readonly maxEntriesPerAppend?: number;
  /** AppendEntries messages in flight per follower while streaming. Default 16. */
  readonly maxInflightAppends?: number;
  /**
   * Check-quorum (dissertation 6.2 and 9.6): a leader that has not heard from a majority for an
   * election timeout steps down, and a node that hears from a leader ignores vote requests for
   * as long. Default true; turned off only to let tests produce long-lived deposed leaders.
   */
  readonly checkQuorum?: boolean;
  /** Uniform in [0, 1); the only randomness the core uses. */
  readonly random: () => number;
  readonly logger?: Logger;
}

export interface StartState extends PersistedState {
  /** Highest index the state machine already holds; defaults to the snapshot's index. */
  readonly appliedIndex?: RaftIndex;
}

export interface ProgressStatus {
  readonly id: ControllerId;
  readonly match: RaftIndex;
  readonly next: RaftIndex;
  readonly mode: ProgressMode;
}

export interface RaftStatus {
  readonly id: ControllerId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: ControllerId | null;
  readonly leader: ControllerId | null;
  readonly commitIndex: RaftIndex;
  readonly appliedIndex: RaftIndex;
  readonly lastIndex: RaftIndex;
  readonly snapshotIndex: RaftIndex;
  readonly voters: readonly ControllerId[];
  /** Leader only: what it knows of each other voter. */
  readonly progress: readonly ProgressStatus[];
}

type ReadResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leader: ControllerId | null };

/** What a handed-out Ready promised, so `advance` can acknowledge exactly that. */
interface InFlightReady {
  readonly ready: Ready;
  readonly lastEntry: { index: RaftIndex; term: Term } | null;
}

export class RaftCore {
  readonly id: ControllerId;

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly maxEntriesPerAppend: number;
  private readonly maxInflightAppends: number;
  private readonly checkQuorum: boolean;
  private readonly random: () => number;
  private readonly logger: Logger;

  /** Latest term seen. Raised by campaigning or by any message carrying a higher term. */
  private term: Term;

  /** Whom this node voted for in `term`; reset to null whenever `term` rises. */
  private vote: ControllerId | null;

  private role: Role = 'follower';

  /** The leader of `term` as far as this node knows; null during elections. */
  private leader: ControllerId | null = null;

  private readonly log: RaftLog;

  /**
   * Follower and candidates: ticks since the leader was last heard or a vote was granted. Leader:
   * ticks since the last check-quorum. Reset on every role change.
   */
  private electionElapsed = 0;

  /** Leader: ticks since the last heartbeat broadcast. */
  private heartbeatElapsed = 0;

  /** Ticks after which a follower campaigns, drawn in [electionTicks, 2 * electionTicks). */
  private electionTimeout: number;

  /** Pre-candidate and candidate: answers received in the current (pre-)election. */
  private votes = new Map<ControllerId, boolean>();

  /** Leader: one entry per voter other than itself. */
  private progress = new Map<ControllerId, Progress>();

  /** Leader: index of the no-op that opened its term; reads and changes wait for its commit. */
  private termStartIndex: RaftIndex = raftIndex(0);

  private readonly reads = new ReadIndexQueue();

  /** (role, term, leader) as last reported in an event. */
  private reportedRole = '';

  /** The voter set as last reported, to notice changes from appends, truncations, snapshots. */
  private knownVoters: string;

  // What the next Ready carries.
  private outbox: Message[] = [];
  private pendingSnapshot: Snapshot | null = null;
  private readStates: ReadState[] = [];
  private abortedReads: number[] = [];
  private events: RaftEvent[] = [];

  /** The hard state last handed out for persisting. */
  private persistedHardState: HardState;

  private inFlight: InFlightReady | null = null;

  constructor(options: RaftOptions, start: StartState) {
    this.id = options.id;
    this.electionTicks = options.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 1;
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? 64;
    this.maxInflightAppends = options.maxInflightAppends ?? 16;
    this.checkQuorum = options.checkQuorum ?? true;
    this.random = options.random;
    this.logger = (options.logger ?? silentLogger).child({ component: 'raft', node: this.id });
    invariant(this.heartbeatTicks < this.electionTicks, 'heartbeats must beat the election timer');

    const { hardState, snapshot, entries } = start;
    const applied = start.appliedIndex ?? snapshot.meta.index;
    this.log = new RaftLog(snapshot, entries, hardState.commit, applied);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.persistedHardState = hardState;
    this.knownVoters = this.log.voters.join(',');
    this.reportedRole = `follower/${this.term}/null`;
    this.electionTimeout = this.randomElectionTimeout();
  }

  // ---- inspection

  get currentRole(): Role {
    return this.role;
  }

  get currentTerm(): Term {
    return this.term;
  }

  get currentLeader(): ControllerId | null {
    return this.leader;
  }

  get raftLog(): RaftLogView {
    return this.log;
  }

  status(): RaftStatus {
    const progress = [...this.progress].map(([id, pr]) => ({
      id,
      match: pr.match,
      next: pr.next,
      mode: pr.mode,
    }));
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commitIndex: this.log.commitIndex,
      appliedIndex: this.log.appliedIndex,
      lastIndex: this.log.lastIndex,
      snapshotIndex: this.log.snapshot.meta.index,
      voters: this.log.voters,
      progress,
    };
  }

  // ---- inputs

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Starts a (pre-)election now, as if the election timer had fired. */
  campaign(): void {
    if (this.role === 'leader') return;
    this.startPreVote();
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };

    const index = raftIndex(this.log.lastIndex + 1);
    this.appendAsLeader({ kind: 'command', index, term: this.term, data });
    return { ok: true, index, term: this.term };
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };

    const previousPending = this.log.lastConfigIndex > this.log.commitIndex;
    const termUncommitted = this.log.commitIndex < this.termStartIndex;
    if (previousPending || termUncommitted) {
      return { ok: false, reason: 'config-change-pending', leader: this.id };
    }

    const voters = applyChange(this.log.voters, change);
    if (voters === null) return { ok: false, reason: 'invalid-config-change', leader: this.id };

    const index = raftIndex(this.log.lastIndex + 1);
    this.appendAsLeader({ kind: 'config', index, term: this.term, change, voters });
    return { ok: true, index, term: this.term };
  }

  /**
   * Asks for a linearizable read. The answer comes in a later Ready's `readStates` (serve the read
   * once the state machine has applied that index) or in `abortedReads` if leadership is lost.
   */
  readIndex(requestId: number): ReadResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader };

    const termCommitted = this.log.commitIndex >= this.termStartIndex;
    this.reads.add(requestId, this.log.commitIndex, termCommitted);
    this.confirmReads();
    return { ok: true };
  }

  step(m: Message): void {
    invariant(m.to === this.id, `message for ${m.to} stepped into ${this.id}`);

    if (m.term > this.term && !this.acceptHigherTerm(m)) return;
    if (m.term < this.term) {
      this.answerStaleMessage(m);
      return;
    }

    if (m.type === 'PreVote' || m.type === 'RequestVote') this.handleVoteRequest(m);
    else if (this.role === 'leader') this.stepLeader(m);
    else if (this.role === 'follower') this.stepFollower(m);
    else this.stepCandidate(m);
    this.noticeConfigChange();
  }

  /**
   * The state machine holds everything up to `index` in the image `data`: drop the entries it
   * covers. The driver stores the returned snapshot (RaftStorage.compact).
   */
  compact(index: RaftIndex, data: Uint8Array): Snapshot {
    const snapshot = this.log.compact(index, data);
    this.logger.debug({ index, term: snapshot.meta.term }, 'raft log compacted');
    return snapshot;
  }

  // ---- the Ready cycle

  hasReady(): boolean {
    if (this.inFlight !== null) return false;

    return (
      this.outbox.length > 0 ||
      this.reads.needsBroadcast ||
      this.pendingSnapshot !== null ||
      this.log.hasUnstableEntries() ||
      this.log.hasCommittedToApply() ||
      this.readStates.length > 0 ||
      this.abortedReads.length > 0 ||
      this.events.length > 0 ||
      !sameHardState(this.hardState(), this.persistedHardState)
    );
  }

  ready(): Ready {
    invariant(this.inFlight === null, 'ready() called again before advance()');
    if (this.reads.needsBroadcast && this.role === 'leader') this.broadcastHeartbeat();

    const hardState = this.hardState();
    const entries = this.log.unstableEntries();
    const ready: Ready = {
      hardState: sameHardState(hardState, this.persistedHardState) ? null : hardState,
      entries,
      snapshot: this.pendingSnapshot,
      messages: this.outbox,
      committedEntries: this.log.takeCommittedEntries(),
      readStates: this.readStates,
      abortedReads: this.abortedReads,
      events: this.events,
    };

    const last = entries.at(-1);
    this.inFlight = { ready, lastEntry: last ? { index: last.index, term: last.term } : null };
    this.pendingSnapshot = null;
    this.outbox = [];
    this.readStates = [];
    this.abortedReads = [];
    this.events = [];
    return ready;
  }

  /** The driver persisted, sent and applied everything in `ready`. */
  advance(ready: Ready): void {
    const inFlight = this.inFlight;
    invariant(inFlight !== null && inFlight.ready === ready, 'advance() of a Ready not in flight');
    this.inFlight = null;

    if (inFlight.lastEntry) this.log.stableTo(inFlight.lastEntry.index, inFlight.lastEntry.term);
    if (ready.hardState) this.persistedHardState = ready.hardState;
    const appliedTo = Math.max(
      ready.committedEntries.at(-1)?.index ?? 0,
      ready.snapshot?.meta.index ?? 0,
    );
    if (appliedTo > 0) this.log.appliedTo(raftIndex(appliedTo));

    // The leader counts its own log towards a majority only once it is durable.
    if (this.role === 'leader' && this.maybeCommit()) this.broadcastAppend();
  }

  // ---- term rules shared by every role

  /** Handles a message from a later term; false when it must be dropped unanswered. */
  private acceptHigherTerm(m: Message): boolean {
    const isVoteRequest = m.type === 'PreVote' || m.type === 'RequestVote';
    if (isVoteRequest && this.inLease()) {
      // Check-quorum: while a leader is known to be alive, a candidate cannot unseat it.
      this.logger.debug({ from: m.from, term: m.term, type: m.type }, 'vote request ignored');
      return false;
    }

    // Pre-votes speak of a term nobody has entered yet; they never move ours.
    if (m.type === 'PreVote') return true;
    if (m.type === 'PreVoteResponse' && m.granted) return true;

    const fromLeader =
      m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  /**
   * A message from an earlier term. A stale leader is told our term so it steps down (with
   * pre-vote it may otherwise never learn of it); a stale pre-candidate is refused likewise.
   */
  private answerStaleMessage(m: Message): void {
    if (m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') {
      this.send({ type: 'HeartbeatResponse', to: m.from, term: this.term, readRound: 0 });
    } else if (m.type === 'PreVote') {
      this.send({ type: 'PreVoteResponse', to: m.from, term: this.term, granted: false });
    }
  }

  private inLease(): boolean {
    return this.checkQuorum && this.leader !== null && this.electionElapsed < this.electionTicks;
  }

  private handleVoteRequest(m: Extract<Message, { type: 'PreVote' | 'RequestVote' }>): void {
    const preVote = m.type === 'PreVote';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      (preVote && m.term > this.term);
    const granted = canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);

    // A grant answers in the requested term; a refusal carries ours so the sender can catch up.
    const type = preVote ? 'PreVoteResponse' : 'RequestVoteResponse';
    this.send({ type, to: m.from, term: granted ? m.term : this.term, granted });
    if (!granted || preVote) return;

    this.vote = m.from;
    this.electionElapsed = 0;
    this.logger.info({ term: this.term, candidate: m.from }, 'raft vote granted');
  }

  // ---- follower

  private stepFollower(m: Message): void {
    if (m.type === 'AppendEntries') {
      this.heardFromLeader(m.from);
      this.handleAppend(m);
    } else if (m.type === 'Heartbeat') {
      this.heardFromLeader(m.from);
      this.handleHeartbeat(m);
    } else if (m.type === 'InstallSnapshot') {
      this.heardFromLeader(m.from);
      this.handleSnapshot(m);
    }
    // Anything else answers a role this node no longer has.
  }

  private heardFromLeader(from: ControllerId): void {
    this.electionElapsed = 0;
    if (this.leader === from) return;

    invariant(this.leader === null, `two leaders in term ${this.term}: ${this.leader} and ${from}`);
    this.leader = from;
    this.emitRoleChanged();
  }

  private handleAppend(m: Extract<Message, { type: 'AppendEntries' }>): void {
    const append = this.skipCommitted(m);
    if (append === null) {
      this.acceptAppend(m.from, this.log.commitIndex);
      return;
    }
    if (!this.log.matchTerm(append.prevLogIndex, append.prevLogTerm)) {
      this.refuseAppend(m);
      return;
    }

    const lastNew = this.log.appendFrom(append.prevLogIndex, append.entries);
    this.log.commitTo(raftIndex(Math.min(m.commitIndex, lastNew)));
    this.acceptAppend(m.from, lastNew);
  }

  /**
   * Our committed prefix matches every leader's log, so only what follows it needs checking:
   * the append without the entries it repeats, or null when it brings nothing past our commit.
   */
  private skipCommitted(m: Extract<Message, { type: 'AppendEntries' }>): {
    prevLogIndex: RaftIndex;
    prevLogTerm: Term;
    entries: readonly Entry[];
  } | null {
    const commitIndex = this.log.commitIndex;
    if (m.prevLogIndex >= commitIndex) return m;

    const entries = m.entries.filter((e) => e.index > commitIndex);
    if (entries.length === 0 || entries[0].index !== commitIndex + 1) return null;
    return { prevLogIndex: commitIndex, prevLogTerm: this.log.termAt(commitIndex)!, entries };
  }

  private acceptAppend(to: ControllerId, matchIndex: RaftIndex): void {
    this.send({ type: 'AppendEntriesResponse', to, term: this.term, success: true, matchIndex });
  }

  private refuseAppend(m: Extract<Message, { type: 'AppendEntries' }>): void {
    const probeFrom = raftIndex(Math.min(m.prevLogIndex, this.log.lastIndex));
    const hintIndex = this.log.findConflictByTerm(probeFrom, m.prevLogTerm);
    const hintTerm = this.log.termAt(hintIndex) ?? toTerm(0);

    this.logger.debug({ prevLogIndex: m.prevLogIndex, hintIndex, hintTerm }, 'append refused');
    this.send({
      type: 'AppendEntriesResponse',
      to: m.from,
      term: this.term,
      success: false,
      rejectedIndex: m.prevLogIndex,
      hintIndex,
      hintTerm,
    });
  }

  private handleHeartbeat(m: Extract<Message, { type: 'Heartbeat' }>): void {
    // The leader sends min(commit, our match), so we hold every entry it lets us commit.
    invariant(m.commitIndex <= this.log.lastIndex, 'heartbeat commits beyond our log');

    this.log.commitTo(m.commitIndex);
    this.send({ type: 'HeartbeatResponse', to: m.from, term: this.term, readRound: m.readRound });
  }

  private handleSnapshot(m: Extract<Message, { type: 'InstallSnapshot' }>): void {
    const { meta } = m.snapshot;
    if (meta.index <= this.log.commitIndex) {
      this.acceptAppend(m.from, this.log.commitIndex);
      return;
    }

    // Holding the snapshot's last entry means holding everything before it: just commit.
    if (this.log.matchTerm(meta.index, meta.term)) {
      this.log.commitTo(meta.index);
      this.acceptAppend(m.from, meta.index);
      return;
    }

    this.log.restore(m.snapshot);
    this.pendingSnapshot = m.snapshot;
    this.logger.info({ index: meta.index, term: meta.term }, 'raft snapshot installed');
    this.acceptAppend(m.from, meta.index);
  }

  // ---- pre-candidate and candidate

  private stepCandidate(m: Message): void {
    if (m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') {
      // Someone already leads this term.
      this.becomeFollower(m.term, m.from);
      this.stepFollower(m);
    } else if (m.type === 'PreVoteResponse' && this.role === 'pre-candidate') {
      this.countVote(m.from, m.granted);
    } else if (m.type === 'RequestVoteResponse' && this.role === 'candidate') {
      this.countVote(m.from, m.granted);
    }
  }

  private countVote(from: ControllerId, granted: boolean): void {
    if (this.votes.has(from)) return;
    this.votes.set(from, granted);

    const outcome = voteOutcome(this.log.voters, this.votes);
    if (outcome === 'lost') this.becomeFollower(this.term, null);
    if (outcome !== 'won') return;

    if (this.role === 'pre-candidate') this.startElection();
    else this.becomeLeader();
  }

  private tickElection(): void {
    // A node outside the voter set never campaigns, and its count keeps growing so that its
    // lease on a silent leader runs out and it answers other candidates' pre-votes.
    this.electionElapsed += 1;
    if (!this.log.voters.includes(this.id)) return;
    if (this.electionElapsed < this.electionTimeout) return;

    this.electionElapsed = 0;
    this.startPreVote();
  }

  /** Pre-vote (dissertation 9.6): ask whether we could win before disturbing anyone's term. */
  private startPreVote(): void {
    if (!this.log.voters.includes(this.id)) return;

    this.setRole('pre-candidate', null);
    this.votes = new Map([[this.id, true]]);
    if (voteOutcome(this.log.voters, this.votes) === 'won') {
      this.startElection();
      return;
    }
    this.requestVotes('PreVote', toTerm(this.term + 1));
  }

  private startElection(): void {
    this.term = toTerm(this.term + 1);
    this.vote = this.id;
    this.setRole('candidate', null);
    this.votes = new Map([[this.id, true]]);

    if (voteOutcome(this.log.voters, this.votes) === 'won') {
      this.becomeLeader();
      return;
    }
    this.requestVotes('RequestVote', this.term);
  }

  private requestVotes(type: 'PreVote' | 'RequestVote', term: Term): void {
    const { lastIndex, lastTerm } = this.log;
    for (const to of this.log.voters) {
      if (to === this.id) continue;
      this.send({ type, to, term, lastLogIndex: lastIndex, lastLogTerm: lastTerm });
    }
  }

  // ---- leader

  private becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');

    this.setRole('leader', this.id);
    this.progress = new Map();
    this.syncProgress();

    // A no-op of the new term: committing it commits everything before it (section 5.4.2).
    this.termStartIndex = raftIndex(this.log.lastIndex + 1);
    this.appendAsLeader({ kind: 'noop', index: this.termStartIndex, term: this.term });
  }

  private stepLeader(m: Message): void {
    invariant(
      m.type !== 'AppendEntries' && m.type !== 'Heartbeat' && m.type !== 'InstallSnapshot',
      `two leaders in term ${this.term}: ${this.id} and ${m.from}`,
    );
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;

    if (m.type === 'AppendEntriesResponse' && m.success)
      this.handleAppendSuccess(m.from, pr, m.matchIndex);
    else if (m.type === 'AppendEntriesResponse') this.handleAppendRefusal(m.from, pr, m);
    else if (m.type === 'HeartbeatResponse') this.handleHeartbeatResponse(m.from, pr, m.readRound);
  }

  private handleAppendSuccess(from: ControllerId, pr: Progress, matchIndex: RaftIndex): void {
    const wasPaused = pr.isPaused(this.maxInflightAppends);
    if (!pr.maybeUpdate(matchIndex)) return;

    if (pr.mode === 'probe') pr.becomeReplicate();
    if (pr.mode === 'snapshot' && pr.match >= pr.snapshotIndex) pr.becomeReplicate();

    // A follower that was paused may have missed the latest commit index: tell it now.
    if (this.maybeCommit()) this.broadcastAppend();
    else if (wasPaused) this.sendAppend(from, true);
    this.sendAppends(from);
  }

  private handleAppendRefusal(
    from: ControllerId,
    pr: Progress,
    m: Extract<Message, { type: 'AppendEntriesResponse'; success: false }>,
  ): void {
    const hint =
      m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
    if (!pr.maybeBackOff(m.rejectedIndex, hint)) return;

    this.logger.debug({ follower: from, next: pr.next }, 'raft follower probing back');
    this.sendAppend(from, true);
  }

  private handleHeartbeatResponse(from: ControllerId, pr: Progress, readRound: number): void {
    // An answer proves the link works again: resume a paused probe, free one lost append slot.
    pr.probeSent = false;
    if (pr.mode === 'replicate' && pr.inflight.length >= this.maxInflightAppends) {
      pr.inflight.shift();
    }
    if (pr.match < this.log.lastIndex) this.sendAppend(from, true);

    if (readRound > pr.readRound) {
      pr.readRound = readRound;
      this.confirmReads();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed += 1;
    this.electionElapsed += 1;
    this.tickSnapshots();

    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.hasActiveQuorum()) {
        this.logger.warn({ term: this.term }, 'raft leader lost its quorum');
        this.becomeFollower(this.term, null);
        return;
      }
    }

    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** A snapshot unanswered for an election timeout is presumed lost and will be sent again. */
  private tickSnapshots(): void {
    for (const pr of this.progress.values()) {
      if (pr.mode !== 'snapshot') continue;
      pr.snapshotTicks += 1;
      if (pr.snapshotTicks >= this.electionTicks) pr.becomeProbe();
    }
  }

  /** Check-quorum: a leader that has not heard from a majority recently steps down. */
  private hasActiveQuorum(): boolean {
    const active = this.log.voters.map((id) => {
      if (id === this.id) return 1;
      return this.progress.get(id)!.recentActive ? 1 : 0;
    });
    for (const pr of this.progress.values()) pr.recentActive = false;

    return quorumValue(active) === 1;
  }

  private maybeCommit(): boolean {
    const next = leaderCommitIndex({
      voters: this.log.voters,
      matchOf: (id) => (id === this.id ? this.log.stable : this.progress.get(id)!.match),
      commitIndex: this.log.commitIndex,
      currentTerm: this.term,
      termAt: (index) => this.log.termAt(index),
    });
    if (!this.log.commitTo(next)) return false;

    this.afterLeaderCommit();
    return true;
  }

  private afterLeaderCommit(): void {
    if (this.log.commitIndex >= this.termStartIndex) {
      this.reads.releaseAwaiting(this.log.commitIndex);
      this.confirmReads();
    }

    // A leader that removed itself steps down once the change is committed (section 4.2.2),
    // after telling the others that it is.
    const removed = !this.log.voters.includes(this.id);
    if (removed && this.log.commitIndex >= this.log.lastConfigIndex) {
      this.logger.info({ term: this.term }, 'raft leader removed from the cluster');
      this.broadcastAppend();
      this.becomeFollower(this.term, null);
    }
  }

  private confirmReads(): void {
    if (!this.reads.hasWork()) return;

    const rounds = this.log.voters.map((id) => {
      if (id === this.id) return this.reads.currentRound;
      return this.progress.get(id)!.readRound;
    });
    this.readStates.push(...this.reads.confirm(quorumValue(rounds)));
  }

  private appendAsLeader(entry: Entry): void {
    this.log.append(entry);
    this.noticeConfigChange();
    for (const id of this.progress.keys()) this.sendAppends(id);
  }

  /** Streams to one follower until its window is full or it has everything. */
  private sendAppends(to: ControllerId): void {
    while (this.progress.has(to) && this.sendAppend(to, false));
  }

  private broadcastAppend(): void {
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) this.sendAppend(id, true);
  }

  /** Sends one AppendEntries (or the snapshot, if the entries are compacted); false if none. */
  private sendAppend(to: ControllerId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to)!;
    if (pr.isPaused(this.maxInflightAppends)) return false;

    const prevLogIndex = raftIndex(pr.next - 1);
    invariant(prevLogIndex <= this.log.lastIndex, 'follower next index beyond the log');
    const prevLogTerm = this.log.termAt(prevLogIndex);
    if (prevLogTerm === undefined) return this.sendSnapshot(to, pr);

    const entries = this.log.slice(pr.next, this.maxEntriesPerAppend);
    if (entries.length === 0 && !sendIfEmpty) return false;

    const commitIndex = this.log.commitIndex;
    this.send({
      type: 'AppendEntries',
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      commitIndex,
    });
    pr.sentAppend(entries.at(-1)?.index);
    return true;
  }

  private sendSnapshot(to: ControllerId, pr: Progress): boolean {
    const snapshot = this.log.snapshot;
    pr.becomeSnapshot(snapshot.meta.index);

    this.logger.info({ follower: to, index: snapshot.meta.index }, 'raft sending snapshot');
    this.send({ type: 'InstallSnapshot', to, term: this.term, snapshot });
    return true;
  }

  private broadcastHeartbeat(): void {
    const readRound = this.reads.currentRound;
    this.reads.markBroadcast();

    for (const [to, pr] of this.progress) {
      const commitIndex = raftIndex(Math.min(pr.match, this.log.commitIndex));
      this.send({ type: 'Heartbeat', to, term: this.term, commitIndex, readRound });
    }
  }

  /** Makes the leader's progress map follow the voter set in force. */
  private syncProgress(): void {
    const voters = this.log.voters;
    for (const id of this.progress.keys()) {
      if (!voters.includes(id)) this.progress.delete(id);
    }
    for (const id of voters) {
      if (id === this.id || this.progress.has(id)) continue;
      this.progress.set(id, new Progress(raftIndex(this.log.lastIndex + 1)));
    }
  }

  // ---- role changes and bookkeeping

  private becomeFollower(term: Term, leader: ControllerId | null): void {
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    if (this.role === 'leader') this.abortedReads.push(...this.reads.abortAll());

    this.progress = new Map();
    this.votes = new Map();
    this.setRole('follower', leader);
  }

  private setRole(role: Role, leader: ControllerId | null): void {
    this.role = role;
    this.leader = leader;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.electionTimeout = this.randomElectionTimeout();
    this.emitRoleChanged();
  }

  /** Reports (role, term, leader) when any of them differs from what was last reported. */
  private emitRoleChanged(): void {
    const { role, term, leader } = this;
    const key = `${role}/${term}/${leader}`;
    if (key === this.reportedRole) return;

    this.reportedRole = key;
    this.events.push({ type: 'role-changed', role, term, leader });
    this.logger.info({ role, term, leader }, 'raft role changed');
  }

  /** Appends, truncations and snapshots can change the voter set; report it and follow it. */
  private noticeConfigChange(): void {
    const voters = this.log.voters;
    const key = voters.join(',');
    if (key === this.knownVoters) return;

    this.knownVoters = key;
    if (this.role === 'leader') this.syncProgress();
    this.events.push({ type: 'config-changed', voters, index: this.log.lastConfigIndex });
    this.logger.info({ voters, index: this.log.lastConfigIndex }, 'raft voters changed');
  }

  private randomElectionTimeout(): number {
    return this.electionTicks + Math.floor(this.random() * this.electionTicks);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.commitIndex };
  }

  private send(message: DistributiveOmit<Message, 'from'>): void {
    this.outbox.push({ ...message, from: this.id } as Message);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The voter set after a single-server change, or null when the change makes no sense. */
export function applyChange(
  voters: readonly ControllerId[],
  change: ConfigChange,
): readonly ControllerId[] | null {
  const present = voters.includes(change.id);
  if (change.type === 'add-voter') {
    if (present) return null;
    return [...voters, change.id].sort((a, b) => a - b);
  }

  if (!present || voters.length === 1) return null;
  return voters.filter((id) => id !== change.id);
}
