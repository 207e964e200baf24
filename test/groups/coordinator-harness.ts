// Drives a GroupCoordinator as the data node's dispatcher does, without sockets: each request is
// encoded by the codec, decoded again, handled, and its response encoded and decoded at the same
// version, so every answer is also proven encodable at that version. Time is a fake clock.
import type { Clock } from '../../data-node/groups/clock.ts';
import {
  GroupCoordinator,
  type CoordinatorSettings,
  type RequestConnection,
} from '../../data-node/groups/coordinator.ts';
import { MemoryOffsetStore, type OffsetStore } from '../../data-node/groups/offset-store.ts';
import { coordinatorFor } from '../../data-node/groups/placement.ts';
import type { ClusterSnapshot, DataNodeRecord } from '../../shared/cluster-metadata.ts';
import { silentLogger } from '../../shared/logger.ts';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type Encodable,
  type RequestBody,
  type ResponseBody,
} from '../../shared/protocol/index.ts';

export class FakeClock implements Clock {
  private nowMs = 0;
  private timers: { atMs: number; seq: number; callback: () => void }[] = [];
  private seq = 0;

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    const timer = { atMs: this.nowMs + delayMs, seq: this.seq++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.atMs <= target)
        .sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (due === undefined) break;

      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.atMs);
      due.callback();
    }
    this.nowMs = target;
  }

  get pending(): number {
    return this.timers.length;
  }
}

export function dataNode(nodeId: number, fenced = false): DataNodeRecord {
  return {
    nodeId,
    host: '127.0.0.1',
    kafkaPort: 19300 + nodeId,
    rack: null,
    incarnationId: `inc-${nodeId}`,
    brokerEpoch: 10 + nodeId,
    fenced,
  };
}

/** Three live data nodes and topic `t` with partitions 0-2. */
export function snapshot(nodes: DataNodeRecord[] = [1, 2, 3].map((id) => dataNode(id))) {
  const partitions = [0, 1, 2].map((partition) => ({
    partition,
    replicas: [1],
    leader: 1,
    leaderEpoch: 0,
    isr: [1],
    partitionEpoch: 0,
  }));
  const view: ClusterSnapshot = {
    clusterId: 'c',
    version: 1,
    dataNodes: nodes,
    topics: [
      { name: 't', topicId: '6a1c1a2e-0b6b-4d84-9f36-2f1b4b0c5e01', configs: {}, partitions },
    ],
  };
  return view;
}

/** The first of g0, g1, ... that `nodeId` coordinates in `view`. */
export function groupOn(nodeId: number, view: ClusterSnapshot, prefix = 'g'): string {
  for (let i = 0; ; i++) {
    if (coordinatorFor(`${prefix}${i}`, view)?.nodeId === nodeId) return `${prefix}${i}`;
  }
}

export interface Harness {
  coordinator: GroupCoordinator;
  clock: FakeClock;
  store: OffsetStore;
  view: { current: ClusterSnapshot };
  call<K extends number>(
    apiKey: K,
    version: number,
    body: Encodable<RequestBody<K>>,
    clientId?: string,
    connection?: RequestConnection,
  ): Promise<ResponseBody<K>>;
}

export function harness(
  options: { nodeId?: number; store?: OffsetStore; settings?: Partial<CoordinatorSettings> } = {},
): Harness {
  const clock = new FakeClock();
  const store = options.store ?? new MemoryOffsetStore();
  const view = { current: snapshot() };
  let minted = 0;

  const coordinator = new GroupCoordinator({
    nodeId: options.nodeId ?? 1,
    logger: silentLogger,
    metadata: () => view.current,
    offsets: store,
    clock,
    settings: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1_000, ...options.settings },
    newMemberId: (prefix) => `${prefix}-${++minted}`,
  });

  async function call<K extends number>(
    apiKey: K,
    version: number,
    body: Encodable<RequestBody<K>>,
    clientId = 'client',
    connection?: RequestConnection,
  ): Promise<ResponseBody<K>> {
    const frame = encodeRequest(apiKey, version, 7, clientId, body).subarray(4);
    const header = decodeRequestHeader(frame);
    const request = decodeRequestBody(apiKey, version, frame, header.bodyOffset);

    const ctx = { clientId: header.clientId, clientHost: '/127.0.0.1', connection };
    const response = await coordinator.handle(apiKey, version, request, ctx);
    const bytes = encodeResponse(apiKey, version, 7, response as Encodable<ResponseBody<K>>);
    return decodeResponse(apiKey, version, bytes.subarray(4)).body;
  }

  return { coordinator, clock, store, view, call };
}

/** Lets promise callbacks run; the coordinator's answers that are due settle meanwhile. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Whether a promise has settled, without waiting for it. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
}
