// What data nodes follow: the committed metadata as changes after a version, or a whole snapshot
// when they have nothing yet (version 0) or are further behind than the changes kept. The long
// poll parks a request until the metadata version passes the one the data node holds, or its
// wait runs out; waiters wake when the state machine applies a command.
import type { MetadataResponse } from '../shared/cluster-metadata.ts';
import type { StateDb } from './db/database.ts';
import { readChangesAfter, readMeta, readOldestChangeVersion, readSnapshot } from './db/queries.ts';

/** Changes in one answer; a data node further behind gets the rest in its next poll. */
export const CHANGES_PER_ANSWER_MAX = 1000;
/** Longest wait one long poll may ask for. */
export const METADATA_WAIT_MS_MAX = 60_000;

interface Waiter {
  since: number;
  answer: (response: MetadataResponse) => void;
}

export class MetadataFeed {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly db: StateDb) {}

  /**
   * The answer for a data node at `since`, or null when nothing is newer. Known shortcoming: a
   * data node ahead of this controller (whose database was replaced) is not told to start over;
   * it waits for versions it already has.
   */
  read(since: number): MetadataResponse | null {
    const version = readMeta(this.db, 'metadataVersion');
    if (version <= since || version === 0) return null;

    const oldest = readOldestChangeVersion(this.db);
    if (since === 0 || oldest === null || since < oldest - 1) {
      const snapshot = readSnapshot(this.db);
      return { version: snapshot.version, snapshot };
    }

    const changes = readChangesAfter(this.db, since, CHANGES_PER_ANSWER_MAX);
    return { version: changes.at(-1)?.version ?? version, changes };
  }

  /**
   * Answers at once when something is newer than `since`, else when something becomes newer, or
   * after `waitMs` (capped) with no changes, or when `signal` aborts (the client went away).
   */
  wait(since: number, waitMs: number, signal?: AbortSignal): Promise<MetadataResponse> {
    const now = this.read(since);
    if (now !== null || waitMs <= 0) return Promise.resolve(now ?? this.nothingNew());

    return new Promise((resolve) => {
      const finish = (response: MetadataResponse) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        resolve(response);
      };
      const onAbort = () => finish(this.nothingNew());
      const waiter: Waiter = { since, answer: finish };
      const timer = setTimeout(onAbort, Math.min(waitMs, METADATA_WAIT_MS_MAX));

      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Called after each applied command: answers the waiters that now have something. */
  notify(): void {
    for (const waiter of [...this.waiters]) {
      const response = this.read(waiter.since);
      if (response !== null) waiter.answer(response);
    }
  }

  /** Answers every waiter with no changes, so that their connections can close. */
  close(): void {
    for (const waiter of [...this.waiters]) waiter.answer(this.nothingNew());
  }

  private nothingNew(): MetadataResponse {
    return { version: readMeta(this.db, 'metadataVersion'), changes: [] };
  }
}
