// An OffsetCommit larger than the controller's 4 MiB request body limit: the data node's store
// sends it in parts, and every partition is committed. Driven in-process: the store talks to a
// real controller app through app.request(), which applies the same body limit as its socket.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/app.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { openStateDb } from '../../control-plane/db/database.ts';
import { readDataNode } from '../../control-plane/db/queries.ts';
import { ControllerProblem } from '../../data-node/controller-client.ts';
import {
  COMMIT_REQUEST_BYTES_MAX,
  ControllerOffsetStore,
  type CommittedOffset,
  type ControllerCaller,
} from '../../data-node/groups/offset-store.ts';
import { silentLogger } from '../../shared/logger.ts';

const PARTITIONS = 1500;

async function controller() {
  const core = createControllerCore({
    controllerId: 1,
    db: openStateDb(':memory:').db,
    dataNodeSessionTimeoutMs: 6000,
    logger: silentLogger,
  });
  const app = buildApp(core);
  await core.log.propose({ type: 'initCluster', clusterId: 'c' });
  await core.log.propose({
    type: 'registerDataNode',
    nodeId: 1,
    host: '127.0.0.1',
    kafkaPort: 9092,
    rack: null,
    incarnationId: 'one',
  });
  const topic = { name: 't', partitions: PARTITIONS, replicationFactor: 1, configs: {} };
  await core.log.propose({ type: 'createTopic', topicId: core.newTopicId(), ...topic });

  // As the data node's controller client answers: JSON, or a ControllerProblem.
  const sequences: number[] = [];
  const caller: ControllerCaller = {
    async call(method, path, options = {}) {
      const sequence = (options.body as { sequence?: number } | undefined)?.sequence;
      if (sequence !== undefined) sequences.push(sequence);
      const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
      if (options.body !== undefined) init.body = JSON.stringify(options.body);

      const response = await app.request(path, init);
      const answer = (await response.json()) as Record<string, unknown>;
      if (response.ok) return answer;
      const code = answer.kafkaErrorCode as number | undefined;
      throw new ControllerProblem(response.status, String(answer.detail), code, undefined);
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
