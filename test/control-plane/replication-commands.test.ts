// The controller's side of replication: producer id blocks never overlap (across commands and a
// restart of the state machine from its database), a controlled shutdown moves every leadership
// of the stopping node to another ISR member with a new leader epoch and takes the node out of
// the ISRs, and the preferred leader check finds exactly the partitions it can move back.
import { describe, expect, it } from 'vitest';
import type { TopicRecord } from '../../shared/cluster-metadata.ts';
import { readDataNode, readTopic } from '../../control-plane/db/queries.ts';
import { partitionsAwayFromPreferred } from '../../control-plane/preferred-leaders.ts';
import { Applier, createTopic, register } from './helpers.ts';

function clusterOf(nodes: number[]): Applier {
  const applier = new Applier();
  applier.ok({ type: 'initCluster', clusterId: 'test-cluster' });
  for (const n of nodes) applier.ok(register(n));
  return applier;
}

describe('allocateProducerIds', () => {
  it('hands out consecutive blocks that never overlap', () => {
    const applier = clusterOf([1, 2]);
    const first = applier.ok({ type: 'allocateProducerIds', nodeId: 1, count: 1000 });
    const second = applier.ok({ type: 'allocateProducerIds', nodeId: 2, count: 10 });
    const third = applier.ok({ type: 'allocateProducerIds', nodeId: 1, count: 1000 });

    expect([first, second, third]).toEqual([
      { firstProducerId: 0, count: 1000 },
      { firstProducerId: 1000, count: 10 },
      { firstProducerId: 1010, count: 1000 },
    ]);
  });

  it('continues after the last block when the state is read back', () => {
    const applier = clusterOf([1]);
    applier.ok({ type: 'allocateProducerIds', nodeId: 1, count: 1000 });

    const again = new Applier(applier.db);
    again.index = applier.index;
    expect(again.ok({ type: 'allocateProducerIds', nodeId: 1, count: 5 }).firstProducerId).toBe(
      1000,
    );
  });
});

describe('shutdownDataNode', () => {
  it('moves the leaderships of the stopping node to ISR members, with new leader epochs', () => {
    const applier = clusterOf([1, 2, 3]);
    const before = applier.ok(createTopic('orders', 3, 3)).partitions;
    const brokerEpoch = readDataNode(applier.db, 1)!.brokerEpoch;

    applier.ok({ type: 'shutdownDataNode', nodeId: 1, brokerEpoch });
    const after = readTopic(applier.db, 'orders')!.partitions;

    expect(before.some((p) => p.leader === 1)).toBe(true);
    for (const [i, p] of after.entries()) {
      expect(p.isr).not.toContain(1);
      expect(p.leader).not.toBe(1);
      expect(p.isr).toContain(p.leader);
      const moved = before[i]!.leader === 1;
      expect(p.leaderEpoch).toBe(before[i]!.leaderEpoch + (moved ? 1 : 0));
    }
  });

  it('is refused under an old broker epoch', () => {
    const applier = clusterOf([1, 2]);
    const result = applier.apply({ type: 'shutdownDataNode', nodeId: 1, brokerEpoch: 99 });
    expect(result.ok).toBe(false);
  });
});

describe('partitionsAwayFromPreferred', () => {
  const topic = (partitions: TopicRecord['partitions']): TopicRecord => ({
    name: 't',
    topicId: '00000000-0000-4000-8000-000000000001',
    configs: {},
    partitions,
  });
  const p = (partition: number, leader: number, isr: number[]) => ({
    partition,
    replicas: [1, 2, 3],
    leader,
    leaderEpoch: 1,
    isr,
    partitionEpoch: 1,
  });

  it('names partitions whose first replica is back in the ISR and unfenced', () => {
    const topics = [topic([p(0, 2, [1, 2, 3]), p(1, 1, [1, 2]), p(2, 2, [2, 3]), p(3, 3, [1, 3])])];
    const live = (id: number) => id !== 3;

    expect(partitionsAwayFromPreferred(topics, live)).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 3 },
    ]);
    expect(partitionsAwayFromPreferred(topics, (id) => id !== 1)).toEqual([]);
  });
});
