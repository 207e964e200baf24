// Where committed offsets live: the controller, which puts each commit in its Raft log before
// answering, so an acknowledged commit survives the loss of any data node. This file holds the
// port (OffsetStore), its adapter over the controller's internal HTTP API, and an in-memory twin
// for tests. Both refuse with a KafkaError whose code a client can act on.
import { z } from 'zod';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
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
 * The coordinator a commit comes from. The controller refuses it (NOT_COORDINATOR) once that node
 * is fenced or registered again, so a node that lost its groups cannot move their offsets.
 */
export interface CoordinatorRef {
  nodeId: number;
  brokerEpoch: number;
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
  deleteGroup(groupId: string): Promise<void>;
}

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

export class ControllerOffsetStore implements OffsetStore {
  constructor(private readonly controller: ControllerCaller) {}

  async commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    coordinator: CoordinatorRef | null,
  ): Promise<number[]> {
    const body = {
      coordinator,
      offsets: offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset.toString(),
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
      })),
    };
    const answer = await this.call('POST', groupPath(groupId), body);

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

  async deleteGroup(groupId: string): Promise<void> {
    await this.call('DELETE', groupPath(groupId));
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

  async deleteGroup(groupId: string): Promise<void> {
    this.groups.delete(groupId);
  }
}
