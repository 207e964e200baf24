// The metadata data nodes follow: a snapshot for a node with nothing, changes for a node that is
// behind, and a long poll that answers when something is committed. Following the changes from
// any version leads to the same view as a fresh snapshot.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../control-plane/commands.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { pruneChangesUpTo, readSnapshot } from '../../control-plane/db/queries.ts';
import { applyMetadataChanges, type ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createTopic, memoryDb, register } from './helpers.ts';

function core() {
  return createControllerCore({
    controllerId: 1,
    db: memoryDb(),
    dataNodeSessionTimeoutMs: 6000,
    logger: silentLogger,
  });
}

function sorted(view: ClusterSnapshot): ClusterSnapshot {
  return {
    ...view,
    dataNodes: [...view.dataNodes].sort((a, b) => a.nodeId - b.nodeId),
    topics: [...view.topics].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

describe('metadata feed', () => {
  it('has nothing to say before the cluster has an id, then starts at version 1', async () => {
    const c = core();
    expect(c.feed.read(0)).toBeNull();

    await c.log.propose({ type: 'initCluster', clusterId: 'k' });

    expect(c.feed.read(0)).toEqual({
      version: 1,
      snapshot: { clusterId: 'k', version: 1, dataNodes: [], topics: [] },
    });
  });

  it('leads from any earlier view to the current snapshot by changes', async () => {
    const c = core();
    const commands: Command[] = [
      { type: 'initCluster', clusterId: 'k' },
      register(1),
      register(2),
      createTopic('a', 2, 2, 0),
      createTopic('b', 1, 1, 1),
      { type: 'fenceDataNode', nodeId: 1, brokerEpoch: 2 },
      { type: 'deleteTopic', name: 'b' },
      register(1, null, 'again'),
    ];
    const views: ClusterSnapshot[] = [];
    for (const command of commands) {
      await c.log.propose(command);
      views.push(readSnapshot(c.stateMachine.db));
    }
    const final = views.at(-1)!;

    for (const view of views.slice(0, -1)) {
      const answer = c.feed.read(view.version)!;
      expect(answer.snapshot).toBeUndefined();
      expect(sorted(applyMetadataChanges(view, answer.changes!))).toEqual(sorted(final));
      expect(answer.version).toBe(final.version);
    }
    expect(c.feed.read(final.version)).toBeNull();
  });

  it('sends a snapshot to a data node behind the changes kept', async () => {
    const c = core();
    for (const command of [{ type: 'initCluster', clusterId: 'k' }, register(1), register(2)]) {
      await c.log.propose(command as Command);
    }
    pruneChangesUpTo(c.stateMachine.db, 2);

    expect(c.feed.read(1)?.snapshot?.dataNodes).toHaveLength(2);
    expect(c.feed.read(2)?.changes).toHaveLength(1);
  });

  it('parks a long poll until a command changes the metadata', async () => {
    const c = core();
    await c.log.propose({ type: 'initCluster', clusterId: 'k' });
    const version = c.stateMachine.metadataVersion;

    const answer = c.feed.wait(version, 60_000);
    await c.log.propose(register(7));

    const { changes } = await answer;
    expect(changes).toEqual([
      expect.objectContaining({
        kind: 'data-node',
        dataNode: expect.objectContaining({ nodeId: 7 }),
      }),
    ]);
  });

  it('answers a parked poll with nothing when its client leaves or the feed closes', async () => {
    const c = core();
    await c.log.propose({ type: 'initCluster', clusterId: 'k' });
    const aborted = new AbortController();

    const first = c.feed.wait(1, 60_000, aborted.signal);
    const second = c.feed.wait(1, 60_000);
    aborted.abort();
    c.feed.close();

    expect(await first).toEqual({ version: 1, changes: [] });
    expect(await second).toEqual({ version: 1, changes: [] });
  });
});
