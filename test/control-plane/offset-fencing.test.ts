// Stale group coordinators are refused by the controller's state machine: a commit or deletion
// is stored only if, in the committed state it is applied to, the sending node is live under the
// broker epoch it names and is the group's coordinator by placement. A node that was paused or
// cut off while its groups moved gets NOT_COORDINATOR, whatever its own view says.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../control-plane/commands.ts';
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

/** The node coordinating `groupId` in the controller's state, as the node itself would name it. */
function coordinatorOf(applier: Applier, groupId: string) {
  const node = coordinatorFor(groupId, { dataNodes: readDataNodes(applier.db) })!;
  return { nodeId: node.nodeId, brokerEpoch: node.brokerEpoch };
}

function ref(applier: Applier, nodeId: number) {
  return { nodeId, brokerEpoch: readDataNode(applier.db, nodeId)!.brokerEpoch };
}

function commit(groupId: string, coordinator: { nodeId: number; brokerEpoch: number }): Command {
  const offsets = [{ topic: 't', partition: 0, offset: '5', leaderEpoch: 0, metadata: '' }];
  return { type: 'commitOffsets', commits: [{ groupId, coordinator, offsets }] };
}

function codes(applier: Applier, command: Command): number[] {
  const result = applier.apply(command);
  if (!result.ok || !('errorCodes' in result.value)) throw new Error('commit not applied');
  return result.value.errorCodes[0];
}

describe('offset commits from coordinators', () => {
  it('stores a commit from the group coordinator and refuses every other live node', () => {
    const applier = cluster([1, 2, 3]);
    const owner = coordinatorOf(applier, 'g');
    const others = [1, 2, 3].filter((id) => id !== owner.nodeId);

    for (const other of others) {
      expect(codes(applier, commit('g', ref(applier, other)))).toEqual([ErrorCode.NOT_COORDINATOR]);
    }
    expect(readGroupOffsets(applier.db, 'g', null)).toEqual([]);

    expect(codes(applier, commit('g', owner))).toEqual([ErrorCode.NONE]);
    expect(readGroupOffsets(applier.db, 'g', null)).toHaveLength(1);
  });

  it('refuses the old coordinator once the group moved to a node that joined', () => {
    const applier = cluster([1, 2]);
    // A group that the new node 3 will take over.
    let groupId = '';
    for (let i = 0; groupId === ''; i++) {
      const view = [1, 2, 3].map((nodeId) => ({ nodeId, fenced: false }));
      if (coordinatorFor(`g${i}`, { dataNodes: view as never })?.nodeId === 3) groupId = `g${i}`;
    }
    const old = coordinatorOf(applier, groupId);
    expect(codes(applier, commit(groupId, old))).toEqual([ErrorCode.NONE]);

    applier.ok(register(3));

    // The old coordinator has not seen node 3 yet: its view still says the group is its own.
    expect(codes(applier, commit(groupId, old))).toEqual([ErrorCode.NOT_COORDINATOR]);
    expect(codes(applier, commit(groupId, ref(applier, 3)))).toEqual([ErrorCode.NONE]);
  });

  it('refuses a fenced coordinator, and one that registered again since', () => {
    const applier = cluster([1, 2, 3]);
    const owner = coordinatorOf(applier, 'g');

    applier.ok({ type: 'fenceDataNode', ...owner });
    expect(codes(applier, commit('g', owner))).toEqual([ErrorCode.NOT_COORDINATOR]);

    applier.ok(register(owner.nodeId, null, 'b'));
    expect(codes(applier, commit('g', owner))).toEqual([ErrorCode.NOT_COORDINATOR]);
    expect(codes(applier, commit('g', ref(applier, owner.nodeId)))).toEqual([ErrorCode.NONE]);
  });

  it('refuses a deletion from a node that is not the coordinator, and keeps the offsets', () => {
    const applier = cluster([1, 2, 3]);
    const owner = coordinatorOf(applier, 'g');
    const other = ref(
      applier,
      [1, 2, 3].find((id) => id !== owner.nodeId)!,
    );
    applier.ok(commit('g', owner));
    const partitions = [{ topic: 't', partition: 0 }];
    const deletion = {
      type: 'deleteGroupOffsets' as const,
      groupId: 'g',
      topics: null,
      partitions,
    };

    const refused = applier.apply({ ...deletion, coordinator: other });
    expect(refused).toMatchObject({
      ok: false,
      rejection: { errorCode: ErrorCode.NOT_COORDINATOR },
    });
    expect(readGroupOffsets(applier.db, 'g', null)).toHaveLength(1);

    expect(applier.ok({ ...deletion, coordinator: owner })).toEqual({ deleted: 1 });
    expect(readGroupOffsets(applier.db, 'g', null)).toEqual([]);
  });

  it('deletes only the partitions named', () => {
    const applier = cluster([1]);
    const owner = ref(applier, 1);
    const offsets = [0, 1].map((partition) => ({
      topic: 't',
      partition,
      offset: '1',
      leaderEpoch: 0,
      metadata: '',
    }));
    applier.ok({ type: 'commitOffsets', commits: [{ groupId: 'g', coordinator: owner, offsets }] });

    const partitions = [{ topic: 't', partition: 1 }];
    applier.ok({ type: 'deleteGroupOffsets', groupId: 'g', topics: null, partitions });
    expect(readGroupOffsets(applier.db, 'g', null).map((o) => o.partition)).toEqual([0]);
  });
});
