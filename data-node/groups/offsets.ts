// Committed offsets as the coordinator sees them: every store operation of one group (commits,
// fetches, deletions) runs in the order its requests arrived. Two commits in flight from one
// consumer could otherwise reach the controller in the opposite order and move the committed
// offset backwards, an OffsetFetch sent after an OffsetCommit could miss it, and an OffsetDelete
// could overtake a commit accepted before it. Operations on different groups run concurrently.
//
// The same order keeps a rebalance from losing a commit: a member's commit, validated at
// generation N and still on its way to the controller when generation N+1 forms, is queued ahead
// of the OffsetFetch with which the partition's next owner learns where to start, so that fetch
// answers only after the commit settled (test/groups/commit-fetch-order.test.ts).
//
// A commit or deletion whose controller call failed without an answer (a timeout) is reported as
// failed and the queue moves on, though the controller may still apply it later. The store numbers
// every commit and deletion request (offset-store.ts) and the controller refuses one older than a
// write it already applied from this coordinator, so such a straggler cannot move the offset back
// nor undo a later deletion.
//
// Nothing is cached: reads go to the controller, which answers from its committed state, so an
// offset this node committed is always seen by the next fetch, on this node or on the next
// coordinator of the group.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type {
  CommittedOffset,
  CoordinatorRef,
  OffsetStore,
  TopicPartitionRef,
} from './offset-store.ts';

export class GroupOffsets {
  /** Per group, the last operation queued; removed when it settles with nothing after it. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: OffsetStore,
    private readonly logger: Logger,
  ) {}

  /** One error code per offset, in order; resolves only once the store committed them. */
  commit(
    groupId: string,
    offsets: readonly CommittedOffset[],
    coordinator: CoordinatorRef | null,
  ): Promise<number[]> {
    return this.inOrder(groupId, async () => {
      try {
        return await this.store.commit(groupId, offsets, coordinator);
      } catch (err) {
        const code = this.errorCode(err, groupId, 'offset commit failed');
        return offsets.map(() => code);
      }
    });
  }

  /** Committed offsets of the given topics (all when null); rejects with a KafkaError. */
  fetch(groupId: string, topics: readonly string[] | null): Promise<CommittedOffset[]> {
    return this.inOrder(groupId, () => this.store.fetch(groupId, topics));
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.inOrder(groupId, () => this.store.deleteGroup(groupId));
  }

  /**
   * Removes the committed offsets of these partitions (OffsetDelete), after every operation of
   * the group queued before it; rejects with a KafkaError as the store does.
   */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    return this.inOrder(groupId, () => this.store.deleteOffsets(groupId, partitions));
  }

  /** The Kafka error code for a failed store operation; unexpected failures are logged. */
  errorCode(err: unknown, groupId: string, message: string): number {
    if (err instanceof KafkaError) {
      this.logger.warn({ group: groupId, err: err.message, errorCode: err.code }, message);
      return err.code;
    }
    this.logger.error({ group: groupId, err }, message);
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  private inOrder<T>(groupId: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(groupId) ?? Promise.resolve();
    const next = previous.then(operation, operation);

    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(groupId, tail);
    void tail.then(() => {
      if (this.tails.get(groupId) === tail) this.tails.delete(groupId);
    });
    return next;
  }
}
