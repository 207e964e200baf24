// The controller's state machine: applies committed commands, in log order, to the SQLite tables
// of control-plane/db/schema.ts. Application is deterministic (no clock, no randomness, no reads
// outside the database: the log entry brings its own `now`), so every controller that applies the
// same log holds the same rows. Each command runs in one transaction that also advances the
// applied index; a refused command changes nothing but the applied index and returns its reason.
//
// Invariants: applied index = index of the last log entry applied (a command, or under Raft a
// no-op or membership entry), and entries are applied at exactly applied index + 1; metadata
// version only grows; each stored change has a version above every earlier one.
import { TransactionRollbackError } from 'drizzle-orm';
import { invariant } from '../shared/assert.ts';
import { initCluster, fenceDataNode, registerDataNode, unfenceDataNode } from './apply/cluster.ts';
import { createApplyContext, type ApplyContext } from './apply/context.ts';
import {
  commitOffsets,
  deleteGroupOffsets,
  expireGroupOffsets,
  reportActiveGroups,
} from './apply/offsets.ts';
import { allocateProducerIds, shutdownDataNode } from './apply/replication.ts';
import {
  changeIsr,
  createPartitions,
  createTopic,
  deleteTopic,
  electLeaders,
} from './apply/topics.ts';
import {
  CommandRejected,
  type Command,
  type CommandOf,
  type CommandOutputs,
  type CommandResult,
  type CommandType,
} from './commands.ts';
import type { StateDb, StateTx } from './db/database.ts';
import { pruneChangesUpTo, readMeta, writeMeta } from './db/queries.ts';
import { captureDatabase, restoreDatabaseImage } from './raft/sqlite-snapshot.ts';

/** Metadata changes kept for data nodes that follow by version; older views get a snapshot. */
export const METADATA_CHANGES_RETAINED = 10_000;

type Handlers = {
  [T in CommandType]: (ctx: ApplyContext, command: CommandOf<T>) => CommandOutputs[T];
};

const handlers: Handlers = {
  initCluster,
  registerDataNode,
  fenceDataNode,
  unfenceDataNode,
  createTopic,
  createPartitions,
  deleteTopic,
  changeIsr,
  electLeaders,
  shutdownDataNode,
  allocateProducerIds,
  commitOffsets,
  deleteGroupOffsets,
  reportActiveGroups,
  expireGroupOffsets,
};

/** Applies the command at log `index`; `now` is the clock reading stored with the log entry. */
export function applyCommand<C extends Command>(
  db: StateDb,
  index: number,
  command: C,
  now: number,
): CommandResult<C['type']> {
  return db.transaction(
    (tx) => {
      const applied = readMeta(tx, 'appliedIndex');
      invariant(index === applied + 1, `command at index ${index} applied after ${applied}`);

      const outcome = runHandler(tx, index, command, now);
      const metadataVersion = readMeta(tx, 'metadataVersion');
      pruneChangesUpTo(tx, metadataVersion - METADATA_CHANGES_RETAINED);
      writeMeta(tx, 'appliedIndex', index);

      return { ...outcome, index, metadataVersion };
    },
    { behavior: 'immediate' },
  );
}

type Outcome<T extends CommandType> =
  { ok: true; value: CommandOutputs[T] } | { ok: false; rejection: CommandRejected['rejection'] };

/** Runs the handler inside a savepoint, so that a refusal leaves no partial write behind. */
function runHandler<C extends Command>(
  tx: StateTx,
  index: number,
  command: C,
  now: number,
): Outcome<C['type']> {
  try {
    // The compiler cannot pair a handler with its command type through the union; the table's
    // type does.
    const handler = handlers[command.type] as unknown as (
      ctx: ApplyContext,
      command: C,
    ) => CommandOutputs[C['type']];
    const value = tx.transaction((inner) =>
      handler(createApplyContext(inner, index, now), command),
    );
    return { ok: true, value };
  } catch (err) {
    if (err instanceof CommandRejected) return { ok: false, rejection: err.rejection };
    throw err;
  }
}

/** A committed log entry, as the state machine receives it. */
export interface LogEntry {
  index: number;
  /** The proposer's clock when it appended the entry. */
  appendedAtMs: number;
  command: Command;
}

export type AppliedListener = (entry: LogEntry, result: CommandResult) => void;

/**
 * The state machine as a command log drives it: applies committed entries in order and tells
 * listeners (the metadata long poll, liveness) after each. Whoever commits entries (the local log,
 * or Raft) calls `apply` and hands the result to the entry's proposer. Raft also hands it entries
 * without a command, which only advance the applied index, and replaces the whole state with a
 * snapshot when this controller has fallen behind the leader's compacted log.
 */
export class StateMachine {
  private readonly listeners = new Set<AppliedListener>();
  private readonly restoredListeners = new Set<() => void>();

  constructor(readonly db: StateDb) {}

  get appliedIndex(): number {
    return readMeta(this.db, 'appliedIndex');
  }

  get metadataVersion(): number {
    return readMeta(this.db, 'metadataVersion');
  }

  apply<C extends Command>(entry: LogEntry & { command: C }): CommandResult<C['type']> {
    const result = applyCommand(this.db, entry.index, entry.command, entry.appendedAtMs);
    for (const listener of this.listeners) listener(entry, result);
    return result;
  }

  /** Runs a command against the current state and rolls it back: validation without a commit. */
  dryRun<C extends Command>(command: C, now: number): CommandResult<C['type']> {
    const index = this.appliedIndex + 1;
    let outcome: Outcome<C['type']> | undefined;
    try {
      this.db.transaction((tx) => {
        outcome = runHandler(tx, index, command, now);
        tx.rollback();
      });
    } catch (err) {
      if (!(err instanceof TransactionRollbackError)) throw err;
    }

    invariant(outcome !== undefined, 'dry run produced no outcome');
    return { ...outcome, index, metadataVersion: this.metadataVersion };
  }

  /** An entry at `index` without a command (a Raft no-op or membership change). */
  advanceOver(index: number): void {
    this.db.transaction(
      (tx) => {
        const applied = readMeta(tx, 'appliedIndex');
        invariant(index === applied + 1, `entry at index ${index} applied after ${applied}`);
        writeMeta(tx, 'appliedIndex', index);
      },
      { behavior: 'immediate' },
    );
  }

  /** The whole state, applied index included, as a SQLite image. */
  snapshot(): Uint8Array {
    return captureDatabase(this.db.$client);
  }

  /** Replaces the whole state with an image from `snapshot()`, then tells restore listeners. */
  restore(image: Uint8Array): void {
    restoreDatabaseImage(this.db.$client, image);
    for (const listener of this.restoredListeners) listener();
  }

  onApplied(listener: AppliedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onRestored(listener: () => void): () => void {
    this.restoredListeners.add(listener);
    return () => this.restoredListeners.delete(listener);
  }
}
