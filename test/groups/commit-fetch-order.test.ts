// A commit still on its way to the controller when the group rebalances: the member that owned a
// partition commits at generation N, the group moves to generation N+1 and the partition's new
// owner asks for the committed offset. The answer must include the commit made at generation N,
// or the new owner would process again records below an acknowledged commit. The coordinator
// runs a group's offset operations in arrival order (offsets.ts), so the OffsetFetch waits for
// the commit to settle.
import { describe, expect, it } from 'vitest';
import { MemoryOffsetStore, type CommittedOffset } from '../../data-node/groups/offset-store.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { groupOn, harness, isSettled, type Harness } from './coordinator-harness.ts';

const protocols = [{ name: 'range', metadata: Buffer.from('t') }];

/** Commits wait until the test settles them, with success or with a controller failure. */
class HeldStore extends MemoryOffsetStore {
  private held: { resolve: () => void; reject: (err: Error) => void }[] = [];

  override async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<number[]> {
    await new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
    return super.commit(groupId, offsets);
  }

  get waiting(): number {
    return this.held.length;
  }

  release(): void {
    this.held.shift()!.resolve();
  }

  fail(): void {
    this.held.shift()!.reject(new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'down'));
  }
}

function join(h: Harness, groupId: string, memberId: string, clientId: string) {
  const body = { groupId, memberId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000 };
  return h.call(ApiKey.JoinGroup, 5, { ...body, protocolType: 'consumer', protocols }, clientId);
}

async function newMemberId(h: Harness, groupId: string, clientId: string): Promise<string> {
  const first = await join(h, groupId, '', clientId);
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  return first.memberId;
}

function sync(h: Harness, groupId: string, memberId: string, generationId: number, to = '') {
  const assignments = to === '' ? [] : [{ memberId: to, assignment: Buffer.from('t:0') }];
  return h.call(ApiKey.SyncGroup, 3, { groupId, generationId, memberId, assignments });
}

function commit(h: Harness, groupId: string, memberId: string, generation: number, offset: bigint) {
  return h.call(ApiKey.OffsetCommit, 8, {
    groupId,
    generationIdOrMemberEpoch: generation,
    memberId,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset }] }],
  });
}

function fetchOffset(h: Harness, groupId: string) {
  return h.call(ApiKey.OffsetFetch, 7, {
    groupId,
    topics: [{ name: 't', partitionIndexes: [0] }],
  });
}

/**
 * Member a owns t:0 at generation 1 and commits `offset` (held by the store); then b joins, a
 * rejoins, generation 2 forms with b as the owner of t:0, and b asks for its committed offset.
 */
async function handOverDuringCommit(h: Harness, store: HeldStore, offset: bigint) {
  const g = groupOn(1, h.view.current);
  const a = await newMemberId(h, g, 'a');
  const first = await join(h, g, a, 'a');
  expect((await sync(h, g, a, first.generationId, a)).errorCode).toBe(0);

  const committed = commit(h, g, a, first.generationId, offset);
  expect(await isSettled(committed)).toBe(false);
  expect(store.waiting).toBe(1);

  const b = await newMemberId(h, g, 'b');
  const [bJoined, aJoined] = await Promise.all([join(h, g, b, 'b'), join(h, g, a, 'a')]);
  expect(aJoined.generationId).toBe(first.generationId + 1);
  const generation = bJoined.generationId;
  const [, bSynced] = await Promise.all([sync(h, g, a, generation, b), sync(h, g, b, generation)]);
  expect(bSynced.assignment).toEqual(Buffer.from('t:0'));

  return { committed, fetched: fetchOffset(h, g) };
}

describe('a commit in flight across a rebalance', () => {
  it('is seen by the next owner: its OffsetFetch waits for the commit to be stored', async () => {
    const store = new HeldStore();
    const h = harness({ store });
    const { committed, fetched } = await handOverDuringCommit(h, store, 10n);
    expect(await isSettled(fetched)).toBe(false);

    store.release();
    expect((await committed).topics[0].partitions[0].errorCode).toBe(0);
    expect((await fetched).topics[0].partitions[0].committedOffset).toBe(10n);
  });

  it('a commit the controller did not take is not acknowledged, and the fetch goes on', async () => {
    const store = new HeldStore();
    const h = harness({ store });
    const { committed, fetched } = await handOverDuringCommit(h, store, 10n);

    store.fail();
    const code = (await committed).topics[0].partitions[0].errorCode;
    expect(code).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await fetched).topics[0].partitions[0].committedOffset).toBe(-1n);
  });
});
