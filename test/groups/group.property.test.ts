// Random schedules of joins, syncs, heartbeats, leaves, connection closes and passing time against
// the group state
// machine, checking after every step what must always hold: no request answered twice, a request
// waits only in the state that will answer it, generations never go back, the leader is a member,
// no deadline is left behind by tick(), and unloading answers every request still waiting.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupDriver, meta } from './group-harness.ts';

type Step =
  | {
      kind: 'join-new';
      client: number;
      instance: number | null;
      v4: boolean;
      proto: number;
      conn: number;
    }
  | { kind: 'join-known'; who: number; proto: number; conn: number }
  | { kind: 'sync'; who: number; stale: boolean; conn: number }
  | { kind: 'heartbeat'; who: number; conn: number }
  | { kind: 'leave'; who: number }
  | { kind: 'close'; conn: number }
  | { kind: 'advance'; ms: number };

/** Requests come on one of a few connections, any of which may close. */
const conn = fc.nat(3);

const PROTOCOLS = [
  [{ name: 'range', metadata: meta('r') }],
  [
    { name: 'roundrobin', metadata: meta('rr') },
    { name: 'range', metadata: meta('r') },
  ],
];

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('join-new' as const),
    client: fc.nat(3),
    instance: fc.option(fc.nat(2), { nil: null }),
    v4: fc.boolean(),
    proto: fc.nat(1),
    conn,
  }),
  fc.record({
    kind: fc.constant('join-known' as const),
    who: fc.nat(20),
    proto: fc.nat(1),
    conn,
  }),
  fc.record({ kind: fc.constant('sync' as const), who: fc.nat(20), stale: fc.boolean(), conn }),
  fc.record({ kind: fc.constant('heartbeat' as const), who: fc.nat(20), conn }),
  fc.record({ kind: fc.constant('leave' as const), who: fc.nat(20) }),
  fc.record({ kind: fc.constant('close' as const), conn }),
  fc.record({
    kind: fc.constant('advance' as const),
    ms: fc.constantFrom(0, 500, 3_000, 6_000, 10_000, 31_000),
  }),
);

function run(driver: GroupDriver, steps: Step[]): void {
  const known: string[] = [];
  const issued: { token: number; kind: 'join' | 'sync' }[] = [];
  const pick = (who: number) => (known.length === 0 ? 'nobody' : known[who % known.length]);
  let lastGeneration = 0;

  for (const s of steps) {
    if (s.kind === 'join-new') {
      const token = driver.join({
        clientId: `c${s.client}`,
        groupInstanceId: s.instance === null ? null : `i${s.instance}`,
        requireKnownMemberId: s.v4,
        protocols: PROTOCOLS[s.proto],
        sessionTimeoutMs: 6_000 + s.client * 1_000,
        connectionId: s.conn,
      });
      issued.push({ token, kind: 'join' });
    } else if (s.kind === 'join-known') {
      const token = driver.join({
        memberId: pick(s.who),
        protocols: PROTOCOLS[s.proto],
        connectionId: s.conn,
      });
      issued.push({ token, kind: 'join' });
    } else if (s.kind === 'sync') {
      const generation = driver.group.generationId - (s.stale ? 1 : 0);
      const memberId = pick(s.who);
      const token = driver.sync(memberId, generation, [[memberId, 'x']], s.conn);
      issued.push({ token, kind: 'sync' });
    } else if (s.kind === 'heartbeat') {
      driver.heartbeat(pick(s.who), driver.group.generationId, null, s.conn);
    } else if (s.kind === 'leave') {
      driver.leave(pick(s.who));
    } else if (s.kind === 'close') {
      driver.closeConnection(s.conn);
    } else {
      driver.advance(s.ms);
    }

    for (const result of driver.joins.values()) {
      if (result.memberId !== '' && !known.includes(result.memberId)) known.push(result.memberId);
    }
    const { group } = driver;
    expect(group.generationId).toBeGreaterThanOrEqual(lastGeneration);
    lastGeneration = group.generationId;
    expect(group.memberIds.length === 0).toBe(group.state === 'Empty' || group.state === 'Dead');
    if (group.memberIds.length > 0) expect(group.memberIds).toContain(group.leader);

    for (const { token, kind } of issued) {
      if (!driver.waiting(token)) continue;
      expect(kind === 'join' ? 'PreparingRebalance' : 'CompletingRebalance').toBe(group.state);
    }
  }

  driver.record(driver.group.unload(16));
  for (const { token } of issued) expect(driver.waiting(token), `token ${token}`).toBe(false);
}

describe('group state machine under random schedules', () => {
  it('keeps its invariants', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), (steps, delayed) => {
        const driver = new GroupDriver({
          initialRebalanceDelayMs: delayed ? 3_000 : 0,
          connectionLossGraceMs: 1_000,
        });
        run(driver, steps);
      }),
      { numRuns: 1000 },
    );
  });
});
