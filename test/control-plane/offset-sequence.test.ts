// Late commits are refused by the controller's state machine: a coordinator numbers its commits of
// a group, and a commit older than the last one applied from the same coordinator incarnation
// (node id and broker epoch) is refused with REQUEST_TIMED_OUT, so the group's committed offset
// never moves back to it. A commit from another incarnation starts the numbering afresh.
// Deletions are numbered with the commits and refused the same way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLateCommit } from '../../control-plane/apply/offsets.ts';
import type { Command, CoordinatorRef } from '../../control-plane/commands.ts';
import { readDataNode, readDataNodes, readGroupOffsets } from '../../control-plane/db/queries.ts';
import { coordinatorFor } from '../../data-node/groups/placement.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { Applier, createTopic, register } from './helpers.ts';

function cluster(nodes: number[]): Applier {
  const applier = new Applier();
  applier.ok({ type: 'initCluster', clusterId: 'test-cluster' });
  for (const n of nodes) applier.ok(register(n));
  applier.ok(createTopic('t', 2, 1));
  return applier;
}

function coordinatorOf(applier: Applier, groupId: string): CoordinatorRef {
  const node = coordinatorFor(groupId, { dataNodes: readDataNodes(applier.db) })!;
  return { nodeId: node.nodeId, brokerEpoch: node.brokerEpoch };
}

interface Sent {
  coordinator: CoordinatorRef | null;
  sequence?: number;
  offset: number;
}

function commitCommand(groupId: string, ...sent: Sent[]): Command {
  const commits = sent.map(({ coordinator, sequence, offset }) => ({
    groupId,
    coordinator,
    sequence,
    offsets: [{ topic: 't', partition: 0, offset: String(offset), leaderEpoch: 0, metadata: '' }],
  }));
  return { type: 'commitOffsets', commits };
}

/** Applies one command of commits; per commit, its first offset's code and its refusal. */
function apply(applier: Applier, groupId: string, ...sent: Sent[]) {
  const result = applier.apply(commitCommand(groupId, ...sent));
  if (!result.ok || !('refusals' in result.value)) throw new Error('commit not applied');
  const { errorCodes, refusals } = result.value;
  return errorCodes.map((codes, i) => ({ code: codes[0], refusal: refusals[i] }));
}

function committed(applier: Applier, groupId: string): bigint | undefined {
  return readGroupOffsets(applier.db, groupId, null)[0]?.offset;
}

describe('numbered deletions', () => {
  const deletion = (coordinator: CoordinatorRef, sequence: number): Command => ({
    type: 'deleteGroupOffsets',
    groupId: 'g',
    topics: null,
    partitions: [{ topic: 't', partition: 0 }],
    coordinator,
    sequence,
  });

  it('refuses a deletion sent before a commit that was applied first: the commit stays', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 6, offset: 60 });

    const late = applier.apply(deletion(owner, 5));

    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.rejection.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(committed(applier, 'g')).toBe(60n);
  });

  it('refuses a commit sent before a deletion that was applied first: the offset stays gone', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 1, offset: 10 });
    applier.ok(deletion(owner, 3));

    const [late] = apply(applier, 'g', { coordinator: owner, sequence: 2, offset: 20 });

    expect(late.code).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(committed(applier, 'g')).toBeUndefined();
  });
});

describe('numbered commits of one coordinator', () => {
  it('refuses commit A that arrives after commit B, sent later: the offset stays at B', () => {
    const applier = cluster([1, 2, 3]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 1, offset: 10 });

    // A (sequence 2, offset 20) times out on its way; B (sequence 3, offset 30) is applied first.
    expect(apply(applier, 'g', { coordinator: owner, sequence: 3, offset: 30 })).toEqual([
      { code: ErrorCode.NONE, refusal: null },
    ]);
    const [late] = apply(applier, 'g', { coordinator: owner, sequence: 2, offset: 20 });

    expect(late.code).toBe(ErrorCode.REQUEST_TIMED_OUT);
    expect(late.refusal).toMatch(/commit 2 of g .* after its commit 3/);
    expect(committed(applier, 'g')).toBe(30n);
  });

  it('applies a retry of the commit applied last again, changing nothing', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 4, offset: 40 });

    const [retry] = apply(applier, 'g', { coordinator: owner, sequence: 4, offset: 40 });
    expect(retry).toEqual({ code: ErrorCode.NONE, refusal: null });
    expect(committed(applier, 'g')).toBe(40n);
  });

  it('puts commits of one command in order too', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');

    const codes = apply(
      applier,
      'g',
      { coordinator: owner, sequence: 6, offset: 60 },
      { coordinator: owner, sequence: 5, offset: 50 },
    );
    expect(codes.map((c) => c.code)).toEqual([ErrorCode.NONE, ErrorCode.REQUEST_TIMED_OUT]);
    expect(committed(applier, 'g')).toBe(60n);
  });

  it('keeps the numbering of each group apart', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 9, offset: 90 });

    expect(apply(applier, 'h', { coordinator: owner, sequence: 2, offset: 20 })[0].code).toBe(
      ErrorCode.NONE,
    );
    expect(committed(applier, 'h')).toBe(20n);
  });

  it('still refuses a late commit after the group offsets were deleted', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 3, offset: 30 });
    applier.ok({ type: 'deleteGroupOffsets', groupId: 'g', topics: null, coordinator: owner });

    expect(apply(applier, 'g', { coordinator: owner, sequence: 2, offset: 20 })[0].code).toBe(
      ErrorCode.REQUEST_TIMED_OUT,
    );
    expect(committed(applier, 'g')).toBeUndefined();
  });
});

describe('numbering starts afresh', () => {
  it('for the same node under a newer broker epoch', () => {
    const applier = cluster([1]);
    const before = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: before, sequence: 50, offset: 50 });

    applier.ok({ type: 'fenceDataNode', ...before });
    applier.ok(register(1, null, 'b'));
    const after = coordinatorOf(applier, 'g');
    expect(after.brokerEpoch).toBeGreaterThan(before.brokerEpoch);

    expect(apply(applier, 'g', { coordinator: after, sequence: 1, offset: 60 })[0].code).toBe(
      ErrorCode.NONE,
    );
    expect(committed(applier, 'g')).toBe(60n);
  });

  it('for another node that took the group over, and refuses the old one', () => {
    const applier = cluster([1, 2]);
    const groupId = groupMovingTo(3);
    const old = coordinatorOf(applier, groupId);
    apply(applier, groupId, { coordinator: old, sequence: 70, offset: 70 });

    applier.ok(register(3));
    const taker = { nodeId: 3, brokerEpoch: readDataNode(applier.db, 3)!.brokerEpoch };
    const [fresh] = apply(applier, groupId, { coordinator: taker, sequence: 1, offset: 80 });
    const [stale] = apply(applier, groupId, { coordinator: old, sequence: 71, offset: 75 });

    expect(fresh.code).toBe(ErrorCode.NONE);
    expect(stale.code).toBe(ErrorCode.NOT_COORDINATOR);
    expect(committed(applier, groupId)).toBe(80n);
  });

  it('never for commits without a number: an operator tool, or an older data node', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 5, offset: 50 });

    expect(apply(applier, 'g', { coordinator: null, offset: 1 })[0].code).toBe(ErrorCode.NONE);
    expect(apply(applier, 'g', { coordinator: owner, offset: 2 })[0].code).toBe(ErrorCode.NONE);
    expect(apply(applier, 'g', { coordinator: owner, sequence: 4, offset: 4 })[0].code).toBe(
      ErrorCode.REQUEST_TIMED_OUT,
    );
    expect(committed(applier, 'g')).toBe(2n);
  });
});

describe('retention', () => {
  it('forgets the numbering of groups idle for the retention period', () => {
    const applier = cluster([1]);
    const owner = coordinatorOf(applier, 'g');
    apply(applier, 'g', { coordinator: owner, sequence: 9, offset: 90 });

    const count = applier.db.$client.prepare('SELECT count(*) AS n FROM group_commit_sequences');
    applier.ok({ type: 'expireGroupOffsets', retentionMs: 60_000 });
    expect(count.get()).toEqual({ n: 1 });

    // The applier's clock moves one ms per command: the commit is now two ms old.
    applier.ok({ type: 'expireGroupOffsets', retentionMs: 1 });
    expect(count.get()).toEqual({ n: 0 });
  });
});

/** A group that nodes 1 and 2 place on one of them, and that node 3 takes over once it joins. */
function groupMovingTo(nodeId: number): string {
  const view = [1, 2, 3].map((id) => ({ nodeId: id, fenced: false }));
  for (let i = 0; ; i++) {
    if (coordinatorFor(`g${i}`, { dataNodes: view as never })?.nodeId === nodeId) return `g${i}`;
  }
}

describe('whatever order numbered commits arrive in', () => {
  it('the group keeps the offset of the newest commit that arrived', () => {
    // Commit i carries offset 10 * i; any of them may be lost, delivered twice or reordered.
    const deliveries = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 });

    fc.assert(
      fc.property(deliveries, (order) => {
        const applier = cluster([1]);
        const owner = coordinatorOf(applier, 'g');
        for (const sequence of order) {
          apply(applier, 'g', { coordinator: owner, sequence, offset: 10 * sequence });
        }
        expect(committed(applier, 'g')).toBe(BigInt(10 * Math.max(...order)));
      }),
      { numRuns: 40 },
    );
  });

  it('a commit is late only behind a newer one of the same incarnation (reference model)', () => {
    const ref = fc.record({
      nodeId: fc.integer({ min: 1, max: 3 }),
      brokerEpoch: fc.integer({ min: 1, max: 3 }),
    });
    const seq = fc.integer({ min: 0, max: 5 });

    fc.assert(
      fc.property(ref, seq, ref, seq, (lastRef, lastSeq, ref, sequence) => {
        const sameNode = lastRef.nodeId === ref.nodeId;
        const model =
          sameNode &&
          (ref.brokerEpoch < lastRef.brokerEpoch ||
            (ref.brokerEpoch === lastRef.brokerEpoch && sequence < lastSeq));
        expect(isLateCommit({ ...lastRef, sequence: lastSeq }, ref, sequence)).toBe(model);
      }),
    );
  });
});
