// Follows the controller's committed cluster metadata by long polling, keeping the data node's
// current view (a ClusterSnapshot with a version). Each new view is handed to `onUpdate` before the
// next poll, so the replica manager applies versions one at a time and in order. The view never
// moves backwards: an answer older than what we hold (a lagging controller) is ignored.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyMetadataChanges,
  type ClusterSnapshot,
  type MetadataResponse,
} from '../shared/cluster-metadata.ts';
import { invariant } from '../shared/assert.ts';
import type { Logger } from '../shared/logger.ts';
import type { ControllerClient } from './controller-client.ts';

export interface MetadataFollowerOptions {
  /** How long one long poll may wait at the controller for a change. */
  pollWaitMs: number;
  /** Pause after a failed poll before trying again. */
  retryBackoffMs: number;
}

export const EMPTY_SNAPSHOT: ClusterSnapshot = {
  clusterId: '',
  version: 0,
  dataNodes: [],
  topics: [],
};

type ViewWaiter = {
  until: (view: ClusterSnapshot) => boolean;
  resolve: (reached: boolean) => void;
};

export class MetadataFollower {
  private view: ClusterSnapshot = EMPTY_SNAPSHOT;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private waiters: ViewWaiter[] = [];

  constructor(
    private readonly client: ControllerClient,
    private readonly logger: Logger,
    private readonly options: MetadataFollowerOptions,
    private readonly onUpdate: (view: ClusterSnapshot) => Promise<void>,
  ) {}

  /** The current view; version 0 until the first answer. */
  current(): ClusterSnapshot {
    return this.view;
  }

  /** Resolves once the first view has been received and applied. */
  async start(): Promise<void> {
    invariant(this.loop === null, 'metadata follower started twice');
    await this.pollUntilFirstView();
    this.loop = this.pollForever();
  }

  /** Resolves true once a view satisfies `until`, false after `timeoutMs` or at stop. */
  waitUntil(until: (view: ClusterSnapshot) => boolean, timeoutMs: number): Promise<boolean> {
    if (until(this.view)) return Promise.resolve(true);

    return new Promise((resolve) => {
      const waiter: ViewWaiter = { until, resolve };
      const timer = setTimeout(() => this.release(waiter, false), timeoutMs);
      waiter.resolve = (reached) => {
        clearTimeout(timer);
        resolve(reached);
      };
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    for (const waiter of [...this.waiters]) this.release(waiter, false);
  }

  private async pollUntilFirstView(): Promise<void> {
    while (this.view.version === 0 && !this.abort.signal.aborted) {
      await this.pollOnce(this.options.pollWaitMs);
    }
  }

  private async pollForever(): Promise<void> {
    while (!this.abort.signal.aborted) await this.pollOnce(this.options.pollWaitMs);
  }

  private async pollOnce(waitMs: number): Promise<void> {
    let answer: MetadataResponse;
    try {
      answer = await this.client.metadata(this.view.version, waitMs, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.logger.warn({ err: String(err), version: this.view.version }, 'metadata poll failed');
      await sleep(this.options.retryBackoffMs, undefined, { signal: this.abort.signal }).catch(
        () => undefined,
      );
      return;
    }

    const next = nextView(this.view, answer);
    if (next === this.view || this.abort.signal.aborted) return;

    // The view becomes current only once applied, so whoever waits for a topic to appear also
    // finds its partitions open.
    try {
      await this.onUpdate(next);
    } catch (err) {
      // The next view is applied in full again, so a failure here heals with the next change.
      this.logger.error({ err, version: next.version }, 'applying metadata view failed');
    }
    this.view = next;
    this.logger.debug({ version: next.version }, 'metadata view advanced');
    for (const waiter of this.waiters.filter((w) => w.until(next))) {
      this.release(waiter, true);
    }
  }

  private release(waiter: ViewWaiter, reached: boolean): void {
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter.resolve(reached);
  }
}

/** The view after an answer: a newer snapshot replaces it, changes are applied in order. */
export function nextView(view: ClusterSnapshot, answer: MetadataResponse): ClusterSnapshot {
  if (answer.snapshot !== undefined) {
    return answer.snapshot.version > view.version ? answer.snapshot : view;
  }

  const changes = answer.changes ?? [];
  if (changes.length === 0) return view;

  const next = applyMetadataChanges(view, changes);
  return next.version > view.version ? next : view;
}
