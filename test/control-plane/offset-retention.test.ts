// Offset retention: a group's offsets expire once it has had no members and no commits for the
// retention period, counted by the clock readings of log entries; a group that its current
// coordinator reports as having members keeps them however long ago it committed.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../control-plane/commands.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { readDataNode, readDataNodes, readGroupIds } from '../../control-plane/db/queries.ts';
import { applyCommand } from '../../control-plane/state-machine.ts';
import { coordinatorFor } from '../../data-node/groups/placement.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createTopic, memoryDb, register } from './helpers.ts';

const RETENTION_MS = 1000;

/** A state machine fed commands at clock readings the test chooses. */
class Log {
  readonly db = memoryDb();
  private index = 0;
  nowMs = 1_000_000;

  apply<C extends Command>(command: C) {
    return applyCommand(this.db, ++this.index, command, this.nowMs);
  }

  ok<C extends Command>(command: C) {
    const result = this.apply(command);
    if (!result.ok) throw new Error(`${command.type} refused: ${result.rejection.message}`);
    return result.value;
  }

  coordinatorOf(groupId: string) {
    const node = coordinatorFor(groupId, { dataNodes: readDataNodes(this.db) })!;
    return { nodeId: node.nodeId, brokerEpoch: node.brokerEpoch };
  }

  commit(groupId: string) {
    const offsets = [{ topic: 't', partition: 0, offset: '7', leaderEpoch: 0, metadata: '' }];
    const coordinator = this.coordinatorOf(groupId);
    return this.ok({ type: 'commitOffsets', commits: [{ groupId, coordinator, offsets }] });
  }

  expire() {
    return this.ok({ type: 'expireGroupOffsets' as const, retentionMs: RETENTION_MS });
  }
}

function cluster(nodes = [1, 2]): Log {
  const log = new Log();
  log.ok({ type: 'initCluster', clusterId: 'c' });
  for (const n of nodes) log.ok(register(n));
  log.ok(createTopic('t', 1, 1));
  return log;
}

describe('expireGroupOffsets', () => {
  it('expires an empty group once the retention period has passed since its last commit', () => {
    const log = cluster();
    log.commit('idle');

    log.nowMs += RETENTION_MS;
    expect(log.expire()).toEqual({ groupIds: [], deleted: 0 });

    log.nowMs += 1;
    expect(log.expire()).toEqual({ groupIds: ['idle'], deleted: 1 });
    expect(readGroupIds(log.db)).toEqual([]);
  });

  it('keeps a group with members however old its commits, and counts from when it emptied', () => {
    const log = cluster();
    log.commit('busy');
    const coordinator = log.coordinatorOf('busy');
    log.ok({ type: 'reportActiveGroups', coordinator, groupIds: ['busy'] });

    log.nowMs += 10 * RETENTION_MS;
    expect(log.expire().groupIds).toEqual([]);

    // The group empties: its coordinator lists it no more.
    log.ok({ type: 'reportActiveGroups', coordinator, groupIds: [] });
    log.nowMs += RETENTION_MS;
    expect(log.expire().groupIds).toEqual([]);
    log.nowMs += 1;
    expect(log.expire().groupIds).toEqual(['busy']);
  });

  it('does not let a report from a node that is not the coordinator keep a group', () => {
    const log = cluster([1, 2]);
    log.commit('g');
    const owner = log.coordinatorOf('g');
    const other = 3 - owner.nodeId;
    const otherRef = { nodeId: other, brokerEpoch: readDataNode(log.db, other)!.brokerEpoch };

    expect(log.ok({ type: 'reportActiveGroups', coordinator: otherRef, groupIds: ['g'] })).toEqual({
      active: 0,
    });
    log.nowMs += RETENTION_MS + 1;
    expect(log.expire().groupIds).toEqual(['g']);
  });

  it('counts from the last report once the reporting coordinator is fenced', () => {
    const log = cluster([1, 2]);
    log.commit('g');
    const owner = log.coordinatorOf('g');
    log.nowMs += 5;
    log.ok({ type: 'reportActiveGroups', coordinator: owner, groupIds: ['g'] });

    log.ok({ type: 'fenceDataNode', ...owner });
    log.nowMs += RETENTION_MS;
    expect(log.expire().groupIds).toEqual([]);

    log.nowMs += 1;
    expect(log.expire().groupIds).toEqual(['g']);
  });

  it('refuses a report under a stale broker epoch', () => {
    const log = cluster([1]);
    const stale = { nodeId: 1, brokerEpoch: readDataNode(log.db, 1)!.brokerEpoch };
    log.ok(register(1, null, 'again'));

    const result = log.apply({ type: 'reportActiveGroups', coordinator: stale, groupIds: ['g'] });
    expect(result).toMatchObject({ ok: false, rejection: { reason: 'notCoordinator' } });
  });
});

describe('offset retention in a controller', () => {
  it('deletes the offsets of an empty group and keeps those of an active one', async () => {
    let nowMs = 1_000_000;
    const core = createControllerCore({
      controllerId: 1,
      db: memoryDb(),
      dataNodeSessionTimeoutMs: 6000,
      logger: silentLogger,
      clocks: { wallMs: () => nowMs, monotonicMs: () => nowMs },
      offsetsRetentionMs: RETENTION_MS,
    });
    const { log } = core;
    await log.propose({ type: 'initCluster', clusterId: 'c' });
    await log.propose(register(1));
    await log.propose(createTopic('t', 1, 1));
    const coordinator = {
      nodeId: 1,
      brokerEpoch: readDataNode(core.stateMachine.db, 1)!.brokerEpoch,
    };

    const offsets = [{ topic: 't', partition: 0, offset: '3', leaderEpoch: 0, metadata: '' }];
    for (const groupId of ['empty', 'active']) {
      const answer = await core.offsetCommits.commit({ groupId, coordinator, offsets });
      expect(answer).toEqual({ errorCodes: [0], refusal: null });
    }
    await log.propose({ type: 'reportActiveGroups', coordinator, groupIds: ['active'] });

    nowMs += RETENTION_MS + 1;
    await core.offsetRetention.check();

    expect(readGroupIds(core.stateMachine.db)).toEqual(['active']);
    core.close();
  });
});
