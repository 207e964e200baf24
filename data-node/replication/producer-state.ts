// Idempotent producers on one partition replica: for each producer id, its epoch and the sequence
// ranges of its last few batches with the offsets they got. The leader checks each produced batch
// against it: a retry of a remembered batch is answered with its original offsets instead of being
// written twice, a gap in the sequence is refused, an older producer epoch is fenced. Followers and
// recovery feed it the same batch headers in log order, so the table is a function of the log: it
// survives restarts and leader changes by being rebuilt from (or maintained alongside) the log.
//
// Not here: transactions (control batches, aborted ranges) and snapshots of the table, so a
// restart or a truncation far back rescans the log's batch headers.
import { invariant } from '../../shared/assert.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;

/** How many batches per producer are remembered: a producer keeps at most 5 requests in flight. */
export const REMEMBERED_BATCHES = 5;

const SEQUENCE_MAX = 0x7fffffff;

/** The batch header fields idempotence needs; `BatchView` of shared/record-batch.ts has them. */
export interface ProducerBatch {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly lastOffsetDelta: number;
}

/** A batch as written in the log: its offsets are known. */
export interface LoggedProducerBatch extends ProducerBatch {
  readonly baseOffset: bigint;
  /** The batch's max timestamp; producer ids expire by it. */
  readonly maxTimestamp: bigint;
}

/** What the leader should do with a produced batch. */
export type ProducerVerdict =
  { kind: 'append' } | { kind: 'duplicate'; baseOffset: bigint; lastOffset: bigint };

interface RememberedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: bigint;
  lastOffset: bigint;
}

/** One producer id's state; `batches` is never empty, oldest first, all of `epoch`. */
export interface ProducerEntry {
  readonly epoch: number;
  readonly batches: readonly RememberedBatch[];
  readonly lastTimestamp: bigint;
}

/** The sequence number of a batch's last record; sequences wrap to 0 after int32 max. */
export function lastSequenceOf(batch: ProducerBatch): number {
  const last = batch.baseSequence + batch.lastOffsetDelta;
  return last > SEQUENCE_MAX ? last - SEQUENCE_MAX - 1 : last;
}

export function nextSequence(sequence: number): number {
  return sequence === SEQUENCE_MAX ? 0 : sequence + 1;
}

export class ProducerStateTable {
  /**
   * Producer id -> its epoch and last batches. Advanced by `onAppend` in log order (leader
   * appends, follower appends, recovery), cut back by `truncateTo`, pruned by `removeExpired`.
   */
  #producers = new Map<bigint, ProducerEntry>();

  /** The table a log's batches imply, read in offset order. */
  static rebuild(batches: Iterable<LoggedProducerBatch>): ProducerStateTable {
    const table = new ProducerStateTable();
    for (const batch of batches) table.onAppend(batch);
    return table;
  }

  get size(): number {
    return this.#producers.size;
  }

  entry(producerId: bigint): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  /**
   * The leader's check of a produced batch, before it is written; nothing changes here, the
   * caller appends and then calls `onAppend`. Batches of one request are checked and appended one
   * at a time. Throws INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  validate(batch: ProducerBatch): ProducerVerdict {
    if (batch.producerId === NO_PRODUCER_ID) return { kind: 'append' };

    // A producer we hold nothing of may have had its batches removed by retention: any sequence
    // starts it again, as in Kafka.
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined) return { kind: 'append' };

    if (batch.producerEpoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than ${entry.epoch}`,
      );
    }
    if (batch.producerEpoch > entry.epoch) return checkNewEpoch(batch);

    const duplicate = findBatch(entry, batch.baseSequence, lastSequenceOf(batch));
    if (duplicate !== undefined) {
      return {
        kind: 'duplicate',
        baseOffset: duplicate.baseOffset,
        lastOffset: duplicate.lastOffset,
      };
    }

    const expected = nextSequence(entry.batches[entry.batches.length - 1].lastSequence);
    if (batch.baseSequence !== expected) {
      throw new KafkaError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${batch.producerId} sent sequence ${batch.baseSequence}, expected ${expected}`,
      );
    }
    return { kind: 'append' };
  }

  /**
   * A batch now in the log, in offset order: the leader's own appends after `validate`, the
   * batches a follower copies, the batches recovery reads. The log is the truth, so nothing is
   * refused here: a new epoch replaces the entry whatever it was.
   */
  onAppend(batch: LoggedProducerBatch): void {
    if (batch.producerId === NO_PRODUCER_ID) return;

    const remembered: RememberedBatch = {
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch),
      baseOffset: batch.baseOffset,
      lastOffset: batch.baseOffset + BigInt(batch.lastOffsetDelta),
    };
    const entry = this.#producers.get(batch.producerId);
    if (entry !== undefined) {
      const last = entry.batches[entry.batches.length - 1];
      invariant(
        batch.baseOffset > last.lastOffset,
        `producer batch at ${batch.baseOffset} out of log order`,
      );
    }

    const kept =
      entry?.epoch === batch.producerEpoch ? entry.batches.slice(1 - REMEMBERED_BATCHES) : [];
    this.#producers.set(batch.producerId, {
      epoch: batch.producerEpoch,
      batches: [...kept, remembered],
      lastTimestamp: batch.maxTimestamp,
    });
  }

  /**
   * The log was cut at `offset`: batches at or past it are forgotten, and a producer with none
   * left is forgotten too. This is cheaper than a rebuild but coarser: a window cut this way holds
   * fewer than five batches, so a retry of a batch that had left it is refused as out of order
   * instead of answered as a duplicate; and as older epochs are not kept, a producer whose
   * remaining batches are all of an older epoch is forgotten, and may then start at any sequence.
   * `rebuild` over the remaining log gives the exact table.
   */
  truncateTo(offset: bigint): void {
    for (const [producerId, entry] of this.#producers) {
      const kept = entry.batches.filter((b) => b.lastOffset < offset);
      const straddling = entry.batches.find((b) => b.baseOffset < offset && b.lastOffset >= offset);
      invariant(straddling === undefined, `truncation at ${offset} falls inside a batch`);
      if (kept.length === entry.batches.length) continue;

      if (kept.length === 0) this.#producers.delete(producerId);
      else this.#producers.set(producerId, { ...entry, batches: kept });
    }
  }

  /** Forgets producers whose latest batch is older than `expirationMs` (producer.id.expiration). */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.#producers) {
      if (BigInt(nowMs) - entry.lastTimestamp <= BigInt(expirationMs)) continue;
      this.#producers.delete(producerId);
      removed++;
    }
    return removed;
  }
}

/** A known producer moving to a new epoch starts its sequence again at 0. */
function checkNewEpoch(batch: ProducerBatch): ProducerVerdict {
  if (batch.baseSequence !== 0) {
    throw new KafkaError(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      `producer ${batch.producerId} epoch ${batch.producerEpoch} must start at sequence 0`,
    );
  }
  return { kind: 'append' };
}

function findBatch(entry: ProducerEntry, first: number, last: number): RememberedBatch | undefined {
  return entry.batches.find((b) => b.firstSequence === first && b.lastSequence === last);
}
