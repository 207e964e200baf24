// What travels in the simulation: the requests of Kafka's replication protocol reduced to their
// fields (OffsetsForLeaderEpoch, Fetch with a replica id, Produce with acks=all), the leader's ISR
// change to the controller, and their answers. Batches stand for record batches.
import type { EpochEndOffset } from '../../../data-node/replication/divergence.ts';
import type { IsrChangeRequest } from '../../../data-node/replication/leader-state.ts';

/** A record batch as written in a log; `bytes` stands for its content, header included. */
export interface SimBatch {
  readonly baseOffset: bigint;
  readonly lastOffsetDelta: number;
  readonly leaderEpoch: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly maxTimestamp: bigint;
  /** What the producer sent; unique per produced batch (retries of one batch share it). */
  readonly payload: string;
  readonly bytes: string;
}

/**
 * A batch as the producer sends it, before the leader stamps offset and epoch. Batches of the
 * non-idempotent producer have producer id -1.
 */
export interface ProducedBatch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
  readonly payload: string;
}

export type SimMessage =
  | {
      kind: 'epoch-request';
      requestId: number;
      currentLeaderEpoch: number;
      leaderEpoch: number;
    }
  | {
      kind: 'epoch-answer';
      requestId: number;
      errorCode: number;
      answer: EpochEndOffset;
    }
  | {
      kind: 'fetch';
      requestId: number;
      currentLeaderEpoch: number;
      fetchOffset: bigint;
      lastFetchedEpoch: number;
    }
  | {
      kind: 'fetch-answer';
      requestId: number;
      errorCode: number;
      diverging: EpochEndOffset | null;
      batches: SimBatch[];
      highWatermark: bigint;
    }
  | { kind: 'produce'; batch: ProducedBatch }
  | {
      kind: 'produce-answer';
      producerEpoch: number;
      baseSequence: number;
      errorCode: number;
      baseOffset: bigint;
    }
  | { kind: 'isr-change'; sendId: number; incarnation: number; request: IsrChangeRequest }
  | {
      kind: 'isr-answer';
      sendId: number;
      incarnation: number;
      request: IsrChangeRequest;
      errorCode: number;
      isr: number[];
      partitionEpoch: number;
    };
