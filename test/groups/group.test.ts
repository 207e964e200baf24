// The classic group protocol as Kafka's coordinator runs it, checked on the pure state machine:
// join/sync/heartbeat/leave flows, rebalances as members come and go, session and rebalance
// timeouts, static membership, and JoinGroup's member id handshake (protocol case P2).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { GroupDriver, meta, REBALANCE_MS, SESSION_MS } from './group-harness.ts';

/** Two dynamic members through a full rebalance: a is the leader, b the follower. */
function stablePair(driver: GroupDriver) {
  const ta = driver.join({ clientId: 'a' });
  const a = driver.joined(ta).memberId;
  driver.sync(a, 1, [[a, 'A1']]);

  const tb = driver.join({ clientId: 'b' });
  expect(driver.heartbeat(a, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  const ta2 = driver.join({ memberId: a });
  const b = driver.joined(tb).memberId;
  expect(driver.joined(ta2).generationId).toBe(2);

  const sb = driver.sync(b, 2);
  const sa = driver.sync(a, 2, [
    [a, 'A2'],
    [b, 'B2'],
  ]);
  expect(driver.synced(sb).assignment.toString()).toBe('B2');
  expect(driver.synced(sa).assignment.toString()).toBe('A2');
  return { a, b };
}

describe('joining and syncing', () => {
  it('forms a generation: the leader gets every member, followers get none', () => {
    const driver = new GroupDriver();
    const ta = driver.join({ clientId: 'a', protocols: [{ name: 'range', metadata: meta('ma') }] });

    const first = driver.joined(ta);
    expect(first).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range' });
    expect(first.leader).toBe(first.memberId);
    expect(first.members).toEqual([
      { memberId: first.memberId, groupInstanceId: null, metadata: meta('ma') },
    ]);
    expect(driver.group.state).toBe('CompletingRebalance');

    const { a, b } = stablePair(new GroupDriver());
    expect([a, b]).toEqual(['a-1', 'b-2']);
  });

  it('holds JoinGroup answers until every known member has rejoined', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);

    const tc = driver.join({ clientId: 'c' });
    const ta = driver.join({ memberId: a });
    expect(driver.waiting(tc) && driver.waiting(ta)).toBe(true);

    const tb = driver.join({ memberId: b });
    const results = [ta, tb, tc].map((t) => driver.joined(t));
    expect(results.map((r) => r.generationId)).toEqual([3, 3, 3]);
    expect(results.map((r) => r.leader)).toEqual([a, a, a]);
    expect(results.map((r) => r.members.length)).toEqual([3, 0, 0]);
  });

  it('answers a follower SyncGroup only once the leader sent the assignment', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.leave(b);

    const ta = driver.join({ memberId: a });
    expect(driver.joined(ta).generationId).toBe(3);
    expect(driver.group.state).toBe('CompletingRebalance');
    const sa = driver.sync(a, 3, [[a, 'only-a']]);
    expect(driver.synced(sa).assignment.toString()).toBe('only-a');
    expect(driver.group.state).toBe('Stable');
  });

  it('chooses the protocol every member supports, by the members votes', () => {
    const driver = new GroupDriver();
    const both = [
      { name: 'range', metadata: meta('r') },
      { name: 'roundrobin', metadata: meta('rr') },
    ];
    const ta = driver.join({ clientId: 'a', protocols: both });
    const a = driver.joined(ta).memberId;

    driver.join({ clientId: 'b', protocols: [{ name: 'roundrobin', metadata: meta('rr') }] });
    const ta2 = driver.join({ memberId: a, protocols: both });
    expect(driver.joined(ta2).protocolName).toBe('roundrobin');
    expect(driver.joined(ta2).members.map((m) => m.metadata.toString())).toEqual(['rr', 'rr']);
  });

  it('refuses a member that shares no protocol or protocol type with the group', () => {
    const driver = new GroupDriver();
    driver.join({ clientId: 'a' });

    const other = driver.join({ protocols: [{ name: 'sticky', metadata: meta('s') }] });
    expect(driver.joined(other).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const connect = driver.join({ protocolType: 'connect' });
    expect(driver.joined(connect).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const none = new GroupDriver().join({ protocols: [] });
    expect(none).toBe(1);
  });

  it('refuses session timeouts outside the configured bounds', () => {
    const driver = new GroupDriver({ minSessionTimeoutMs: 6_000, maxSessionTimeoutMs: 60_000 });
    const low = driver.join({ sessionTimeoutMs: 5_999 });
    const high = driver.join({ sessionTimeoutMs: 60_001 });
    expect(driver.joined(low).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect(driver.joined(high).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  it('gives a follower rejoining unchanged the current generation without a rebalance', () => {
    const driver = new GroupDriver();
    const { b } = stablePair(driver);

    const tb = driver.join({ memberId: b, clientId: 'b' });
    expect(driver.joined(tb)).toMatchObject({ errorCode: 0, generationId: 2, members: [] });
    expect(driver.group.state).toBe('Stable');
  });

  it('waits for the initial delay so that members starting together form one generation', () => {
    const driver = new GroupDriver({ initialRebalanceDelayMs: 3_000 });
    const ta = driver.join({ clientId: 'a' });
    driver.advance(2_000);
    const tb = driver.join({ clientId: 'b' });
    driver.advance(2_999);
    expect(driver.waiting(ta) && driver.waiting(tb)).toBe(true);

    driver.advance(1);
    expect(driver.joined(ta).generationId).toBe(1);
    expect(driver.joined(ta).members).toHaveLength(2);
  });
});

describe('JoinGroup member ids by version (case P2)', () => {
  it('versions 1-3: an empty member id joins in one round trip', () => {
    const driver = new GroupDriver();
    const t = driver.join({ requireKnownMemberId: false });
    expect(driver.joined(t)).toMatchObject({ errorCode: 0, generationId: 1, memberId: 'c-1' });
  });

  it('version 4+: MEMBER_ID_REQUIRED carries an id, and the retry with it joins', () => {
    const driver = new GroupDriver();
    const first = driver.join({ requireKnownMemberId: true });
    expect(driver.joined(first)).toMatchObject({
      errorCode: ErrorCode.MEMBER_ID_REQUIRED,
      memberId: 'c-1',
      generationId: -1,
    });
    expect(driver.group.memberIds).toEqual([]);

    const retry = driver.join({ requireKnownMemberId: true, memberId: 'c-1' });
    expect(driver.joined(retry)).toMatchObject({ errorCode: 0, memberId: 'c-1', leader: 'c-1' });
  });

  it('a static member (instance id) never gets MEMBER_ID_REQUIRED', () => {
    const driver = new GroupDriver();
    const t = driver.join({ requireKnownMemberId: true, groupInstanceId: 'i1' });
    expect(driver.joined(t)).toMatchObject({ errorCode: 0, memberId: 'i1-1' });
  });

  it('an assigned id that is never used expires after the session timeout', () => {
    const driver = new GroupDriver();
    const first = driver.join({ requireKnownMemberId: true });
    const id = driver.joined(first).memberId;

    driver.advance(SESSION_MS);
    expect(driver.group.pendingMemberIds).toEqual([]);
    const late = driver.join({ requireKnownMemberId: true, memberId: id });
    expect(driver.joined(late).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a rebalance waits for an assigned id until it expires', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.join({ requireKnownMemberId: true, clientId: 'n' });

    driver.leave(b);
    const ta = driver.join({ memberId: a });
    driver.advance(SESSION_MS - 1);
    expect(driver.waiting(ta)).toBe(true);

    driver.advance(1);
    expect(driver.joined(ta)).toMatchObject({ errorCode: 0, generationId: 3 });
  });
});

describe('generations and members', () => {
  it('refuses an older generation and unknown members', () => {
    const driver = new GroupDriver();
    const { a } = stablePair(driver);

    expect(driver.heartbeat(a, 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(driver.heartbeat('ghost', 2)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(driver.heartbeat(a, 2)).toBe(ErrorCode.NONE);
    expect(driver.synced(driver.sync(a, 1)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(driver.synced(driver.sync('ghost', 2)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(driver.joined(driver.join({ memberId: 'ghost' })).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('answers REBALANCE_IN_PROGRESS to heartbeats and syncs while members rejoin', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.join({ clientId: 'c' });

    expect(driver.heartbeat(b, 2)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(driver.synced(driver.sync(a, 2)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('rebalances without a member that leaves', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);

    expect(driver.leave(b)).toBe(ErrorCode.NONE);
    expect(driver.group.state).toBe('PreparingRebalance');
    expect(driver.leave(b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    const ta = driver.join({ memberId: a });
    expect(driver.joined(ta)).toMatchObject({ generationId: 3, leader: a });
    expect(driver.joined(ta).members.map((m) => m.memberId)).toEqual([a]);
  });

  it('hands leadership on when the leader leaves', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);

    driver.leave(a);
    const tb = driver.join({ memberId: b });
    expect(driver.joined(tb)).toMatchObject({ leader: b, generationId: 3 });
  });

  it('becomes Empty, with a new generation, when the last member leaves', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.leave(a);
    driver.leave(b);

    expect(driver.group.state).toBe('Empty');
    expect(driver.group.generationId).toBe(3);
    expect(driver.group.isIdle()).toBe(true);
  });

  it('becomes Empty when the last member leaves while an assigned id is unused', () => {
    const driver = new GroupDriver();
    const t = driver.join({ groupInstanceId: 'i0' });
    driver.join({ requireKnownMemberId: true });

    driver.leave(driver.joined(t).memberId, 'i0');
    expect(driver.group.state).toBe('Empty');
    const retry = driver.join({ requireKnownMemberId: true, memberId: 'c-2' });
    expect(driver.joined(retry)).toMatchObject({ errorCode: 0, generationId: 3 });
  });

  it('drops a member whose session expires, and rebalances', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);

    driver.advance(SESSION_MS - 1);
    expect(driver.heartbeat(a, 2)).toBe(ErrorCode.NONE);
    driver.advance(1);
    expect(driver.group.memberIds).toEqual([a]);
    expect(driver.events).toContainEqual({
      kind: 'member-removed',
      memberId: b,
      reason: 'session-expired',
    });
    expect(driver.heartbeat(a, 2)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('drops members that do not rejoin within the rebalance timeout', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);

    driver.join({ clientId: 'c' });
    const ta = driver.join({ memberId: a });
    // b keeps heartbeating, but a heartbeat is not a rejoin.
    for (let elapsed = 0; elapsed < REBALANCE_MS - 1; elapsed += 5_000) {
      expect(driver.heartbeat(b, 2)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      driver.advance(Math.min(5_000, REBALANCE_MS - 1 - elapsed));
    }
    expect(driver.waiting(ta)).toBe(true);

    driver.advance(1);
    expect(driver.joined(ta).generationId).toBe(3);
    expect(driver.group.memberIds).not.toContain(b);
    expect(driver.heartbeat(b, 3)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('drops a leader that never sends its assignment, refusing the waiting followers', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.join({ memberId: a });
    driver.join({ memberId: b });

    const sb = driver.sync(b, 3);
    driver.advance(SESSION_MS);
    expect(driver.synced(sb).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(driver.group.memberIds).toEqual([b]);
  });

  it('answers a waiting JoinGroup of a removed member with UNKNOWN_MEMBER_ID', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    driver.join({ clientId: 'c' });
    const ta = driver.join({ memberId: a });

    driver.leave(a);
    expect(driver.joined(ta).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(driver.group.memberIds).toContain(b);
  });
});

describe('static membership', () => {
  function stableStatic(driver: GroupDriver) {
    const t1 = driver.join({ groupInstanceId: 'i1', clientId: 'x' });
    const m1 = driver.joined(t1).memberId;
    driver.sync(m1, 1, [[m1, 'A']]);
    return m1;
  }

  it('a restarted static member keeps its assignment without a rebalance', () => {
    const driver = new GroupDriver();
    const old = stableStatic(driver);

    const t = driver.join({ groupInstanceId: 'i1' });
    const rejoined = driver.joined(t);
    expect(rejoined).toMatchObject({ errorCode: 0, generationId: 1, leader: rejoined.memberId });
    expect(rejoined.memberId).not.toBe(old);
    expect(rejoined.skipAssignment).toBe(true);
    expect(driver.group.state).toBe('Stable');
    expect(driver.group.assignmentOf(rejoined.memberId)!.toString()).toBe('A');

    const s = driver.sync(rejoined.memberId, 1);
    expect(driver.synced(s).assignment.toString()).toBe('A');
  });

  it('fences the previous member id of the instance', () => {
    const driver = new GroupDriver();
    const old = stableStatic(driver);
    driver.join({ groupInstanceId: 'i1' });

    expect(driver.heartbeat(old, 1, 'i1')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(
      driver.group.validateCommit({ memberId: old, generationId: 1, groupInstanceId: 'i1' }, 0),
    ).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const rejoin = driver.join({ memberId: old, groupInstanceId: 'i1' });
    expect(driver.joined(rejoin).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(driver.leave(old, 'i1')).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('rebalances when the restarted static member changed its protocols', () => {
    const driver = new GroupDriver();
    stableStatic(driver);

    const t = driver.join({
      groupInstanceId: 'i1',
      protocols: [{ name: 'range', metadata: meta('n') }],
    });
    expect(driver.joined(t)).toMatchObject({ errorCode: 0, generationId: 2 });
  });

  it('keeps a static member that misses a rebalance, until its session expires', () => {
    const driver = new GroupDriver();
    const m1 = stableStatic(driver);
    const t2 = driver.join({ groupInstanceId: 'i2' });
    for (let elapsed = 0; elapsed < REBALANCE_MS; elapsed += 5_000) {
      driver.heartbeat(m1, 1, 'i1');
      driver.advance(5_000);
    }

    // The member that rejoined leads, since only it receives the member list.
    const m2 = driver.joined(t2).memberId;
    expect(driver.joined(t2)).toMatchObject({ generationId: 2, leader: m2 });
    expect(driver.joined(t2).members.map((m) => m.memberId)).toEqual([m1, m2]);

    driver.sync(m2, 2, [[m2, 'B']]);
    expect(driver.group.memberIds).toEqual([m1, m2]);
    // i1 was last heard 5 s before the rebalance ended.
    driver.advance(SESSION_MS - 5_000);
    expect(driver.group.memberIds).toEqual([m2]);
  });

  it('a static member may be removed by instance id alone', () => {
    const driver = new GroupDriver();
    stableStatic(driver);

    expect(driver.leave('', 'i1')).toBe(ErrorCode.NONE);
    expect(driver.group.state).toBe('Empty');
    expect(driver.leave('', 'i1')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('offset commit checks', () => {
  it('allows simple commits (no generation) only while the group has no members', () => {
    const driver = new GroupDriver();
    const simple = { memberId: '', groupInstanceId: null, generationId: -1 };
    expect(driver.group.validateCommit(simple, 0)).toBe(ErrorCode.NONE);

    const { a } = stablePair(driver);
    expect(driver.group.validateCommit(simple, 0)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const member = { memberId: a, groupInstanceId: null };
    expect(driver.group.validateCommit({ ...member, generationId: 2 }, 0)).toBe(ErrorCode.NONE);
    expect(driver.group.validateCommit({ ...member, generationId: 1 }, 0)).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
  });

  it('refuses commits between a generation forming and its assignment', () => {
    const driver = new GroupDriver();
    const ta = driver.join({});
    const a = driver.joined(ta).memberId;
    const claim = { memberId: a, groupInstanceId: null, generationId: 1 };

    expect(driver.group.validateCommit(claim, 0)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    driver.sync(a, 1, [[a, 'x']]);
    expect(driver.group.validateCommit(claim, 0)).toBe(ErrorCode.NONE);
  });
});

describe('unloading', () => {
  it('answers everything that waits, and refuses everything after', () => {
    const driver = new GroupDriver();
    const { a, b } = stablePair(driver);
    const tc = driver.join({ clientId: 'c' });
    const ta = driver.join({ memberId: a });

    driver.record(driver.group.unload(ErrorCode.NOT_COORDINATOR));
    expect(driver.joined(tc).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(driver.joined(ta).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(driver.group.state).toBe('Dead');
    expect(driver.heartbeat(b, 2)).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(driver.group.nextDeadlineMs()).toBeNull();
  });
});
