// Which leader epoch wrote which offsets: a list of (epoch, start offset), epochs and start
// offsets increasing. A new leader's first append opens an entry; a follower copies entries from
// the epochs stamped on the batches it replicates. Followers ask a leader where their last epoch
// ended (OffsetsForLeaderEpoch) and truncate what the leader does not have, which is how
// divergent tails left by a deposed leader are removed.
//
// Checkpoint text: a version line (0), a count line, then one "epoch startOffset" line per entry.
import { invariant } from '../../shared/assert.ts';

export const NO_EPOCH = -1;
export const NO_OFFSET = -1n;

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

export interface EpochEndOffset {
  /** The largest epoch at or below the one asked for, or NO_EPOCH. */
  leaderEpoch: number;
  /** The first offset after that epoch's records, or NO_OFFSET. */
  endOffset: bigint;
}

export class LeaderEpochCache {
  private entries: EpochEntry[];

  constructor(entries: EpochEntry[] = []) {
    this.entries = entries.map((e) => ({ ...e }));
    this.checkOrder();
  }

  get latestEpoch(): number {
    return this.entries.length === 0 ? NO_EPOCH : this.entries[this.entries.length - 1].epoch;
  }

  /** Where the latest epoch starts, or -1 when there is none. */
  get latestStartOffset(): bigint {
    return this.entries.length === 0
      ? NO_OFFSET
      : this.entries[this.entries.length - 1].startOffset;
  }

  list(): EpochEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /**
   * Records that `epoch` starts at `startOffset`. Returns whether anything changed: an epoch at or
   * below the latest is already known (the log's epochs never go backwards).
   */
  assign(epoch: number, startOffset: bigint): boolean {
    if (epoch <= this.latestEpoch) return false;
    const last = this.entries[this.entries.length - 1];
    invariant(
      last === undefined || startOffset >= last.startOffset,
      `epoch ${epoch} cannot start at ${startOffset}, before epoch ${last?.epoch}`,
    );

    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** The epoch that wrote `offset` (an offset inside the log), or NO_EPOCH. */
  epochAt(offset: bigint): number {
    let epoch = NO_EPOCH;
    for (const entry of this.entries) {
      if (entry.startOffset > offset) break;
      epoch = entry.epoch;
    }
    return epoch;
  }

  /**
   * Where `epoch` ended, as OffsetsForLeaderEpoch answers: the latest epoch ends at the log end
   * offset; an older one ends where the next higher epoch starts, reported with the largest epoch
   * this log has at or below the one asked for. An epoch above all known ones is undefined.
   */
  endOffsetFor(epoch: number, logEndOffset: bigint): EpochEndOffset {
    if (epoch === NO_EPOCH || this.entries.length === 0) {
      return { leaderEpoch: NO_EPOCH, endOffset: NO_OFFSET };
    }
    if (epoch === this.latestEpoch) return { leaderEpoch: epoch, endOffset: logEndOffset };

    const higher = this.entries.findIndex((e) => e.epoch > epoch);
    if (higher < 0) return { leaderEpoch: NO_EPOCH, endOffset: NO_OFFSET };

    const floor = higher === 0 ? epoch : this.entries[higher - 1].epoch;
    return { leaderEpoch: floor, endOffset: this.entries[higher].startOffset };
  }

  /** Forgets epochs that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: bigint): boolean {
    const kept = this.entries.filter((e) => e.startOffset < endOffset);
    const changed = kept.length !== this.entries.length;
    this.entries = kept;
    return changed;
  }

  /**
   * The log now starts at `startOffset`: entries wholly before it go, and the epoch in force at
   * that offset is kept, starting there. Entries that already start there stay, even an epoch
   * that wrote nothing before the next one, so reopening a log keeps the epochs it had.
   */
  truncateFromStart(startOffset: bigint): boolean {
    const firstKept = this.entries.findIndex((e) => e.startOffset > startOffset);
    const covering = (firstKept < 0 ? this.entries.length : firstKept) - 1;
    if (covering < 0 || this.entries[0].startOffset === startOffset) return false;

    const tail = this.entries.slice(covering);
    tail[0] = { epoch: tail[0].epoch, startOffset };
    this.entries = tail;
    return true;
  }

  serialize(): string {
    const lines = ['0', String(this.entries.length)];
    for (const e of this.entries) lines.push(`${e.epoch} ${e.startOffset}`);
    return lines.join('\n') + '\n';
  }

  /** Parses a checkpoint; null when it is not one (the caller rebuilds from the log). */
  static parse(text: string): LeaderEpochCache | null {
    const lines = text.split('\n').filter((line) => line.length > 0);
    if (lines[0] !== '0' || Number(lines[1]) !== lines.length - 2) return null;

    const entries: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const match = /^(\d+) (\d+)$/.exec(line);
      if (!match) return null;
      entries.push({ epoch: Number(match[1]), startOffset: BigInt(match[2]) });
    }

    const ordered = entries.every(
      (e, i) =>
        i === 0 || (e.epoch > entries[i - 1].epoch && e.startOffset >= entries[i - 1].startOffset),
    );
    return ordered ? new LeaderEpochCache(entries) : null;
  }

  private checkOrder(): void {
    for (let i = 1; i < this.entries.length; i++) {
      const prev = this.entries[i - 1];
      const next = this.entries[i];
      invariant(
        next.epoch > prev.epoch && next.startOffset >= prev.startOffset,
        `epoch entries out of order: ${prev.epoch}@${prev.startOffset}, ${next.epoch}@${next.startOffset}`,
      );
    }
  }
}
