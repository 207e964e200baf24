// Idempotent produce checks on a partition leader, with appends in flight. The producer table
// (replication/producer-state.ts) knows the batches already in the log; but a producer may have
// several produces in flight (librdkafka keeps up to five), and the log assigns offsets only when
// its writer runs, so a batch is checked here against the table plus the batches of the same
// producer that were admitted and are not written yet, in arrival order. A retry of a batch still
// in flight waits for the original's offsets instead of being written twice.
//
// Batches reach the table in log order: the Partition reports each write as it completes (writes
// complete in offset order), and followers and recovery feed it the batches they copy or read.
import { ErrorCode, KafkaError } from '../shared/kafka-errors.ts';
import {
  lastSequenceOf,
  nextSequence,
  NO_PRODUCER_ID,
  type LoggedProducerBatch,
  type ProducerBatch,
  ProducerStateTable,
} from './replication/producer-state.ts';

export interface BatchOffsets {
  baseOffset: bigint;
  lastOffset: bigint;
}

/** A batch admitted for writing; hand it back to `written` or `failed`. */
export interface Ticket {
  readonly batch: ProducerBatch;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly offsets: Promise<BatchOffsets>;
  settle(result: BatchOffsets | Error): void;
}

export type Admission =
  | { kind: 'plain' }
  | { kind: 'append'; ticket: Ticket }
  | { kind: 'duplicate'; offsets: Promise<BatchOffsets> };

export class ProducerGate {
  #table = new ProducerStateTable();

  /** Per producer id, the admitted batches not yet written, oldest first. */
  readonly #inFlight = new Map<bigint, Ticket[]>();

  get producerCount(): number {
    return this.#table.size;
  }

  /**
   * Checks a produced batch before it is written. Throws INVALID_PRODUCER_EPOCH or
   * OUT_OF_ORDER_SEQUENCE_NUMBER; a duplicate comes back with the offsets it was written at.
   */
  admit(batch: ProducerBatch): Admission {
    if (batch.producerId === NO_PRODUCER_ID) return { kind: 'plain' };

    const pending = this.#inFlight.get(batch.producerId) ?? [];
    if (pending.length === 0) return this.#admitAgainstLog(batch);

    const logged = this.#loggedDuplicate(batch);
    if (logged !== null) return { kind: 'duplicate', offsets: Promise.resolve(logged) };

    const last = pending[pending.length - 1];
    const retried = pending.find((t) => sameBatch(t, batch));
    if (retried !== undefined) return { kind: 'duplicate', offsets: retried.offsets };

    checkFollows(batch, last);
    return { kind: 'append', ticket: this.#track(batch) };
  }

  /** An admitted batch is in the log at `offsets`. Called in log order. */
  written(ticket: Ticket, logged: LoggedProducerBatch): void {
    this.#untrack(ticket);
    this.#table.onAppend(logged);
    ticket.settle({
      baseOffset: logged.baseOffset,
      lastOffset: logged.baseOffset + BigInt(logged.lastOffsetDelta),
    });
  }

  /** An admitted batch was not written; a retry waiting for it fails alike. */
  failed(ticket: Ticket, err: Error): void {
    this.#untrack(ticket);
    ticket.settle(err);
  }

  /** A batch a follower copied, or recovery read, in log order. */
  onLogged(batch: LoggedProducerBatch): void {
    this.#table.onAppend(batch);
  }

  /** The log was cut at `offset` (a follower truncating its divergent tail). */
  truncateTo(offset: bigint): void {
    this.#table.truncateTo(offset);
  }

  /** Forgets everything: the log restarted empty. */
  clear(): void {
    this.#table = new ProducerStateTable();
    for (const pending of this.#inFlight.values()) {
      for (const ticket of pending) ticket.settle(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    }
    this.#inFlight.clear();
  }

  removeExpired(nowMs: number, expirationMs: number): number {
    return this.#table.removeExpired(nowMs, expirationMs);
  }

  #admitAgainstLog(batch: ProducerBatch): Admission {
    const verdict = this.#table.validate(batch);
    if (verdict.kind === 'duplicate')
      return { kind: 'duplicate', offsets: Promise.resolve(verdict) };
    return { kind: 'append', ticket: this.#track(batch) };
  }

  #loggedDuplicate(batch: ProducerBatch): BatchOffsets | null {
    const entry = this.#table.entry(batch.producerId);
    if (entry === undefined || entry.epoch !== batch.producerEpoch) return null;

    const last = lastSequenceOf(batch);
    const found = entry.batches.find(
      (b) => b.firstSequence === batch.baseSequence && b.lastSequence === last,
    );
    return found === undefined
      ? null
      : { baseOffset: found.baseOffset, lastOffset: found.lastOffset };
  }

  #track(batch: ProducerBatch): Ticket {
    let settle!: (result: BatchOffsets | Error) => void;
    const offsets = new Promise<BatchOffsets>((resolve, reject) => {
      settle = (result) => (result instanceof Error ? reject(result) : resolve(result));
    });
    // A retry may never come to wait on it; an unobserved failure is not an error here.
    offsets.catch(() => undefined);

    const ticket: Ticket = {
      batch,
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch),
      offsets,
      settle,
    };
    const pending = this.#inFlight.get(batch.producerId) ?? [];
    pending.push(ticket);
    this.#inFlight.set(batch.producerId, pending);
    return ticket;
  }

  #untrack(ticket: Ticket): void {
    const id = ticket.batch.producerId;
    const pending = (this.#inFlight.get(id) ?? []).filter((t) => t !== ticket);
    if (pending.length === 0) this.#inFlight.delete(id);
    else this.#inFlight.set(id, pending);
  }
}

function sameBatch(ticket: Ticket, batch: ProducerBatch): boolean {
  return (
    ticket.batch.producerEpoch === batch.producerEpoch &&
    ticket.firstSequence === batch.baseSequence &&
    ticket.lastSequence === lastSequenceOf(batch)
  );
}

/** A batch behind one still in flight: same epoch and the next sequence, or a new epoch at 0. */
function checkFollows(batch: ProducerBatch, last: Ticket): void {
  const lastEpoch = last.batch.producerEpoch;
  if (batch.producerEpoch < lastEpoch) {
    throw new KafkaError(
      ErrorCode.INVALID_PRODUCER_EPOCH,
      `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than ${lastEpoch}`,
    );
  }

  const expected = batch.producerEpoch > lastEpoch ? 0 : nextSequence(last.lastSequence);
  if (batch.baseSequence !== expected) {
    throw new KafkaError(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      `producer ${batch.producerId} sent sequence ${batch.baseSequence}, expected ${expected}`,
    );
  }
}
