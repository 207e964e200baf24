// Where committed offsets live: the controller, which puts each commit in its Raft log before
// answering, so an acknowledged commit survives the loss of any data node. This file holds the
// port (OffsetStore), its adapter over the controller's internal HTTP API, an in-memory twin for
// tests, the wrapper that names this node as the coordinator in every write, and the reporter
// that tells the controller which groups have members (offset retention counts from the last
// time a group had members). The stores refuse with a KafkaError whose code a client can act on.
//
// Every write names the coordinator (node id and broker epoch). The controller refuses it with
// NOT_COORDINATOR unless, in its committed state, that node is live under that epoch and the
// group's coordinator by placement, so a node that lost its groups cannot move their offsets.
//
// Every commit and deletion request carries a sequence, growing with each request this store
// sends. The controller refuses a request older than the last one it applied for the group from
// the same coordinator (REQUEST_TIMED_OUT): one given up on as timed out and overtaken by a newer
// one can no longer land after it and move the group's offsets back.
import { z } from 'zod';
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ControllerClient } from '../controller-client.ts';

/** One partition's committed position, as stored. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  /** -1 when the committer did not know the leader epoch. */
  leaderEpoch: number;
  metadata: string;
}

/**
 * The coordinator a write comes from. The controller refuses it (NOT_COORDINATOR) once that node
 * is fenced, registered again, or no longer the group's coordinator in the committed state.
 */
export interface CoordinatorRef {
  nodeId: number;
  brokerEpoch: number;
}

/** This node as coordinator in a metadata view: its id and broker epoch, or null if absent. */
export function coordinatorRef(nodeId: number, view: ClusterSnapshot): CoordinatorRef | null {
  const self = view.dataNodes.find((n) => n.nodeId === nodeId);
  return self === undefined ? null : { nodeId, brokerEpoch: self.brokerEpoch };
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface OffsetStore {
  /**
   * Resolves once the offsets are committed durably, with one error code per entry (in order):
   * NONE for stored, or why the store refused that partition. Rejects with a KafkaError when the
   * store could not be asked at all; then nothing is known to be stored.
   */
  commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    coordinator: CoordinatorRef | null,
  ): Promise<number[]>;
  /** The group's committed offsets, for the given topics or all (null); [] for unknown groups. */
  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]>;
  /** Removes every committed offset of the group; resolves whether or not it had any. */
  deleteGroup(groupId: string, coordinator?: CoordinatorRef | null): Promise<void>;
  /** Removes the committed offsets of these partitions of the group (OffsetDelete). */
  deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
    coordinator?: CoordinatorRef | null,
  ): Promise<void>;
  /** Ids of every group with committed offsets; possibly slightly stale. */
  listGroupIds(): Promise<string[]>;
  /** Tells the store the full list of this coordinator's groups that have members now. */
  reportActive(coordinator: CoordinatorRef, groupIds: readonly string[]): Promise<void>;
}

/**
 * Most JSON bytes of offsets in one commit request to the controller; a larger OffsetCommit is
 * sent as several requests, each under the controller's 4 MiB body limit with room to spare. Each
 * part is durable on its own: when one fails, its partitions carry the error and the others stay
 * committed (Kafka writes one commit atomically; here only each part is).
 */
export const COMMIT_REQUEST_BYTES_MAX = 1024 * 1024;

/** What the adapter needs of the data node's controller client. */
export type ControllerCaller = Pick<ControllerClient, 'call'>;

const StoredOffset = z.looseObject({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.union([z.string().regex(/^-?\d+$/), z.number().int()]),
  leaderEpoch: z.number().int().nullish(),
  metadata: z.string().nullish(),
});

const FetchAnswer = z.looseObject({ offsets: z.array(StoredOffset) });

const GroupIdsAnswer = z.looseObject({ groupIds: z.array(z.string()) });

const PartitionResult = z.looseObject({
  topic: z.string(),
  partition: z.number().int(),
  errorCode: z.number().int().optional(),
});

/** The commit answer's per-partition results, under whichever name the controller uses. */
const CommitAnswer = z
  .looseObject({
    results: z.array(PartitionResult).optional(),
    offsets: z.array(PartitionResult).optional(),
  })
  .optional();

/**
 * One per process: the sequence numbering its commit requests must not start over while the
 * node keeps its broker epoch, or the controller would refuse the new requests as late.
 */
export class ControllerOffsetStore implements OffsetStore {
  /** The next commit request's sequence; one counter for every group keeps each group's growing. */
  private nextSequence = 1;

  constructor(private readonly controller: ControllerCaller) {}

  async commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    coordinator: CoordinatorRef | null,
  ): Promise<number[]> {
    const entries = offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset.toString(),
      leaderEpoch: o.leaderEpoch,
      metadata: o.metadata,
    }));

    // In order, one part at a time, each with its own sequence: a later part never overtakes.
    const codes: number[] = [];
    for (const part of splitBySize(entries, COMMIT_REQUEST_BYTES_MAX)) {
      try {
        codes.push(...(await this.commitPart(groupId, part, coordinator)));
      } catch (err) {
        // Nothing committed yet: the whole commit failed. Else earlier parts stand.
        if (codes.length === 0) throw err;
        codes.push(...part.map(() => (err as KafkaError).code));
      }
    }
    return codes;
  }

  private async commitPart(
    groupId: string,
    offsets: readonly { topic: string; partition: number }[],
    coordinator: CoordinatorRef | null,
  ): Promise<number[]> {
    const sequence = this.nextSequence++;
    const answer = await this.call('POST', groupPath(groupId), { coordinator, sequence, offsets });

    const parsed = CommitAnswer.safeParse(answer);
    const results = parsed.success ? (parsed.data?.results ?? parsed.data?.offsets ?? []) : [];
    const codes = new Map(results.map((r) => [`${r.topic}:${r.partition}`, r.errorCode ?? 0]));
    return offsets.map((o) => codes.get(`${o.topic}:${o.partition}`) ?? ErrorCode.NONE);
  }

  async fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    const query = (topics ?? []).map((t) => `topic=${encodeURIComponent(t)}`).join('&');
    const path = groupPath(groupId) + (query === '' ? '' : `?${query}`);
    const answer = FetchAnswer.safeParse(await this.call('GET', path));
    if (!answer.success) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'controller sent unreadable offsets');
    }

    // Filtered here too: an empty topic list asks for nothing, not for everything.
    const wanted = topics === null ? null : new Set(topics);
    return answer.data.offsets
      .filter((o) => wanted === null || wanted.has(o.topic))
      .map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset),
        leaderEpoch: o.leaderEpoch ?? -1,
        metadata: o.metadata ?? '',
      }));
  }

  async deleteGroup(groupId: string, coordinator: CoordinatorRef | null = null): Promise<void> {
    if (coordinator === null) {
      await this.call('DELETE', groupPath(groupId));
      return;
    }
    const sequence = this.nextSequence++;
    await this.call('POST', deletionsPath(groupId), { coordinator, sequence, partitions: null });
  }

  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
    coordinator: CoordinatorRef | null = null,
  ): Promise<void> {
    if (partitions.length === 0) return;
    if (coordinator === null) {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, 'this node is not in its own metadata');
    }

    const body = {
      coordinator,
      sequence: this.nextSequence++,
      partitions: partitions.map(({ topic, partition }) => ({ topic, partition })),
    };
    await this.call('POST', deletionsPath(groupId), body);
  }

  async listGroupIds(): Promise<string[]> {
    const answer = GroupIdsAnswer.safeParse(
      await this.call('GET', '/internal/v1/groups?stale=true'),
    );
    if (!answer.success) {
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, 'controller sent an unreadable list');
    }
    return answer.data.groupIds;
  }

  async reportActive(coordinator: CoordinatorRef, groupIds: readonly string[]): Promise<void> {
    await this.call('POST', '/internal/v1/active-groups', { coordinator, groupIds });
  }

  /** Controller failures become Kafka errors: a refusal keeps its code, silence is retriable. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    try {
      return await this.controller.call(method, path, { body });
    } catch (err) {
      throw toKafkaError(err);
    }
  }
}

function groupPath(groupId: string): string {
  return `/internal/v1/groups/${encodeURIComponent(groupId)}/offsets`;
}

function deletionsPath(groupId: string): string {
  return `/internal/v1/groups/${encodeURIComponent(groupId)}/offset-deletions`;
}

/** Consecutive parts of `items`, each at most `bytesMax` of JSON unless one item alone is more. */
function splitBySize<T>(items: readonly T[], bytesMax: number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;

  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
    if (part.length > 0 && bytes + size > bytesMax) {
      parts.push(part);
      [part, bytes] = [[], 0];
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

function toKafkaError(err: unknown): KafkaError {
  if (err instanceof KafkaError) return err;

  const problem = err as { status?: unknown; kafkaErrorCode?: unknown; message?: unknown };
  if (typeof problem.kafkaErrorCode === 'number') {
    return new KafkaError(problem.kafkaErrorCode as ErrorCode, String(problem.message));
  }
  // A controller that answered with a refusal we cannot map is not a retriable condition.
  if (typeof problem.status === 'number' && problem.status < 500) {
    return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, String(problem.message));
  }
  return new KafkaError(
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    `controller unavailable: ${String(err)}`,
  );
}

/** The in-memory twin: same contract, no durability, no coordinator fencing. */
export class MemoryOffsetStore implements OffsetStore {
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();

  async commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    _coordinator: CoordinatorRef | null = null,
  ): Promise<number[]> {
    const group = this.groups.get(groupId) ?? new Map<string, CommittedOffset>();
    this.groups.set(groupId, group);

    for (const o of offsets) group.set(`${o.topic}:${o.partition}`, { ...o });
    return offsets.map(() => ErrorCode.NONE);
  }

  async fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    const all = [...(this.groups.get(groupId)?.values() ?? [])];
    const wanted = topics === null ? null : new Set(topics);
    return all.filter((o) => wanted === null || wanted.has(o.topic)).map((o) => ({ ...o }));
  }

  async deleteGroup(groupId: string, _coordinator: CoordinatorRef | null = null): Promise<void> {
    this.groups.delete(groupId);
  }

  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
    _coordinator: CoordinatorRef | null = null,
  ): Promise<void> {
    const group = this.groups.get(groupId);
    for (const p of partitions) group?.delete(`${p.topic}:${p.partition}`);
    if (group?.size === 0) this.groups.delete(groupId);
  }

  async listGroupIds(): Promise<string[]> {
    return [...this.groups.keys()].sort();
  }

  /** The last report, for tests. */
  reported: { coordinator: CoordinatorRef; groupIds: string[] } | null = null;

  async reportActive(coordinator: CoordinatorRef, groupIds: readonly string[]): Promise<void> {
    this.reported = { coordinator, groupIds: [...groupIds] };
  }
}

/**
 * A store that names this node as the coordinator in every write, from its current metadata
 * view, whatever the caller passed: the group coordinator's queue (offsets.ts) does not carry it.
 */
export class CoordinatorOffsetStore implements OffsetStore {
  constructor(
    private readonly store: OffsetStore,
    private readonly self: () => CoordinatorRef | null,
  ) {}

  commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<number[]> {
    return this.store.commit(groupId, offsets, this.self());
  }

  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    return this.store.fetch(groupId, topics);
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.store.deleteGroup(groupId, this.selfOrRefuse());
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    return this.store.deleteOffsets(groupId, partitions, this.selfOrRefuse());
  }

  listGroupIds(): Promise<string[]> {
    return this.store.listGroupIds();
  }

  reportActive(coordinator: CoordinatorRef, groupIds: readonly string[]): Promise<void> {
    return this.store.reportActive(coordinator, groupIds);
  }

  /** A node missing from its own view coordinates nothing; it must not write unchecked. */
  private selfOrRefuse(): CoordinatorRef {
    const self = this.self();
    if (self === null) {
      throw new KafkaError(ErrorCode.NOT_COORDINATOR, 'this node is not in its own metadata');
    }
    return self;
  }
}

export interface ActivityReporterOptions {
  store: OffsetStore;
  /** This node as coordinator, or null while it is not in its own metadata view. */
  self: () => CoordinatorRef | null;
  /** The groups this node coordinates that have members now. */
  activeGroups: () => string[];
  logger: Logger;
  /** How often to look for a change of the list (default 1 s). */
  checkMs?: number;
  /** The list is sent at least this often, changed or not (default 60 s). */
  refreshMs?: number;
}

/**
 * Tells the controller which of this node's groups have members: at once (within `checkMs`)
 * when the list changes, and every `refreshMs` regardless, so that a group with members never
 * reaches the offset retention period. One request at a time; a failed one is retried at the
 * next check.
 */
export class GroupActivityReporter {
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  /** What the controller last accepted: the list and the registration it came under. */
  private lastSent: string | null = null;
  private lastSentAtMs = -Infinity;

  constructor(private readonly options: ActivityReporterOptions) {}

  start(): void {
    if (this.timer !== null) return;
    const check = () =>
      this.check().catch((err: unknown) => {
        this.options.logger.error({ err }, 'active groups check failed');
      });
    this.timer = setInterval(check, this.options.checkMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look; resolves once any report it sent is answered. */
  async check(nowMs = performance.now()): Promise<void> {
    const { store, self, activeGroups, logger, refreshMs = 60_000 } = this.options;
    const coordinator = self();
    if (this.sending || coordinator === null) return;

    const groupIds = [...new Set(activeGroups())].sort();
    const key = `${coordinator.brokerEpoch}\n${groupIds.join('\n')}`;
    const due = nowMs - this.lastSentAtMs >= refreshMs;
    // Nothing to say: the list is unchanged, or has stayed empty since this node started.
    if (!due && key === this.lastSent) return;
    if (groupIds.length === 0 && (this.lastSent === null || key === this.lastSent)) return;

    this.sending = true;
    try {
      await store.reportActive(coordinator, groupIds);
      [this.lastSent, this.lastSentAtMs] = [key, nowMs];
    } catch (err) {
      logger.warn({ err: String(err), groups: groupIds.length }, 'active groups not reported');
    } finally {
      this.sending = false;
    }
  }
}
