// Replica placement: every partition gets distinct live nodes, leaders and replicas spread
// evenly, replicas span as many racks as they can, and the least loaded node leads next.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  placeReplicas,
  rackAlternatingRing,
  type PlacementNode,
} from '../../control-plane/placement.ts';

const nodesArb = (racks: boolean) =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 9 })
    .chain((ids) =>
      fc.tuple(
        fc.constant(ids),
        fc.array(racks ? fc.constantFrom('r1', 'r2', 'r3') : fc.constant(null), {
          minLength: ids.length,
          maxLength: ids.length,
        }),
      ),
    )
    .map(([ids, racksOf]) => ids.map((nodeId, i): PlacementNode => ({ nodeId, rack: racksOf[i] })));

const requestArb = (racks: boolean) =>
  nodesArb(racks).chain((nodes) =>
    fc.record({
      nodes: fc.constant(nodes),
      partitionCount: fc.integer({ min: 1, max: 40 }),
      replicationFactor: fc.integer({ min: 1, max: nodes.length }),
      leaderCounts: fc.constant(new Map<number, number>()),
      shiftSeed: fc.nat(100),
    }),
  );

function counts(values: number[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return map;
}

function spread(map: Map<number, number>, nodes: PlacementNode[]): number {
  const all = nodes.map((n) => map.get(n.nodeId) ?? 0);
  return Math.max(...all) - Math.min(...all);
}

describe('placeReplicas', () => {
  it('gives each partition replicationFactor distinct live nodes', () => {
    fc.assert(
      fc.property(requestArb(true), (request) => {
        const placed = placeReplicas(request);
        const live = new Set(request.nodes.map((n) => n.nodeId));

        expect(placed).toHaveLength(request.partitionCount);
        for (const replicas of placed) {
          expect(new Set(replicas).size).toBe(request.replicationFactor);
          expect(replicas.every((id) => live.has(id))).toBe(true);
        }
      }),
    );
  });

  it('spreads leaders within one of each other', () => {
    fc.assert(
      fc.property(requestArb(true), (request) => {
        const leaders = counts(placeReplicas(request).map((r) => r[0]));
        expect(spread(leaders, request.nodes)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('without racks, gives every node the same number of replicas over whole rounds', () => {
    fc.assert(
      fc.property(requestArb(false), fc.integer({ min: 1, max: 4 }), (request, rounds) => {
        const partitionCount = request.nodes.length * rounds;
        const placed = placeReplicas({ ...request, partitionCount });

        const replicas = counts(placed.flat());
        expect(spread(replicas, request.nodes)).toBe(0);
      }),
    );
  });

  it('puts the replicas of a partition in as many racks as it can', () => {
    fc.assert(
      fc.property(requestArb(true), (request) => {
        const rackOf = new Map(request.nodes.map((n) => [n.nodeId, n.rack]));
        const racks = new Set(request.nodes.map((n) => n.rack)).size;

        for (const replicas of placeReplicas(request)) {
          const used = new Set(replicas.map((id) => rackOf.get(id))).size;
          expect(used).toBe(Math.min(racks, request.replicationFactor));
        }
      }),
    );
  });

  it('starts with the node leading the fewest partitions', () => {
    const nodes = [1, 2, 3].map((nodeId) => ({ nodeId, rack: null }));
    const leaderCounts = new Map([
      [1, 5],
      [2, 1],
      [3, 4],
    ]);

    const placed = placeReplicas({
      nodes,
      partitionCount: 1,
      replicationFactor: 2,
      leaderCounts,
      shiftSeed: 0,
    });

    expect(placed[0][0]).toBe(2);
  });

  it('keeps leaders even across many single-partition topics', () => {
    const nodes = [1, 2, 3, 4].map((nodeId) => ({ nodeId, rack: null }));
    const leaderCounts = new Map<number, number>();

    for (let topic = 0; topic < 10; topic++) {
      const [replicas] = placeReplicas({
        nodes,
        partitionCount: 1,
        replicationFactor: 3,
        leaderCounts,
        shiftSeed: topic,
      });
      leaderCounts.set(replicas[0], (leaderCounts.get(replicas[0]) ?? 0) + 1);
    }

    expect(spread(leaderCounts, nodes)).toBeLessThanOrEqual(1);
  });
});

describe('rackAlternatingRing', () => {
  it('alternates racks while each rack has nodes left', () => {
    const ring = rackAlternatingRing([
      { nodeId: 1, rack: 'a' },
      { nodeId: 2, rack: 'a' },
      { nodeId: 3, rack: 'b' },
      { nodeId: 4, rack: 'b' },
      { nodeId: 5, rack: 'c' },
    ]);

    expect(ring.map((n) => n.nodeId)).toEqual([1, 3, 5, 2, 4]);
  });
});
