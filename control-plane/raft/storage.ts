// The port through which a Raft node keeps what must survive a crash: hard state, log entries and
// the latest snapshot. `save` returns only once a Ready's part is durable, so the driver may then
// send the Ready's messages. This file holds the port, the in-memory twin used by the simulator
// and tests, and the states a node starts from (a new cluster's founders, or a joining node).
import { invariant } from '../../shared/assert.ts';
import { raftIndex, term } from '../../shared/ids.ts';
import type { ControllerId, Entry, HardState, PersistedState, Snapshot } from './types.ts';

/** The durable part of a Ready; a Ready can be passed as is. */
export interface SaveBatch {
  readonly hardState: HardState | null;
  /** Replaces the whole log when present. */
  readonly snapshot: Snapshot | null;
  /** An entry at index i replaces whatever is stored from i on. */
  readonly entries: readonly Entry[];
}

export interface RaftStorage {
  /** Everything durable, as the node finds it at start. */
  load(): PersistedState;
  /** Writes snapshot, then entries, then hard state, atomically and durably before returning. */
  save(batch: SaveBatch): void;
  /** Records a local snapshot and drops the entries it covers, keeping later ones. */
  compact(snapshot: Snapshot): void;
  close(): void;
}

const emptySnapshot: Snapshot = {
  meta: { index: raftIndex(0), term: term(0), voters: [] },
  data: new Uint8Array(0),
};

/** A node that joins an existing cluster: it learns the log and the voters from the leader. */
export function emptyState(): PersistedState {
  return {
    hardState: { term: term(0), vote: null, commit: raftIndex(0) },
    snapshot: emptySnapshot,
    entries: [],
  };
}

/**
 * A founding member of a new cluster: the voter set is entry 1, of term 1, taken as committed.
 * Every founder must be bootstrapped with the same voters, and a joining node never is.
 */
export function bootstrapState(voters: readonly ControllerId[]): PersistedState {
  invariant(voters.length > 0, 'a cluster needs at least one voter');

  const sorted = [...new Set(voters)].sort((a, b) => a - b);
  const entry: Entry = {
    kind: 'config',
    index: raftIndex(1),
    term: term(1),
    change: { type: 'bootstrap' },
    voters: sorted,
  };
  return {
    hardState: { term: term(1), vote: null, commit: raftIndex(1) },
    snapshot: emptySnapshot,
    entries: [entry],
  };
}

/** True when storage holds nothing yet: no term, no entries, no snapshot. */
export function isEmptyState(state: PersistedState): boolean {
  return (
    state.hardState.term === 0 && state.entries.length === 0 && state.snapshot.meta.index === 0
  );
}

/** Storage in memory: survives the loss of a core (a simulated crash), not of the process. */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState;
  private snapshot: Snapshot;
  private entries: Entry[];

  constructor(initial: PersistedState = emptyState()) {
    this.hardState = initial.hardState;
    this.snapshot = initial.snapshot;
    this.entries = [...initial.entries];
  }

  load(): PersistedState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }

  save(batch: SaveBatch): void {
    if (batch.snapshot) {
      this.snapshot = batch.snapshot;
      this.entries = [];
    }
    if (batch.entries.length > 0) this.appendEntries(batch.entries);
    if (batch.hardState) this.hardState = batch.hardState;
  }

  compact(snapshot: Snapshot): void {
    const { index } = snapshot.meta;
    invariant(index > this.snapshot.meta.index, 'compaction must move the snapshot forward');
    invariant(index <= this.lastIndex(), 'compaction beyond the stored log');

    this.entries = this.entries.filter((e) => e.index > index);
    this.snapshot = snapshot;
  }

  close(): void {}

  private appendEntries(entries: readonly Entry[]): void {
    const first = entries[0].index;
    invariant(first > this.snapshot.meta.index, 'appending entries covered by the snapshot');
    invariant(first <= this.lastIndex() + 1, 'appending entries leaves a gap');

    this.entries = this.entries.filter((e) => e.index < first).concat(entries);
  }

  private lastIndex(): number {
    return this.entries.at(-1)?.index ?? this.snapshot.meta.index;
  }
}
