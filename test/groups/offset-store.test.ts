// The offset store port: one conformance suite run against the in-memory twin and against the
// controller adapter (over a stand-in for the controller's internal HTTP routes), then what only
// the adapter does: the JSON it sends, and how controller failures become Kafka error codes.
import { describe, expect, it } from 'vitest';
import {
  ControllerOffsetStore,
  MemoryOffsetStore,
  type CommittedOffset,
  type ControllerCaller,
  type OffsetStore,
} from '../../data-node/groups/offset-store.ts';
import { ControllerProblem, ControllerUnavailable } from '../../data-node/controller-client.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';

function entry(topic: string, partition: number, offset: bigint, metadata = ''): CommittedOffset {
  return { topic, partition, offset, leaderEpoch: 2, metadata };
}

function conformance(name: string, make: () => OffsetStore) {
  describe(`${name} keeps the OffsetStore contract`, () => {
    it('stores, overwrites and reads back offsets by group and topic', async () => {
      const store = make();
      const codes = await store.commit('g', [entry('a', 0, 5n, 'm'), entry('b', 1, 7n)], null);
      expect(codes).toEqual([0, 0]);
      await store.commit('g', [entry('a', 0, 9n, 'n')], null);
      await store.commit('other', [entry('a', 0, 1n)], null);

      const all = await store.fetch('g', null);
      expect(sorted(all)).toEqual([entry('a', 0, 9n, 'n'), entry('b', 1, 7n)]);
      expect(await store.fetch('g', ['b'])).toEqual([entry('b', 1, 7n)]);
      expect(await store.fetch('g', [])).toEqual([]);
      expect(await store.fetch('nobody', null)).toEqual([]);
    });

    it('keeps int64 offsets exact', async () => {
      const store = make();
      const big = 2n ** 62n + 3n;
      await store.commit('g', [entry('a', 0, big)], null);
      expect((await store.fetch('g', null))[0].offset).toBe(big);
    });

    it('deletes a group, and deleting an unknown group is no error', async () => {
      const store = make();
      await store.commit('g', [entry('a', 0, 5n)], null);
      await store.deleteGroup('g');
      await store.deleteGroup('never');
      expect(await store.fetch('g', null)).toEqual([]);
    });
  });
}

function sorted(list: CommittedOffset[]): CommittedOffset[] {
  return [...list].sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
}

/** Stands in for the controller's /internal/v1/groups/{groupId}/offsets routes. */
class FakeController implements ControllerCaller {
  readonly calls: { method: string; path: string; body: unknown }[] = [];
  private readonly rows = new Map<string, Map<string, Record<string, unknown>>>();
  failWith: unknown = null;

  async call(method: string, path: string, options: { body?: unknown } = {}): Promise<unknown> {
    this.calls.push({ method, path, body: options.body });
    if (this.failWith !== null) throw this.failWith;

    const url = new URL(path, 'http://controller');
    const groupId = decodeURIComponent(url.pathname.split('/')[4]);
    const group = this.rows.get(groupId) ?? new Map();
    this.rows.set(groupId, group);

    if (method === 'DELETE') {
      this.rows.delete(groupId);
      return { deleted: group.size };
    }
    if (method === 'GET') {
      const topics = url.searchParams.getAll('topic');
      const offsets = [...group.values()].filter(
        (o) => topics.length === 0 || topics.includes(o.topic as string),
      );
      return { groupId, offsets };
    }
    const { offsets } = options.body as { offsets: Record<string, unknown>[] };
    for (const o of offsets) group.set(`${o.topic}:${o.partition}`, { ...o, commitTimeMs: 1 });
    return {
      results: offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode: 0 })),
    };
  }
}

conformance('MemoryOffsetStore', () => new MemoryOffsetStore());
conformance('ControllerOffsetStore', () => new ControllerOffsetStore(new FakeController()));

describe('ControllerOffsetStore', () => {
  it('sends offsets as decimal strings with the committing coordinator', async () => {
    const controller = new FakeController();
    const store = new ControllerOffsetStore(controller);
    await store.commit('g/1', [entry('a', 0, 12n, 'x')], { nodeId: 3, brokerEpoch: 8 });
    await store.fetch('g/1', ['a', 'b c']);

    expect(controller.calls[0]).toEqual({
      method: 'POST',
      path: '/internal/v1/groups/g%2F1/offsets',
      body: {
        coordinator: { nodeId: 3, brokerEpoch: 8 },
        sequence: 1,
        offsets: [{ topic: 'a', partition: 0, offset: '12', leaderEpoch: 2, metadata: 'x' }],
      },
    });
    expect(controller.calls[1].path).toBe('/internal/v1/groups/g%2F1/offsets?topic=a&topic=b%20c');
  });

  it('numbers its commit requests with a sequence that grows across groups', async () => {
    const controller = new FakeController();
    const store = new ControllerOffsetStore(controller);
    const coordinator = { nodeId: 3, brokerEpoch: 8 };
    await store.commit('g', [entry('a', 0, 1n)], coordinator);
    await store.commit('h', [entry('a', 0, 1n)], coordinator);
    await store.commit('g', [entry('a', 0, 2n)], coordinator);

    const sequences = controller.calls.map((c) => (c.body as { sequence: number }).sequence);
    expect(sequences).toEqual([1, 2, 3]);
  });

  it('answers per partition what the controller refused', async () => {
    const controller: ControllerCaller = {
      call: async () => ({
        results: [
          { topic: 'a', partition: 0, errorCode: 0 },
          { topic: 'a', partition: 1, errorCode: ErrorCode.NOT_COORDINATOR },
        ],
      }),
    };
    const store = new ControllerOffsetStore(controller);
    expect(await store.commit('g', [entry('a', 0, 1n), entry('a', 1, 1n)], null)).toEqual([0, 16]);
  });

  it('turns controller failures into Kafka errors a client can act on', async () => {
    const controller = new FakeController();
    const store = new ControllerOffsetStore(controller);
    const codeOf = async (failure: unknown) => {
      controller.failWith = failure;
      const err = await store.fetch('g', null).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KafkaError);
      return (err as KafkaError).code;
    };

    expect(await codeOf(new ControllerUnavailable('down'))).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect(await codeOf(new ControllerProblem(409, 'stale', 16, undefined))).toBe(16);
    expect(await codeOf(new ControllerProblem(400, 'bad', undefined, 'x'))).toBe(-1);
    expect(await codeOf(new TypeError('fetch failed'))).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});
