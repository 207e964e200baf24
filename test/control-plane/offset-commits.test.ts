// Offset commits are batched: while one command is being committed, later commits queue and go
// together in the next command, in arrival order, and each caller gets its own results.
import { describe, expect, it } from 'vitest';
import type { CommandLog } from '../../control-plane/command-log.ts';
import type { Command, CommandResult, GroupCommit } from '../../control-plane/commands.ts';
import { OffsetCommitBatcher } from '../../control-plane/offset-commits.ts';

/** A command log whose proposals complete when the test says so. */
class HeldLog implements CommandLog {
  readonly proposed: Command[] = [];
  private readonly pending: (() => void)[] = [];
  private onPropose: () => void = () => {};

  propose<C extends Command>(command: C): Promise<CommandResult<C['type']>> {
    this.proposed.push(command);
    this.onPropose();
    return new Promise((resolve) => {
      this.pending.push(() => {
        const commits = command.type === 'commitOffsets' ? command.commits : [];
        const errorCodes = commits.map((c) => c.offsets.map(() => 0));
        const value = { errorCodes, refusals: commits.map(() => null) };
        resolve({ ok: true, index: this.proposed.length, metadataVersion: 0, value } as never);
      });
    });
  }

  /** Completes the oldest proposal still held. */
  release(): void {
    this.pending.shift()!();
  }

  /** Resolves once `count` proposals have been made. */
  proposals(count: number): Promise<void> {
    if (this.proposed.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.onPropose = () => {
        if (this.proposed.length >= count) resolve();
      };
    });
  }

  async readBarrier(): Promise<void> {}
  isLeader(): boolean {
    return true;
  }
  leaderHint() {
    return null;
  }
}

function commit(groupId: string, partitions: number[]): GroupCommit {
  return {
    groupId,
    coordinator: null,
    offsets: partitions.map((partition) => ({
      topic: 't',
      partition,
      offset: '1',
      leaderEpoch: -1,
      metadata: '',
    })),
  };
}

describe('OffsetCommitBatcher', () => {
  it('sends the first commit alone and the ones arriving meanwhile together, in order', async () => {
    const log = new HeldLog();
    const batcher = new OffsetCommitBatcher(log);

    const first = batcher.commit(commit('a', [0]));
    const second = batcher.commit(commit('b', [0, 1]));
    const third = batcher.commit(commit('c', [2]));
    log.release();
    await first;
    await log.proposals(2);
    log.release();

    expect(await second).toEqual({ errorCodes: [0, 0], refusal: null });
    expect(await third).toEqual({ errorCodes: [0], refusal: null });
    expect(
      log.proposed.map((c) => c.type === 'commitOffsets' && c.commits.map((g) => g.groupId)),
    ).toEqual([['a'], ['b', 'c']]);
  });
});
