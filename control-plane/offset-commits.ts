// Offset commits from group coordinators, batched: while one commitOffsets command is being
// committed, commits that arrive wait and then go together in the next command. Under load this
// turns many small log entries (and fsyncs, and with Raft round trips) into few; when idle, a
// commit goes alone at once and waits for nothing. Order is kept: a later commit of the same
// partition is applied after an earlier one. A command is also bounded in bytes: it travels whole
// in a Raft entry and, from a follower, in a forwarded HTTP request.
//
// Arrival order is all this batcher sees: two commits of a group that reach different controllers,
// or one that a follower forwards slowly, may enter the log in either order. The state machine
// puts them back in the order they were sent by their sequence (apply/offsets.ts).
import type { CommandLog } from './command-log.ts';
import { unwrap, type GroupCommit } from './commands.ts';

/** Group commits in one command at most. */
export const COMMITS_PER_COMMAND_MAX = 500;

/**
 * JSON bytes of the commits of one command at most, unless a single commit alone is larger. Well
 * under the controller's HTTP body limit, which a command forwarded by a follower must pass.
 */
export const COMMAND_BYTES_MAX = 1024 * 1024;

/** What became of one group's commit. */
export interface CommitAnswer {
  /** One Kafka error code per offset of the commit (NONE when stored). */
  errorCodes: number[];
  /** Why the commit was refused as a whole (stale coordinator, late sequence), or null. */
  refusal: string | null;
}

interface Pending {
  commit: GroupCommit;
  /** The commit's size in the command's JSON. */
  bytes: number;
  resolve: (answer: CommitAnswer) => void;
  reject: (err: unknown) => void;
}

export class OffsetCommitBatcher {
  private queue: Pending[] = [];
  private inFlight = false;

  constructor(private readonly log: CommandLog) {}

  /** Resolves once the commit is applied, with what became of each of its offsets. */
  commit(commit: GroupCommit): Promise<CommitAnswer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ commit, bytes: commitBytes(commit), resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;

    const batch = this.queue.splice(0, batchLength(this.queue));
    this.inFlight = true;
    this.propose(batch).finally(() => {
      this.inFlight = false;
      this.flush();
    });
  }

  private async propose(batch: Pending[]): Promise<void> {
    try {
      const commits = batch.map((p) => p.commit);
      const applied = unwrap(await this.log.propose({ type: 'commitOffsets', commits }));
      batch.forEach((p, i) => {
        p.resolve({ errorCodes: applied.errorCodes[i], refusal: applied.refusals[i] ?? null });
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}

/** How many queued commits go in the next command: at least one, then within both bounds. */
function batchLength(queue: readonly Pending[]): number {
  let bytes = 0;
  let count = 0;
  for (const pending of queue) {
    bytes += pending.bytes;
    if (count > 0 && (bytes > COMMAND_BYTES_MAX || count === COMMITS_PER_COMMAND_MAX)) break;
    count++;
  }
  return count;
}

/** A commit's size in the command's JSON. */
export function commitBytes(commit: GroupCommit): number {
  return Buffer.byteLength(JSON.stringify(commit), 'utf8');
}
