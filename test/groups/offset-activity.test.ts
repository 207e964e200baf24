// The coordinator's reports of groups with members, which offset retention counts from: sent when
// the list changes and at the refresh period, not otherwise, and under this node's registration.
import { describe, expect, it } from 'vitest';
import {
  GroupActivityReporter,
  MemoryOffsetStore,
  type CoordinatorRef,
} from '../../data-node/groups/offset-store.ts';
import { silentLogger } from '../../shared/logger.ts';

function reporter(active: { groups: string[]; self: CoordinatorRef | null }) {
  const store = new MemoryOffsetStore();
  const sent: string[][] = [];
  store.reportActive = async (_coordinator, groupIds) => void sent.push([...groupIds]);
  const activity = new GroupActivityReporter({
    store,
    self: () => active.self,
    activeGroups: () => active.groups,
    logger: silentLogger,
    refreshMs: 60_000,
  });
  return { activity, sent };
}

describe('GroupActivityReporter', () => {
  it('reports a change of the list at once, and the same list only at the refresh period', async () => {
    const active = { groups: ['b', 'a'], self: { nodeId: 1, brokerEpoch: 4 } };
    const { activity, sent } = reporter(active);

    await activity.check(0);
    await activity.check(1_000);
    expect(sent).toEqual([['a', 'b']]);

    active.groups = ['a'];
    await activity.check(2_000);
    await activity.check(61_999);
    await activity.check(62_000);
    expect(sent).toEqual([['a', 'b'], ['a'], ['a']]);
  });

  it('reports a list that became empty once, and nothing while it was always empty', async () => {
    const active = { groups: [] as string[], self: { nodeId: 1, brokerEpoch: 4 } };
    const { activity, sent } = reporter(active);
    await activity.check(0);
    expect(sent).toEqual([]);

    active.groups = ['g'];
    await activity.check(1);
    active.groups = [];
    await activity.check(2);
    await activity.check(100_000);
    expect(sent).toEqual([['g'], []]);
  });

  it('reports again under a new registration, and not at all without one', async () => {
    const active = { groups: ['g'], self: null as CoordinatorRef | null };
    const { activity, sent } = reporter(active);
    await activity.check(0);
    expect(sent).toEqual([]);

    active.self = { nodeId: 1, brokerEpoch: 4 };
    await activity.check(1);
    active.self = { nodeId: 1, brokerEpoch: 9 };
    await activity.check(2);
    expect(sent).toEqual([['g'], ['g']]);
  });
});
