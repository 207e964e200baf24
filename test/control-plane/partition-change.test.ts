// Leadership and ISR changes of one partition keep its invariants under any sequence of node
// failures, returns and elections: the ISR is a non-empty subset of the replicas, the leader is
// in it or -1, the leader epoch moves exactly when the leader does, and the partition epoch
// moves exactly when the record does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPartition,
  electLeader,
  electPreferred,
  electUnclean,
  removeReplica,
} from '../../control-plane/partition-change.ts';
import type { PartitionRecord } from '../../shared/cluster-metadata.ts';

type Step =
  | { kind: 'down'; node: number }
  | { kind: 'up'; node: number }
  | { kind: 'preferred' }
  | { kind: 'unclean' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('down' as const, 'up' as const),
    node: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constantFrom('preferred' as const, 'unclean' as const) }),
);

function start(): PartitionRecord {
  return {
    partition: 0,
    replicas: [1, 2, 3],
    leader: 1,
    leaderEpoch: 0,
    isr: [1, 2, 3],
    partitionEpoch: 0,
  };
}

describe('partition changes', () => {
  it('keep the invariants under any sequence of failures, returns and elections', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), fc.boolean(), (steps, unclean) => {
        const live = new Set([1, 2, 3]);
        const eligible = (id: number) => live.has(id);
        let p = start();

        for (const step of steps) {
          const before = p;
          if (step.kind === 'down') {
            live.delete(step.node);
            p = removeReplica(p, step.node, eligible, unclean);
          } else if (step.kind === 'up') {
            live.add(step.node);
            p = electLeader(p, eligible, unclean);
          } else {
            p = (step.kind === 'preferred' ? electPreferred : electUnclean)(p, eligible).partition;
          }

          checkPartition(p);
          if (p.leader !== -1) expect(live.has(p.leader)).toBe(true);
          expect(p.leaderEpoch - before.leaderEpoch).toBe(p.leader === before.leader ? 0 : 1);
          expect(p.partitionEpoch - before.partitionEpoch).toBe(p === before ? 0 : 1);
        }
      }),
    );
  });

  it('keeps a failed last ISR member in the ISR so it can lead again without loss', () => {
    const alone = { ...start(), isr: [1] };

    const p = removeReplica(alone, 1, () => false, false);

    expect(p).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
  });

  it('elects the preferred replica only when it is in the ISR and eligible', () => {
    const led = { ...start(), leader: 2, isr: [2, 3] };

    expect(electPreferred(led, () => true).errorCode).toBe(80);
    expect(electPreferred({ ...led, isr: [1, 2, 3] }, () => true).partition.leader).toBe(1);
    expect(electPreferred(start(), () => true).errorCode).toBe(84);
  });
});
