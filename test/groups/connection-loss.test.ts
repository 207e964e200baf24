// A member whose connection to the coordinator closes, checked on the pure state machine: a
// client process that dies has its sockets closed by its kernel, so a dynamic member is removed a
// short grace after the close instead of after its whole session timeout, unless it is heard from
// on another connection meanwhile. Static members keep their session timeout.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { GroupDriver, meta, SESSION_MS } from './group-harness.ts';

const GRACE_MS = 1_000;

/** Two members through a full rebalance: a (the leader) on connection 1, b on connection 2. */
function stablePair(driver: GroupDriver, b: { groupInstanceId?: string } = {}) {
  const ta = driver.join({ clientId: 'a', connectionId: 1 });
  const a = driver.joined(ta).memberId;
  driver.sync(a, 1, [[a, 'A1']], 1);

  const tb = driver.join({
    clientId: 'b',
    connectionId: 2,
    groupInstanceId: b.groupInstanceId ?? null,
  });
  const ta2 = driver.join({ memberId: a, connectionId: 1 });
  const memberB = driver.joined(tb).memberId;
  expect(driver.joined(ta2).generationId).toBe(2);

  driver.sync(memberB, 2, [], 2);
  driver.sync(
    a,
    2,
    [
      [a, 'A2'],
      [memberB, 'B2'],
    ],
    1,
  );
  expect(driver.group.state).toBe('Stable');
  return { a, b: memberB };
}

function withGrace(graceMs = GRACE_MS): GroupDriver {
  return new GroupDriver({ connectionLossGraceMs: graceMs });
}

function removals(driver: GroupDriver) {
  return driver.events.filter((e) => e.kind === 'member-removed');
}

describe('a member whose connection closed', () => {
  it('is removed after the grace when it is never heard from again, and the group rebalances', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    driver.advance(300);
    driver.closeConnection(2);
    driver.advance(GRACE_MS - 1);
    expect(driver.group.memberIds).toEqual([a, b]);
    expect(driver.group.state).toBe('Stable');

    driver.advance(1);
    expect(driver.group.memberIds).toEqual([a]);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'connection-lost' },
    ]);
    expect(driver.heartbeat(a, 2, null, 1)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);

    const ta = driver.join({ memberId: a, connectionId: 1 });
    expect(driver.joined(ta)).toMatchObject({ generationId: 3, leader: a });
    expect(driver.joined(ta).members.map((m) => m.memberId)).toEqual([a]);
  });

  it('stays when it comes back on a new connection within the grace: no rebalance', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    driver.closeConnection(2);
    driver.advance(GRACE_MS / 2);
    expect(driver.heartbeat(b, 2, null, 3)).toBe(ErrorCode.NONE);
    driver.advance(GRACE_MS * 2);

    expect(driver.group.memberIds).toEqual([a, b]);
    expect(driver.group.state).toBe('Stable');
    expect(driver.group.generationId).toBe(2);
    expect(removals(driver)).toEqual([]);
  });

  it('keeps its normal session timeout once heard from on a new connection', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    driver.closeConnection(2);
    driver.heartbeat(b, 2, null, 3);
    driver.advance(SESSION_MS - 1);
    driver.heartbeat(a, 2, null, 1);
    expect(driver.group.memberIds).toEqual([a, b]);

    driver.advance(1);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'session-expired' },
    ]);
  });

  it('is not helped by a request handled after the close of the connection it came on', () => {
    const driver = withGrace();
    const { b } = stablePair(driver);

    driver.closeConnection(2);
    expect(driver.heartbeat(b, 2, null, 2)).toBe(ErrorCode.NONE);
    driver.advance(GRACE_MS);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'connection-lost' },
    ]);
  });

  it('does not affect members on other connections', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    driver.closeConnection(7);
    driver.advance(GRACE_MS * 2);
    expect(driver.group.memberIds).toEqual([a, b]);
    expect(driver.group.state).toBe('Stable');
  });

  it('waits for the whole session timeout when the grace is 0 (turned off)', () => {
    const driver = withGrace(0);
    const { a, b } = stablePair(driver);

    driver.closeConnection(2);
    driver.advance(SESSION_MS - 1);
    driver.heartbeat(a, 2, null, 1);
    expect(driver.group.memberIds).toEqual([a, b]);

    driver.advance(1);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'session-expired' },
    ]);
  });
});

describe('a static member whose connection closed', () => {
  it('keeps its whole session timeout: its restart comes back under the same instance id', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver, { groupInstanceId: 'ib' });

    driver.closeConnection(2);
    driver.advance(SESSION_MS - 1);
    driver.heartbeat(a, 2, null, 1);
    expect(driver.group.memberIds).toEqual([a, b]);
    expect(driver.group.state).toBe('Stable');

    driver.advance(1);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'session-expired' },
    ]);
  });
});

describe('a request waiting on a closed connection', () => {
  it('does not bring a member that is gone into the next generation', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    // c joins and waits for a and b to rejoin; then its process dies.
    const tc = driver.join({ clientId: 'c', connectionId: 3 });
    driver.closeConnection(3);
    driver.advance(GRACE_MS);
    expect(driver.joined(tc).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    const ta = driver.join({ memberId: a, connectionId: 1 });
    const tb = driver.join({ memberId: b, connectionId: 2 });
    expect(driver.joined(ta).generationId).toBe(3);
    expect(driver.joined(ta).members.map((m) => m.memberId)).toEqual([a, b]);
    expect(driver.joined(tb).generationId).toBe(3);
  });

  it('keeps the member that rejoins on a new connection within the grace', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    const tc = driver.join({ clientId: 'c', connectionId: 3 });
    const c = driver.group.memberIds[2];
    driver.closeConnection(3);
    const tc2 = driver.join({ memberId: c, connectionId: 4 });
    expect(driver.joined(tc).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    driver.advance(GRACE_MS * 2);

    const ta = driver.join({ memberId: a, connectionId: 1 });
    driver.join({ memberId: b, connectionId: 2 });
    expect(driver.joined(ta).members.map((m) => m.memberId)).toEqual([a, b, c]);
    expect(driver.joined(tc2).generationId).toBe(3);
  });

  it('removes a member waiting for its assignment once the grace passes', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    const ta = driver.join({ memberId: a, connectionId: 1 });
    const tb = driver.join({ memberId: b, connectionId: 2 });
    expect(driver.joined(tb).generationId).toBe(3);
    const sb = driver.sync(b, 3, [], 2);
    driver.closeConnection(2);

    // The leader's assignment answers b's SyncGroup, but b is gone all the same.
    driver.sync(driver.joined(ta).memberId, 3, [[a, 'A3']], 1);
    expect(driver.synced(sb).errorCode).toBe(ErrorCode.NONE);
    driver.advance(GRACE_MS);
    expect(removals(driver)).toEqual([
      { kind: 'member-removed', memberId: b, reason: 'connection-lost' },
    ]);
    expect(driver.group.state).toBe('PreparingRebalance');
  });

  it('lets a member id handed out on it lapse after the grace, so no rebalance waits for it', () => {
    const driver = withGrace();
    const { a, b } = stablePair(driver);

    const first = driver.join({ requireKnownMemberId: true, clientId: 'n', connectionId: 5 });
    expect(driver.joined(first).errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const ta = driver.join({ memberId: a, connectionId: 1 });
    driver.join({ memberId: b, connectionId: 2 });
    expect(driver.waiting(ta)).toBe(true);

    driver.closeConnection(5);
    driver.advance(GRACE_MS);
    expect(driver.group.pendingMemberIds).toEqual([]);
    expect(driver.joined(ta).generationId).toBe(3);
  });
});

describe('subscribed topics', () => {
  const subscription = (topics: string[]) => {
    const names = topics.flatMap((t) => [Buffer.from([0, t.length]), Buffer.from(t)]);
    const count = Buffer.alloc(4);
    count.writeInt32BE(topics.length);
    return Buffer.concat([Buffer.from([0, 1]), count, ...names, Buffer.alloc(4)]);
  };

  it('are read from every member in any state, not only when stable', () => {
    const driver = new GroupDriver({ initialRebalanceDelayMs: 3_000 });
    driver.join({ protocols: [{ name: 'range', metadata: subscription(['x', 'y']) }] });
    driver.join({
      protocols: [
        { name: 'range', metadata: subscription(['z']) },
        { name: 'roundrobin', metadata: subscription(['w']) },
      ],
    });

    expect(driver.group.state).toBe('PreparingRebalance');
    expect(driver.group.subscribedTopics()).toEqual(new Set(['x', 'y', 'z', 'w']));
  });

  it('cannot be told when a member metadata does not parse, or the group is not of consumers', () => {
    const garbled = new GroupDriver();
    garbled.join({ protocols: [{ name: 'range', metadata: meta('?') }] });
    expect(garbled.group.subscribedTopics()).toBeNull();

    const connect = new GroupDriver();
    connect.join({ protocolType: 'connect', protocols: [{ name: 'd', metadata: meta('') }] });
    expect(connect.group.subscribedTopics()).toBeNull();

    expect(new GroupDriver().group.subscribedTopics()).toEqual(new Set());
  });
});
