// Data node liveness on the leader controller, with a hand-driven clock: a node that stops
// heartbeating is fenced (and loses its leaderships) through a command, a fenced node that
// heartbeats again is unfenced, and stale or unknown registrations are refused.
import { describe, expect, it } from 'vitest';
import { CommandRejected } from '../../control-plane/commands.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { readDataNode, readTopic } from '../../control-plane/db/queries.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createTopic, memoryDb } from './helpers.ts';

const TIMEOUT_MS = 6000;
const PRESENCE_GRACE_MS = 500;

async function cluster(nodes: number[]) {
  const clock = { now: 0 };
  const core = createControllerCore({
    controllerId: 1,
    db: memoryDb(),
    dataNodeSessionTimeoutMs: TIMEOUT_MS,
    dataNodePresenceGraceMs: PRESENCE_GRACE_MS,
    logger: silentLogger,
    clocks: { wallMs: () => 1_700_000_000_000 + clock.now, monotonicMs: () => clock.now },
  });
  await core.log.propose({ type: 'initCluster', clusterId: 'k' });

  const epochs = new Map<number, number>();
  for (const nodeId of nodes) {
    const { brokerEpoch } = await core.liveness.register({
      nodeId,
      host: '127.0.0.1',
      kafkaPort: 9000 + nodeId,
      rack: null,
      incarnationId: `i-${nodeId}`,
    });
    epochs.set(nodeId, brokerEpoch);
  }
  core.liveness.check();

  const heartbeat = (nodeId: number) =>
    core.liveness.heartbeat({ nodeId, brokerEpoch: epochs.get(nodeId)!, partitions: [] });

  /** Opens a presence request for `nodeId`; `cut()` closes it from the node's side. */
  const presence = (nodeId: number, holdMs = 60_000) => {
    const connection = new AbortController();
    const request = { nodeId, brokerEpoch: epochs.get(nodeId)!, holdMs };
    const answered = core.liveness.presence(request, connection.signal);
    const cut = async () => {
      connection.abort();
      await answered;
    };
    return { answered, cut };
  };
  return { core, clock, epochs, heartbeat, presence };
}

describe('data node presence connections', () => {
  it('fences a node soon after its presence connection is cut, not before the grace', async () => {
    const { core, clock, presence } = await cluster([1, 2]);
    await core.log.propose(createTopic('t', 2, 2));
    const node1 = presence(1);
    presence(2);

    clock.now += 100;
    await node1.cut();
    clock.now += PRESENCE_GRACE_MS - 1;
    expect(core.liveness.check()).toHaveLength(0);
    clock.now += 1;
    await Promise.all(core.liveness.check());

    const db = core.stateMachine.db;
    expect(readDataNode(db, 1)?.fenced).toBe(true);
    expect(readDataNode(db, 2)?.fenced).toBe(false);
    expect(readTopic(db, 't')!.partitions.map((p) => p.leader)).toEqual([2, 2]);
  });

  it('keeps a node that opens another presence request within the grace', async () => {
    const { core, clock, presence } = await cluster([1]);
    const first = presence(1);

    await first.cut();
    clock.now += 10;
    presence(1);
    clock.now += TIMEOUT_MS - 10;

    expect(core.liveness.check()).toHaveLength(0);
  });

  it('keeps a node whose old request is cut after its new one opened', async () => {
    const { core, clock, presence } = await cluster([1]);
    const old = presence(1);
    presence(1);

    await old.cut();
    clock.now += TIMEOUT_MS - 1;

    expect(core.liveness.check()).toHaveLength(0);
  });

  it('keeps a node that heartbeats within the grace', async () => {
    const { core, clock, heartbeat, presence } = await cluster([1]);
    await presence(1).cut();

    clock.now += 10;
    await heartbeat(1);
    clock.now += TIMEOUT_MS - 10;

    expect(core.liveness.check()).toHaveLength(0);
  });

  it('takes an answered presence request as a sign of life, not a loss', async () => {
    const { core, clock, presence } = await cluster([1]);
    const answer = await presence(1, 1).answered;

    clock.now += TIMEOUT_MS - 1;

    expect(answer.heldMs).toBeGreaterThanOrEqual(0);
    expect(core.liveness.check()).toHaveLength(0);
  });

  it('refuses a presence request under a stale broker epoch', async () => {
    const { core } = await cluster([1]);
    const stale = { nodeId: 1, brokerEpoch: 999, holdMs: 1 };

    await expect(core.liveness.presence(stale, new AbortController().signal)).rejects.toThrow(
      CommandRejected,
    );
  });
});

describe('data node liveness', () => {
  it('fences a node silent past the session timeout and moves its leaderships', async () => {
    const { core, clock, heartbeat } = await cluster([1, 2]);
    await core.log.propose(createTopic('t', 2, 2));

    clock.now += TIMEOUT_MS - 1;
    await heartbeat(2);
    expect(core.liveness.check()).toHaveLength(0);
    clock.now += 2;
    await heartbeat(2);
    await Promise.all(core.liveness.check());

    const db = core.stateMachine.db;
    expect(readDataNode(db, 1)?.fenced).toBe(true);
    expect(readDataNode(db, 2)?.fenced).toBe(false);
    expect(readTopic(db, 't')!.partitions.map((p) => p.leader)).toEqual([2, 2]);
  });

  it('proposes one fence per lapse, however often it checks', async () => {
    const { core, clock } = await cluster([1]);
    clock.now += TIMEOUT_MS + 1;

    const first = core.liveness.check();
    const second = core.liveness.check();
    await Promise.all([...first, ...second]);

    expect(first).toHaveLength(1);
    expect(second).toHaveLength(0);
  });

  it('unfences a fenced node that heartbeats again under its registration', async () => {
    const { core, clock, heartbeat } = await cluster([1]);
    clock.now += TIMEOUT_MS + 1;
    await Promise.all(core.liveness.check());

    const answer = await heartbeat(1);

    expect(answer.fenced).toBe(false);
    expect(readDataNode(core.stateMachine.db, 1)?.fenced).toBe(false);
  });

  it('gives every node a full session when it starts leading', async () => {
    const { core, clock } = await cluster([1]);
    const fresh = createControllerCore({
      controllerId: 1,
      db: core.stateMachine.db,
      dataNodeSessionTimeoutMs: TIMEOUT_MS,
      logger: silentLogger,
      clocks: { wallMs: () => 0, monotonicMs: () => clock.now },
    });
    clock.now += TIMEOUT_MS * 10;

    expect(fresh.liveness.check()).toHaveLength(0);
    clock.now += TIMEOUT_MS - 1;
    expect(fresh.liveness.check()).toHaveLength(0);
  });

  it('refuses heartbeats under an old broker epoch or from an unknown node', async () => {
    const { core, epochs } = await cluster([1]);

    const stale = core.liveness.heartbeat({
      nodeId: 1,
      brokerEpoch: epochs.get(1)! - 1,
      partitions: [],
    });
    const unknown = core.liveness.heartbeat({ nodeId: 9, brokerEpoch: 1, partitions: [] });

    await expect(stale).rejects.toThrow(CommandRejected);
    await expect(stale).rejects.toMatchObject({ rejection: { reason: 'staleBrokerEpoch' } });
    await expect(unknown).rejects.toMatchObject({ rejection: { reason: 'unknownDataNode' } });
  });

  it('does not judge liveness when it does not lead', async () => {
    const { core, clock } = await cluster([1]);
    core.commandLog.close();
    clock.now += TIMEOUT_MS * 10;

    expect(core.liveness.check()).toHaveLength(0);
    expect(readDataNode(core.stateMachine.db, 1)?.fenced).toBe(false);
  });
});
