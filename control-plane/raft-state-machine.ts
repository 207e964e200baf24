// The controller's StateMachine as Raft's driver sees it (the RaftStateMachine port): committed
// entries arrive in index order; a command entry is decoded and applied, a no-op or membership
// entry only advances the applied index, so that the applied index stays contiguous with the Raft
// log. Snapshots are SQLite images of the whole state. It also lets callers wait until a given
// index is applied here, which followers need to serve reads and forwarded writes.
import { invariant } from '../shared/assert.ts';
import { Command, type CommandResult } from './commands.ts';
import type { RaftStateMachine } from './raft/node.ts';
import type { Entry, Snapshot } from './raft/types.ts';
import type { StateMachine } from './state-machine.ts';

/** What a command entry of the Raft log holds. */
export interface CommandEntry {
  /** The proposer's wall clock when it proposed: the `now` the command is applied with. */
  appendedAtMs: number;
  command: Command;
}

export function encodeCommandEntry(entry: CommandEntry): Uint8Array {
  return Buffer.from(JSON.stringify(entry));
}

export function decodeCommandEntry(data: Uint8Array): CommandEntry {
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as CommandEntry;
  invariant(Number.isSafeInteger(parsed.appendedAtMs), 'command entry without a clock reading');
  return { appendedAtMs: parsed.appendedAtMs, command: Command.parse(parsed.command) };
}

interface AppliedWaiter {
  index: number;
  done: (reached: boolean) => void;
}

export class ControllerRaftMachine implements RaftStateMachine {
  private waiters: AppliedWaiter[] = [];

  constructor(private readonly stateMachine: StateMachine) {}

  appliedIndex(): number {
    return this.stateMachine.appliedIndex;
  }

  apply(entry: Entry): CommandResult | undefined {
    if (entry.kind !== 'command') {
      this.stateMachine.advanceOver(entry.index);
      this.wake();
      return undefined;
    }

    const { appendedAtMs, command } = decodeCommandEntry(entry.data);
    const result = this.stateMachine.apply({ index: entry.index, appendedAtMs, command });
    this.wake();
    return result;
  }

  snapshot(): Uint8Array {
    return this.stateMachine.snapshot();
  }

  restore(snapshot: Snapshot): void {
    this.stateMachine.restore(snapshot.data);

    const applied = this.stateMachine.appliedIndex;
    invariant(
      applied === snapshot.meta.index,
      `snapshot at ${snapshot.meta.index} holds ${applied}`,
    );
    this.wake();
  }

  /** Resolves true once `index` is applied here, false if `timeoutMs` passes first. */
  waitForApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedIndex() >= index) return Promise.resolve(true);

    return new Promise((resolve) => {
      const waiter: AppliedWaiter = {
        index,
        done: (reached) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;

    const applied = this.appliedIndex();
    for (const waiter of this.waiters.filter((w) => w.index <= applied)) waiter.done(true);
  }
}
