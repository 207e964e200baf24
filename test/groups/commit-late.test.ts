// A group's offset operations reach the controller in the order they were sent, as far as the
// group's committed offsets can tell. A commit that the coordinator gave up on as timed out and
// that reaches the controller only after a newer commit is refused there, and the offset stays at
// the newer one. An OffsetDelete waits behind a commit of the group accepted before it. Driven
// in-process: the coordinator's queue and store talk to a real controller app through
// app.request(), with a stand-in for the network that can hold requests back.
import { describe, expect, it } from 'vitest';
import { readDataNode } from '../../control-plane/db/queries.ts';
import { ControllerUnavailable } from '../../data-node/controller-client.ts';
import {
  ControllerOffsetStore,
  CoordinatorOffsetStore,
  type CommittedOffset,
  type ControllerCaller,
} from '../../data-node/groups/offset-store.ts';
import { GroupOffsets } from '../../data-node/groups/offsets.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { silentLogger } from '../../shared/logger.ts';
import { controllerWithTopic } from './controller-app.ts';
import { settle } from './coordinator-harness.ts';

interface Request {
  method: string;
  path: string;
  body: unknown;
}

/** The network between the data node and the controller: it may hold requests back. */
class Network implements ControllerCaller {
  /** Requests held back, with a way to deliver each one now. */
  readonly held: { request: Request; deliver: () => Promise<unknown> }[] = [];
  /** What the next call does: reach the controller, time out (and arrive later), or wait. */
  next: 'deliver' | 'time out' | 'hold' = 'deliver';

  constructor(private readonly send: (request: Request) => Promise<unknown>) {}

  async call(method: string, path: string, options: { body?: unknown } = {}): Promise<unknown> {
    const request = { method, path, body: options.body };
    const mode = this.next;
    this.next = 'deliver';
    if (mode === 'deliver') return this.send(request);

    const arrived = new Promise<unknown>((resolve, reject) => {
      const deliver = () => {
        const answer = this.send(request);
        answer.then(resolve, reject);
        return answer;
      };
      this.held.push({ request, deliver });
    });
    if (mode === 'hold') return arrived;
    arrived.catch(() => {});
    throw new ControllerUnavailable(`${method} ${path} timed out`);
  }
}

async function setup() {
  const { core, request } = await controllerWithTopic(2);
  const network = new Network(({ method, path, body }) => request(method, path, body));

  const { brokerEpoch } = readDataNode(core.stateMachine.db, 1)!;
  const store = new CoordinatorOffsetStore(new ControllerOffsetStore(network), () => ({
    nodeId: 1,
    brokerEpoch,
  }));
  return { core, network, offsets: new GroupOffsets(store, silentLogger) };
}

function at(offset: bigint, partition = 0): CommittedOffset {
  return { topic: 't', partition, offset, leaderEpoch: 0, metadata: '' };
}

async function committedOffsets(offsets: GroupOffsets, groupId: string) {
  return (await offsets.fetch(groupId, null)).map((o) => [o.partition, o.offset]);
}

describe('a commit that arrives after a newer one', () => {
  it('is refused by the controller, and the group keeps the newer offset', async () => {
    const { core, network, offsets } = await setup();
    expect(await offsets.commit('g', [at(10n)], null)).toEqual([ErrorCode.NONE]);

    // Commit A times out on its way: the client hears that it failed.
    network.next = 'time out';
    expect(await offsets.commit('g', [at(20n)], null)).toEqual([
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ]);

    // Commit B, sent after A, is applied; then A reaches the controller.
    expect(await offsets.commit('g', [at(30n)], null)).toEqual([ErrorCode.NONE]);
    const late = await network.held[0].deliver();

    expect(late).toMatchObject({
      results: [{ topic: 't', partition: 0, errorCode: ErrorCode.REQUEST_TIMED_OUT }],
      refusal: expect.stringContaining('would move offsets back'),
    });
    expect(await committedOffsets(offsets, 'g')).toEqual([[0, 30n]]);
    core.close();
  });

  it('is applied when nothing newer was applied before it', async () => {
    const { core, network, offsets } = await setup();
    network.next = 'time out';
    await offsets.commit('g', [at(20n)], null);

    await network.held[0].deliver();
    expect(await committedOffsets(offsets, 'g')).toEqual([[0, 20n]]);
    core.close();
  });
});

describe('an OffsetDelete', () => {
  it('waits for a commit of the group accepted before it', async () => {
    const { core, network, offsets } = await setup();
    network.next = 'hold';
    const committing = offsets.commit('g', [at(5n, 0), at(6n, 1)], null);
    const deleting = offsets.deleteOffsets('g', [{ topic: 't', partition: 0 }]);

    // The deletion has not been sent while the commit is on its way.
    await settle();
    expect(network.held.map((h) => h.request.path)).toEqual(['/internal/v1/groups/g/offsets']);

    await network.held[0].deliver();
    expect(await committing).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    await deleting;
    expect(await committedOffsets(offsets, 'g')).toEqual([[1, 6n]]);
    core.close();
  });

  it('rejects with the Kafka error of a refused deletion, and the queue goes on', async () => {
    const { core, network, offsets } = await setup();
    network.next = 'time out';
    const deleting = offsets.deleteOffsets('g', [{ topic: 't', partition: 0 }]);

    await expect(deleting).rejects.toMatchObject({ code: ErrorCode.COORDINATOR_NOT_AVAILABLE });
    expect(await offsets.commit('g', [at(7n)], null)).toEqual([ErrorCode.NONE]);
    core.close();
  });
});
