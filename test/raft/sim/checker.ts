// Raft's safety properties (paper figure 3) as named checks the simulator runs as it goes, plus
// the ones a client sees: reads are linearizable, acknowledged writes survive. Each check keeps a
// global registry of what any node has shown so far and compares every new observation with it,
// so a violation is caught at the event that caused it.
import { raftIndex } from '../../../shared/ids.ts';
import type { RaftCore } from '../../../control-plane/raft/core.ts';
import type { RaftLogView } from '../../../control-plane/raft/log.ts';
import type { ControllerId, Entry } from '../../../control-plane/raft/types.ts';
import { fingerprint } from './state-machine.ts';

export class SimFailure extends Error {
  override name = 'SimFailure';

  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

interface CommittedSlot {
  readonly term: number;
  /** Lowest term in which some node was seen to know the slot committed. */
  commitTerm: number;
}

export class InvariantChecker {
  /** Election safety: the one leader of each term. */
  private readonly leaderOfTerm = new Map<number, ControllerId>();

  /** Log matching: for each (index, term) seen anywhere, its content and the term before it. */
  private readonly slots = new Map<string, { fingerprint: string; prevTerm: number }>();

  /** Leader completeness: every index known committed, with its term. */
  private readonly committed: CommittedSlot[] = [];

  /** State machine safety: content and state-machine hash after applying each index. */
  private readonly applied: { fingerprint: string; hash: number }[] = [];

  /** Commit index last examined, per core (a restarted node gets a new core). */
  private readonly examinedCommit = new WeakMap<RaftCore, number>();

  /** Leaders already checked for completeness, as "term/id". */
  private readonly checkedLeaders = new Set<string>();

  /** New entries are checked as the core hands them out for persisting. */
  checkNewEntries(id: ControllerId, log: RaftLogView, entries: readonly Entry[]): void {
    for (const entry of entries) this.checkSlot(id, log, entry);
  }

  /** Checks every entry a node holds; slower, run now and then and at the end. */
  checkWholeLog(id: ControllerId, log: RaftLogView): void {
    for (let i = log.firstIndex; i <= log.lastIndex; i++) {
      this.checkSlot(id, log, log.entryAt(raftIndex(i))!);
    }
  }

  /** After every event: one leader per term, completeness of new leaders, commits agree. */
  checkNode(id: ControllerId, core: RaftCore): void {
    if (core.currentRole === 'leader') this.checkLeader(id, core);
    this.checkCommits(id, core);
  }

  checkApplied(id: ControllerId, entry: Entry, hashAfter: number): void {
    const seen = this.applied[entry.index];
    const mine = { fingerprint: fingerprint(entry), hash: hashAfter };
    if (seen === undefined) {
      this.applied[entry.index] = mine;
      return;
    }
    if (seen.fingerprint !== mine.fingerprint || seen.hash !== mine.hash) {
      throw new SimFailure(
        'state machine safety',
        `node ${id} applied ${mine.fingerprint} at ${entry.index}; another, ${seen.fingerprint}`,
      );
    }
  }

  /** A state machine restored from a snapshot must equal one that applied every entry. */
  checkRestored(id: ControllerId, index: number, hash: number): void {
    if (index === 0) return;
    const seen = this.applied[index];
    if (seen === undefined || seen.hash !== hash) {
      throw new SimFailure(
        'state machine safety',
        `node ${id} restored a snapshot at ${index} that no applied history produced`,
      );
    }
  }

  /** A read may not miss a write acknowledged before it was asked (linearizability). */
  checkRead(id: ControllerId, readIndex: number, ackedBefore: number): void {
    if (readIndex >= ackedBefore) return;
    throw new SimFailure(
      'linearizable read',
      `node ${id} confirmed a read at ${readIndex} after index ${ackedBefore} was acknowledged`,
    );
  }

  private checkSlot(id: ControllerId, log: RaftLogView, entry: Entry): void {
    const key = `${entry.index}:${entry.term}`;
    const prevTerm = log.termAt(raftIndex(entry.index - 1)) ?? -1;
    const mine = { fingerprint: fingerprint(entry), prevTerm };
    const seen = this.slots.get(key);
    if (seen === undefined) {
      this.slots.set(key, mine);
      return;
    }

    // Unknown predecessors (just past a snapshot) cannot be compared.
    const prevDiffers = seen.prevTerm !== -1 && mine.prevTerm !== -1 && seen.prevTerm !== prevTerm;
    if (seen.fingerprint !== mine.fingerprint || prevDiffers) {
      throw new SimFailure(
        'log matching',
        `node ${id} holds ${mine.fingerprint} after term ${prevTerm} at ${key}; ` +
          `another holds ${seen.fingerprint} after term ${seen.prevTerm}`,
      );
    }
  }

  private checkLeader(id: ControllerId, core: RaftCore): void {
    const term = core.currentTerm;
    const leader = this.leaderOfTerm.get(term);
    if (leader !== undefined && leader !== id) {
      throw new SimFailure('election safety', `nodes ${leader} and ${id} both lead term ${term}`);
    }
    this.leaderOfTerm.set(term, id);

    const key = `${term}/${id}`;
    if (this.checkedLeaders.has(key)) return;
    this.checkedLeaders.add(key);
    this.checkCompleteness(id, core.raftLog, term);
  }

  /** Every entry committed in an earlier term is in the new leader's log. */
  private checkCompleteness(id: ControllerId, log: RaftLogView, term: number): void {
    const base = log.snapshot.meta.index;
    for (let i = base; i < this.committed.length; i++) {
      const slot = this.committed[i];
      if (slot === undefined || slot.commitTerm >= term) continue;

      const mine = log.termAt(raftIndex(i));
      if (mine !== slot.term) {
        throw new SimFailure(
          'leader completeness',
          `leader ${id} of term ${term} has term ${mine} at ${i}, committed with term ${slot.term}`,
        );
      }
    }
  }

  private checkCommits(id: ControllerId, core: RaftCore): void {
    const log = core.raftLog;
    const from = this.examinedCommit.get(core) ?? log.snapshot.meta.index;
    if (log.commitIndex <= from) return;
    this.examinedCommit.set(core, log.commitIndex);

    for (let i = from + 1; i <= log.commitIndex; i++) {
      const term = log.termAt(raftIndex(i));
      if (term === undefined) continue;

      const slot = this.committed[i];
      if (slot === undefined) {
        this.committed[i] = { term, commitTerm: core.currentTerm };
      } else if (slot.term !== term) {
        throw new SimFailure(
          'state machine safety',
          `node ${id} committed term ${term} at ${i}, another committed term ${slot.term}`,
        );
      } else {
        slot.commitTerm = Math.min(slot.commitTerm, core.currentTerm);
      }
    }
  }
}
