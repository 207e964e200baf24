// An OffsetCommit larger than the controller's 4 MiB request body limit: the data node's store
// sends it in parts, and every partition is committed. Driven in-process: the store talks to a
// real controller app through app.request() (./controller-app.ts), which applies the same body limit as its socket.
import { describe, expect, it } from 'vitest';
import { readDataNode } from '../../control-plane/db/queries.ts';
import {
  COMMIT_REQUEST_BYTES_MAX,
  ControllerOffsetStore,
  type CommittedOffset,
  type ControllerCaller,
} from '../../data-node/groups/offset-store.ts';
import { controllerWithTopic } from './controller-app.ts';

const PARTITIONS = 1500;

async function controller() {
  const { core, request } = await controllerWithTopic(PARTITIONS);

  // As the data node's controller client answers: JSON, or a ControllerProblem.
  const sequences: number[] = [];
  const caller: ControllerCaller = {
    async call(method, path, options = {}) {
      const sequence = (options.body as { sequence?: number } | undefined)?.sequence;
      if (sequence !== undefined) sequences.push(sequence);
      return request(method, path, options.body);
    },
  };
  return { core, caller, sequences };
}

describe('a commit over the controller request body limit', () => {
  it('is sent in parts and stores every partition', async () => {
    const { core, caller, sequences } = await controller();
    const store = new ControllerOffsetStore(caller);
    const metadata = 'm'.repeat(4000);
    const offsets: CommittedOffset[] = Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic: 't',
      partition,
      offset: BigInt(partition) * 1000n,
      leaderEpoch: 0,
      metadata,
    }));

    const metadataBytes = PARTITIONS * metadata.length;
    expect(metadataBytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(metadataBytes).toBeGreaterThan(4 * COMMIT_REQUEST_BYTES_MAX);

    const { brokerEpoch } = readDataNode(core.stateMachine.db, 1)!;
    const codes = await store.commit('big', offsets, { nodeId: 1, brokerEpoch });
    expect(codes).toEqual(offsets.map(() => 0));
    // Each part is a commit of its own, numbered in the order sent: none is refused as late.
    expect(sequences.length).toBeGreaterThanOrEqual(4);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    expect(new Set(sequences).size).toBe(sequences.length);

    const stored = await store.fetch('big', null);
    expect(stored).toHaveLength(PARTITIONS);
    expect(stored[PARTITIONS - 1]).toEqual(offsets[PARTITIONS - 1]);
    core.close();
  });

  it('would be refused whole: the controller limits request bodies to 4 MiB', async () => {
    const { core, caller } = await controller();
    const offsets = Array.from({ length: PARTITIONS }, (_, partition) => ({
      topic: 't',
      partition,
      offset: '1',
      metadata: 'm'.repeat(4000),
    }));

    const whole = caller.call('POST', '/internal/v1/groups/big/offsets', { body: { offsets } });
    await expect(whole).rejects.toMatchObject({ status: 413 });
    core.close();
  });
});
