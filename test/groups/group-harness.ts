// A small driver for the pure group state machine: issues tokens, keeps the replies each token
// received, and builds requests with defaults so tests state only what matters to them.
import { expect } from 'vitest';
import {
  Group,
  type Effects,
  type GroupEvent,
  type GroupSettings,
  type JoinRequest,
  type JoinResult,
  type SyncResult,
} from '../../data-node/groups/group.ts';

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;

export function meta(text: string): Buffer {
  return Buffer.from(text);
}

export class GroupDriver {
  readonly group: Group;
  now = 0;
  private nextToken = 1;
  readonly joins = new Map<number, JoinResult>();
  readonly syncs = new Map<number, SyncResult>();
  readonly events: GroupEvent[] = [];

  constructor(settings: Partial<GroupSettings> = {}) {
    let minted = 0;
    this.group = new Group('g', {
      minSessionTimeoutMs: 1_000,
      maxSessionTimeoutMs: 300_000,
      initialRebalanceDelayMs: 0,
      connectionLossGraceMs: 0,
      newMemberId: (prefix) => `${prefix}-${++minted}`,
      ...settings,
    });
  }

  /** Sends a JoinGroup; returns its token (the answer may come later). */
  join(request: Partial<JoinRequest> = {}): number {
    const token = this.nextToken++;
    this.record(
      this.group.join(
        {
          token,
          connectionId: null,
          memberId: '',
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: SESSION_MS,
          rebalanceTimeoutMs: REBALANCE_MS,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: meta('m') }],
          requireKnownMemberId: false,
          reason: null,
          ...request,
        },
        this.now,
      ),
    );
    return token;
  }

  sync(
    memberId: string,
    generationId: number,
    assignments: [string, string][] = [],
    connectionId: number | null = null,
  ): number {
    const token = this.nextToken++;
    const effects = this.group.sync(
      {
        token,
        connectionId,
        memberId,
        groupInstanceId: null,
        generationId,
        protocolType: null,
        protocolName: null,
        assignments: assignments.map(([id, a]) => ({ memberId: id, assignment: meta(a) })),
      },
      this.now,
    );
    this.record(effects);
    return token;
  }

  heartbeat(
    memberId: string,
    generationId: number,
    groupInstanceId: string | null = null,
    connectionId: number | null = null,
  ) {
    const claim = { memberId, generationId, groupInstanceId, connectionId };
    return this.group.heartbeat(claim, this.now);
  }

  /** The edge saw a connection close. */
  closeConnection(connectionId: number): void {
    this.record(this.group.connectionClosed(connectionId, this.now));
  }

  leave(memberId: string, groupInstanceId: string | null = null) {
    const { results, effects } = this.group.leave(
      [{ memberId, groupInstanceId, reason: null }],
      this.now,
    );
    this.record(effects);
    return results[0].errorCode;
  }

  /** Moves time forward, applying every deadline on the way, as the edge's timers would. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const at = this.group.nextDeadlineMs();
      if (at === null || at > target) break;
      this.now = Math.max(this.now, at);
      this.record(this.group.tick(this.now));

      // A deadline left at or before now would make the edge's timer spin.
      const next = this.group.nextDeadlineMs();
      expect(next === null || next > this.now, `deadline ${next} left at ${this.now}`).toBe(true);
    }
    this.now = target;
  }

  /** The answer a JoinGroup got; fails the test if it is still waiting. */
  joined(token: number): JoinResult {
    const result = this.joins.get(token);
    expect(result, `join ${token} is still waiting`).toBeDefined();
    return result!;
  }

  synced(token: number): SyncResult {
    const result = this.syncs.get(token);
    expect(result, `sync ${token} is still waiting`).toBeDefined();
    return result!;
  }

  waiting(token: number): boolean {
    return !this.joins.has(token) && !this.syncs.has(token);
  }

  /** A dynamic member joining in one round trip (JoinGroup v1-3); returns its member id. */
  joinNew(request: Partial<JoinRequest> = {}): { token: number; memberId: () => string } {
    const token = this.join(request);
    return { token, memberId: () => this.joined(token).memberId };
  }

  record(effects: Effects): void {
    for (const reply of effects.replies) {
      const seen = reply.kind === 'join' ? this.joins : this.syncs;
      expect(seen.has(reply.token), `token ${reply.token} answered twice`).toBe(false);
      if (reply.kind === 'join') this.joins.set(reply.token, reply.result);
      else this.syncs.set(reply.token, reply.result);
    }
    this.events.push(...effects.events);
  }
}
