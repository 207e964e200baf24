// The command log of a control plane with a single controller: a command is committed once it is
// appended to the command_log table (durable), then applied. On start, entries appended but not
// yet applied (a crash between the two) are applied first. Applied entries are trimmed from the
// table now and then; the state machine's tables hold their effect.
//
// Controllers run RaftCommandLog; this one serves in-process tests of the controller's parts.
//
// Known shortcomings: there is no replication (losing this controller's disk loses the cluster's
// metadata and committed offsets), and each command's two fsyncs (append, apply) run on the
// event loop, so every request waits behind them; batching callers (offset commits) see little
// grouping here because a proposal is done before most others can queue behind it.
import { asc, gt, lte, max } from 'drizzle-orm';
import { invariant } from '../shared/assert.ts';
import type { Logger } from '../shared/logger.ts';
import {
  NotLeaderError,
  type CommandLog,
  type LeaderHint,
  type QuorumMember,
  type QuorumStatus,
} from './command-log.ts';
import { Command, type CommandResult } from './commands.ts';
import { commandLog } from './db/schema.ts';
import type { StateMachine } from './state-machine.ts';

/** Applied entries kept in the table, for inspection after an incident. */
const APPLIED_ENTRIES_KEPT = 1000;

export interface LocalCommandLogOptions {
  controllerId: number;
  /** Where this controller's admin API listens, once it does. */
  adminUrl: () => string | null;
  /** Wall clock in ms: stamped on each entry as the `now` it is applied with. */
  clock: () => number;
  logger: Logger;
}

export class LocalCommandLog implements CommandLog, QuorumMember {
  private lastIndex: number;
  private failure: Error | null = null;
  private closed = false;

  constructor(
    private readonly stateMachine: StateMachine,
    private readonly options: LocalCommandLogOptions,
  ) {
    this.lastIndex = this.recover();
  }

  async propose<C extends Command>(command: C): Promise<CommandResult<C['type']>> {
    if (this.closed) throw new NotLeaderError(null);
    if (this.failure !== null) throw this.failure;

    const entry = { index: this.lastIndex + 1, appendedAtMs: this.options.clock(), command };
    this.append(entry);
    return this.apply(entry);
  }

  async readBarrier(): Promise<void> {
    if (this.closed) throw new NotLeaderError(null);
  }

  isLeader(): boolean {
    return !this.closed;
  }

  leaderHint(): LeaderHint | null {
    return { controllerId: this.options.controllerId, adminUrl: this.options.adminUrl() };
  }

  proposeAsLeader(command: Command): Promise<CommandResult> {
    return this.propose(command);
  }

  async readIndexAsLeader(): Promise<number> {
    await this.readBarrier();
    return this.stateMachine.appliedIndex;
  }

  /** A quorum of one, which leads in term 0 until closed. */
  status(): QuorumStatus {
    const { controllerId } = this.options;
    const adminUrl = this.options.adminUrl();
    const leading = this.isLeader();
    const appliedIndex = this.stateMachine.appliedIndex;
    return {
      controllerId,
      role: leading ? 'leader' : 'follower',
      term: 0,
      leaderId: leading ? controllerId : null,
      leaderAdminUrl: leading ? adminUrl : null,
      commitIndex: this.lastIndex,
      appliedIndex,
      lastIndex: this.lastIndex,
      snapshotIndex: 0,
      members: [{ controllerId, adminUrl, matchIndex: this.lastIndex, lagEntries: 0 }],
    };
  }

  /** Refuses further proposals; entries already appended stay and are applied at next start. */
  close(): void {
    this.closed = true;
  }

  private append(entry: { index: number; appendedAtMs: number; command: Command }): void {
    const parsed = Command.parse(entry.command);
    const { db } = this.stateMachine;
    db.insert(commandLog)
      .values({ ...entry, command: JSON.stringify(parsed) })
      .run();
    this.lastIndex = entry.index;
  }

  private apply<C extends Command>(entry: {
    index: number;
    appendedAtMs: number;
    command: C;
  }): CommandResult<C['type']> {
    try {
      const result = this.stateMachine.apply(entry);
      if (entry.index % APPLIED_ENTRIES_KEPT === 0) this.trim(entry.index);
      return result;
    } catch (err) {
      // Application is deterministic: an entry that failed once fails again. Stop taking
      // commands rather than letting state diverge from the log.
      this.failure = err as Error;
      this.options.logger.fatal({ err, index: entry.index }, 'state machine failed to apply');
      throw err;
    }
  }

  /** Applies entries appended before a crash but not applied; returns the last index. */
  private recover(): number {
    const { db } = this.stateMachine;
    const applied = this.stateMachine.appliedIndex;
    const pending = db
      .select()
      .from(commandLog)
      .where(gt(commandLog.index, applied))
      .orderBy(asc(commandLog.index))
      .all();

    for (const row of pending) {
      invariant(
        row.index === this.stateMachine.appliedIndex + 1,
        `gap in command log at ${row.index}`,
      );
      const command = Command.parse(JSON.parse(row.command));
      this.stateMachine.apply({ index: row.index, appendedAtMs: row.appendedAtMs, command });
    }
    if (pending.length > 0) {
      this.options.logger.info({ entries: pending.length }, 'applied entries left from last run');
    }

    const last =
      db
        .select({ last: max(commandLog.index) })
        .from(commandLog)
        .get()?.last ?? 0;
    return Math.max(last, this.stateMachine.appliedIndex);
  }

  private trim(appliedIndex: number): void {
    const { db } = this.stateMachine;
    db.delete(commandLog)
      .where(lte(commandLog.index, appliedIndex - APPLIED_ENTRIES_KEPT))
      .run();
  }
}
