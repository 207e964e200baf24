// The Raft log as the core sees it: the latest snapshot as its base, every entry after it in
// memory, and the markers that say how far entries are committed, handed out for applying,
// applied and durable. It does no I/O; the driver persists what Ready hands it. Keeping all entries
// since the last snapshot in memory bounds memory by how often the driver compacts.
import { invariant } from '../../shared/assert.ts';
import { raftIndex } from '../../shared/ids.ts';
import type { ControllerId, Entry, RaftIndex, Snapshot, Term } from './types.ts';

/** What the simulator and status reporting may read without being able to change the log. */
export interface RaftLogView {
  readonly snapshot: Snapshot;
  readonly firstIndex: RaftIndex;
  readonly lastIndex: RaftIndex;
  readonly lastTerm: Term;
  readonly commitIndex: RaftIndex;
  readonly appliedIndex: RaftIndex;
  readonly voters: readonly ControllerId[];
  termAt(index: RaftIndex): Term | undefined;
  entryAt(index: RaftIndex): Entry | undefined;
}

export class RaftLog implements RaftLogView {
  /** The base of the log. Replaced by local compaction or by a snapshot installed from a leader. */
  private base: Snapshot;

  /** Entries after the base, contiguous: entries[k].index === base.meta.index + 1 + k. */
  private entries: Entry[];

  /** Indexes of config entries in `entries`, ascending; the last one is the voter set in force. */
  private configIndexes: RaftIndex[];

  /**
   * Highest index known committed. Advanced by the leader's quorum count or by what the leader
   * tells a follower; never decreases. Invariant: base index <= commitIndex <= lastIndex.
   */
  commitIndex: RaftIndex;

  /**
   * Highest index handed to the driver for applying (entries or an installed snapshot).
   * Invariant: appliedIndex <= applyingIndex <= commitIndex.
   */
  private applyingIndex: RaftIndex;

  /** Highest index the driver has confirmed applied (through `advance`). */
  appliedIndex: RaftIndex;

  /**
   * Entries up to here are durable as far as the core knows: raised when the driver acknowledges a
   * Ready, lowered when a conflicting leader truncates the log below it.
   */
  private stableIndex: RaftIndex;

  constructor(
    snapshot: Snapshot,
    entries: readonly Entry[],
    commitIndex: RaftIndex,
    appliedIndex: RaftIndex,
  ) {
    this.base = snapshot;
    this.entries = [...entries];
    this.configIndexes = this.entries.filter((e) => e.kind === 'config').map((e) => e.index);
    this.assertContiguous();

    invariant(appliedIndex >= snapshot.meta.index, 'state machine is older than the snapshot');
    this.commitIndex = raftIndex(Math.max(commitIndex, appliedIndex));
    this.appliedIndex = appliedIndex;
    this.applyingIndex = appliedIndex;
    this.stableIndex = this.lastIndex;
    invariant(this.commitIndex <= this.lastIndex, 'commit index beyond the last entry');
  }

  get snapshot(): Snapshot {
    return this.base;
  }

  get firstIndex(): RaftIndex {
    return raftIndex(this.base.meta.index + 1);
  }

  get lastIndex(): RaftIndex {
    return raftIndex(this.base.meta.index + this.entries.length);
  }

  get lastTerm(): Term {
    return this.termAt(this.lastIndex)!;
  }

  /** The voter set in force: the newest config entry in the log, committed or not (section 4.1). */
  get voters(): readonly ControllerId[] {
    return this.configAt(this.lastIndex);
  }

  /** Index of the newest config entry still in memory, or the base index when there is none. */
  get lastConfigIndex(): RaftIndex {
    return this.configIndexes.at(-1) ?? this.base.meta.index;
  }

  /** Term of the entry at `index`; undefined when compacted away or not yet written. */
  termAt(index: RaftIndex): Term | undefined {
    if (index === this.base.meta.index) return this.base.meta.term;
    return this.entryAt(index)?.term;
  }

  entryAt(index: RaftIndex): Entry | undefined {
    if (index < this.firstIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.firstIndex];
  }

  matchTerm(index: RaftIndex, term: Term): boolean {
    return this.termAt(index) === term;
  }

  /** Raft's "at least as up-to-date" comparison of a candidate's last entry with ours (5.4.1). */
  isUpToDate(lastIndex: RaftIndex, lastTerm: Term): boolean {
    if (lastTerm !== this.lastTerm) return lastTerm > this.lastTerm;
    return lastIndex >= this.lastIndex;
  }

  /** Up to `maxCount` entries starting at `from`. */
  slice(from: RaftIndex, maxCount: number): Entry[] {
    invariant(from >= this.firstIndex, 'slice reaches into the snapshot');

    const start = from - this.firstIndex;
    return this.entries.slice(start, start + maxCount);
  }

  configAt(index: RaftIndex): readonly ControllerId[] {
    for (let k = this.configIndexes.length - 1; k >= 0; k--) {
      const configIndex = this.configIndexes[k];
      if (configIndex > index) continue;

      const entry = this.entryAt(configIndex);
      invariant(entry?.kind === 'config', 'config index points at a non-config entry');
      return entry.voters;
    }
    return this.base.meta.voters;
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where the two logs can agree at best.
   * Used both by a follower to build a refusal hint and by the leader to read one. Below the base
   * terms are unknown, so the search stops there.
   */
  findConflictByTerm(index: RaftIndex, term: Term): RaftIndex {
    if (index <= this.base.meta.index) return index;

    let i = Math.min(index, this.lastIndex);
    while (i > this.base.meta.index && this.termAt(raftIndex(i))! > term) i -= 1;
    return raftIndex(i);
  }

  /** The leader's own append: always at the end, never conflicting. */
  append(entry: Entry): void {
    invariant(entry.index === this.lastIndex + 1, 'leader append must extend the log');
    invariant(entry.term >= this.lastTerm, 'entry terms must not decrease');

    this.push(entry);
  }

  /**
   * A follower's append after `prevIndex` (already checked to match). Entries we already hold are
   * skipped; the first conflicting one truncates our log from there (5.3). Returns the index of
   * the last entry the leader sent, the point up to which our log now matches the leader's.
   */
  appendFrom(prevIndex: RaftIndex, entries: readonly Entry[]): RaftIndex {
    for (const entry of entries) {
      const existing = this.termAt(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) this.truncateFrom(entry.index);
      this.push(entry);
    }
    return raftIndex(prevIndex + entries.length);
  }

  commitTo(index: RaftIndex): boolean {
    if (index <= this.commitIndex) return false;
    invariant(index <= this.lastIndex, `commit ${index} beyond last index ${this.lastIndex}`);

    this.commitIndex = index;
    return true;
  }

  /** Entries not yet acknowledged durable: what the next Ready must persist. */
  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.base.meta.index);
  }

  hasUnstableEntries(): boolean {
    return this.lastIndex > this.stableIndex;
  }

  /** The driver persisted entries up to (index, term); a later truncation makes this a no-op. */
  stableTo(index: RaftIndex, term: Term): void {
    if (this.termAt(index) !== term) return;
    if (index > this.stableIndex) this.stableIndex = index;
  }

  get stable(): RaftIndex {
    return this.stableIndex;
  }

  /** Committed entries not yet handed out for applying; marks them handed out. */
  takeCommittedEntries(): Entry[] {
    if (this.applyingIndex >= this.commitIndex) return [];

    const taken = this.slice(
      raftIndex(this.applyingIndex + 1),
      this.commitIndex - this.applyingIndex,
    );
    this.applyingIndex = this.commitIndex;
    return taken;
  }

  hasCommittedToApply(): boolean {
    return this.applyingIndex < this.commitIndex;
  }

  appliedTo(index: RaftIndex): void {
    invariant(index <= this.applyingIndex, 'applied beyond what was handed out');
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /** Replaces the whole log with a snapshot from the leader; it is committed by definition. */
  restore(snapshot: Snapshot): void {
    invariant(snapshot.meta.index > this.commitIndex, 'restoring a snapshot we already cover');

    this.base = snapshot;
    this.entries = [];
    this.configIndexes = [];
    this.commitIndex = snapshot.meta.index;
    this.applyingIndex = snapshot.meta.index;
    this.stableIndex = snapshot.meta.index;
  }

  /** Local compaction: entries up to `index` are replaced by the state machine image `data`. */
  compact(index: RaftIndex, data: Uint8Array): Snapshot {
    invariant(index > this.base.meta.index, 'compaction must move the snapshot forward');
    invariant(index <= this.appliedIndex, 'cannot compact entries not yet applied');
    invariant(index <= this.stableIndex, 'cannot compact entries not yet durable');

    const meta = { index, term: this.termAt(index)!, voters: this.configAt(index) };
    this.entries = this.entries.slice(index - this.base.meta.index);
    this.configIndexes = this.configIndexes.filter((i) => i > index);
    this.base = { meta, data };
    return this.base;
  }

  private push(entry: Entry): void {
    invariant(entry.index === this.lastIndex + 1, 'log entries must be contiguous');

    this.entries.push(entry);
    if (entry.kind === 'config') this.configIndexes.push(entry.index);
  }

  private truncateFrom(index: RaftIndex): void {
    invariant(index > this.commitIndex, `truncating committed entry ${index}`);

    this.entries.length = index - this.firstIndex;
    this.configIndexes = this.configIndexes.filter((i) => i < index);
    if (this.stableIndex >= index) this.stableIndex = raftIndex(index - 1);
  }

  private assertContiguous(): void {
    this.entries.forEach((entry, k) => {
      invariant(entry.index === this.base.meta.index + 1 + k, 'stored entries are not contiguous');
    });
  }
}
