// Group coordinator placement (rendezvous hashing): a change of one node moves only the groups
// that node gains or loses, the spread over nodes is even, and the weights are a fixed contract.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coordinatorFor, placementWeight } from '../../data-node/groups/placement.ts';
import type { DataNodeRecord } from '../../shared/cluster-metadata.ts';

function node(nodeId: number, fenced = false): DataNodeRecord {
  return {
    nodeId,
    host: '127.0.0.1',
    kafkaPort: 9092,
    rack: null,
    incarnationId: `i${nodeId}`,
    brokerEpoch: nodeId,
    fenced,
  };
}

const view = (ids: number[]) => ({ dataNodes: ids.map((id) => node(id)) });
const owner = (groupId: string, ids: number[]) => coordinatorFor(groupId, view(ids))?.nodeId;

const nodeIds = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), {
  minLength: 2,
  maxLength: 12,
});
const groupIds = fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 40 }), {
  minLength: 1,
  maxLength: 60,
});

describe('coordinatorFor', () => {
  it('removing a node moves only the groups it coordinated', () => {
    fc.assert(
      fc.property(nodeIds, groupIds, fc.nat(), (ids, groups, pick) => {
        const gone = ids[pick % ids.length];
        const rest = ids.filter((id) => id !== gone);

        for (const g of groups) {
          const before = owner(g, ids);
          if (before !== gone) expect(owner(g, rest)).toBe(before);
        }
      }),
    );
  });

  it('adding a node moves groups only to that node', () => {
    fc.assert(
      fc.property(
        nodeIds,
        groupIds,
        fc.integer({ min: 10_001, max: 20_000 }),
        (ids, groups, added) => {
          for (const g of groups) {
            const after = owner(g, [...ids, added]);
            if (after !== added) expect(after).toBe(owner(g, ids));
          }
        },
      ),
    );
  });

  it('ignores fenced nodes and the order of the list', () => {
    fc.assert(
      fc.property(nodeIds, groupIds, (ids, groups) => {
        const withFenced = { dataNodes: [node(99_999, true), ...ids.map((id) => node(id))] };
        const reversed = view([...ids].reverse());
        for (const g of groups) {
          expect(coordinatorFor(g, withFenced)?.nodeId).toBe(owner(g, ids));
          expect(coordinatorFor(g, reversed)?.nodeId).toBe(owner(g, ids));
        }
      }),
    );
  });

  it('has no coordinator when no node is live', () => {
    expect(coordinatorFor('g', { dataNodes: [node(1, true)] })).toBeNull();
    expect(coordinatorFor('g', { dataNodes: [] })).toBeNull();
  });

  it('spreads 10,000 groups evenly over 5 nodes (each within 15% of its share)', () => {
    const ids = [1, 2, 3, 4, 5];
    const counts = new Map(ids.map((id) => [id, 0]));
    for (let i = 0; i < 10_000; i++) {
      const id = owner(`consumer-group-${i}`, ids)!;
      counts.set(id, counts.get(id)! + 1);
    }

    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(2000 * 0.85);
      expect(count).toBeLessThan(2000 * 1.15);
    }
  });

  it('moves about a fifth of the groups when a sixth node joins five', () => {
    const five = [1, 2, 3, 4, 5];
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      if (owner(`consumer-group-${i}`, five) !== owner(`consumer-group-${i}`, [...five, 6]))
        moved++;
    }
    // A sixth of the groups, give or take: the modulo placement it replaced moved five sixths.
    expect(moved).toBeGreaterThan(10_000 / 6 - 300);
    expect(moved).toBeLessThan(10_000 / 6 + 300);
  });

  it('keeps its weights: they are shared by every data node and controller', () => {
    const key = (text: string) => Buffer.from(text, 'utf8');
    expect([1, 2, 3].map((id) => placementWeight(key('orders'), id))).toEqual([
      3416010624, 595421563, 1296109982,
    ]);
    expect(placementWeight(key('é'), 7)).toBe(145079312);
  });
});
