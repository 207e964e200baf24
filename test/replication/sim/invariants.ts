// The invariants the simulation checks after every step, each named for the promise it guards,
// and the end state the calm phase must reach.
import type { SimController } from './controller.ts';
import type { SimReplica } from './replica.ts';
import { lastOffsetOf } from './sim-log.ts';

/** What the checks read of the world. */
export interface Observed {
  readonly nodes: readonly SimReplica[];
  readonly controller: SimController;
  /** Acknowledged (acks=all) batches by producer key. */
  readonly acked: ReadonlyMap<string, { baseOffset: bigint; bytes: string }>;
  /** The highest high watermark each leader epoch has shown, and which node showed it. */
  readonly highWatermarkByEpoch: Map<number, { node: number; highWatermark: bigint }>;
  /**
   * Every batch that has been below a leader's high watermark (a consumer may have read it), by
   * base offset.
   */
  readonly committed: Map<bigint, string>;
  readonly producerDone: boolean;
  readonly minInsyncReplicas: number;
  fail(reason: string): never;
}

export function checkInvariants(world: Observed): void {
  acknowledgedRecordsAreOnEveryIsrMember(world);
  committedRecordsAreOnEveryIsrMember(world);
  replicasAgreeBelowTheirHighWatermarks(world);
  highWatermarkNeverMovesBackWithinAnEpoch(world);
  committedProducerSequencesAreExact(world);
}

/**
 * acks=all: every acknowledged batch is on disk, at its offset, on every member of the ISR the
 * controller holds, so whichever it elects next has it (elections are checked on their own).
 */
function acknowledgedRecordsAreOnEveryIsrMember(world: Observed): void {
  for (const id of world.controller.record.isr) {
    const node = world.nodes.find((n) => n.id === id)!;
    const flushed = node.log.flushedOffset;
    for (const [key, acked] of world.acked) {
      const batch = node.log.batchAt(acked.baseOffset);
      if (batch?.bytes !== acked.bytes || lastOffsetOf(batch) >= flushed) {
        world.fail(`ISR member ${id} lacks acknowledged ${key} at ${acked.baseOffset} on disk`);
      }
    }
  }
}

/** The same for what consumers may have read: a committed record never goes away. */
function committedRecordsAreOnEveryIsrMember(world: Observed): void {
  for (const id of world.controller.record.isr) {
    const node = world.nodes.find((n) => n.id === id)!;
    for (const [offset, bytes] of world.committed) {
      const batch = node.log.batchAt(offset);
      if (batch?.bytes !== bytes || lastOffsetOf(batch) >= node.log.flushedOffset) {
        world.fail(`ISR member ${id} lacks the batch committed at ${offset} on disk`);
      }
    }
  }
}

/**
 * Below the high watermark a replica knows (on disk, for a crashed one), every replica holds the
 * same batches, byte for byte.
 */
function replicasAgreeBelowTheirHighWatermarks(world: Observed): void {
  for (const node of world.nodes) {
    const hw = node.highWatermark;
    if (hw > node.log.logEndOffset) world.fail(`node ${node.id} HW ${hw} above its log end`);
  }

  for (let i = 0; i < world.nodes.length; i++) {
    for (let j = i + 1; j < world.nodes.length; j++) {
      const a = world.nodes[i];
      const b = world.nodes[j];
      const limit = a.highWatermark < b.highWatermark ? a.highWatermark : b.highWatermark;
      compareBelow(world, a, b, limit);
    }
  }
}

function compareBelow(world: Observed, a: SimReplica, b: SimReplica, limit: bigint): void {
  for (let k = 0; k < a.log.batches.length; k++) {
    const batch = a.log.batches[k];
    if (batch.baseOffset >= limit) return;
    if (b.log.batches[k]?.bytes !== batch.bytes) {
      world.fail(`nodes ${a.id} and ${b.id} differ at ${batch.baseOffset}, below HW ${limit}`);
    }
  }
}

/** What a consumer sees: one leader per epoch, whose high watermark only moves forward. */
function highWatermarkNeverMovesBackWithinAnEpoch(world: Observed): void {
  for (const node of world.nodes) {
    const leader = node.alive ? node.leader : null;
    if (leader === null) continue;

    const seen = world.highWatermarkByEpoch.get(leader.leaderEpoch);
    if (seen !== undefined && seen.node !== node.id) {
      world.fail(`nodes ${seen.node} and ${node.id} both lead epoch ${leader.leaderEpoch}`);
    }
    if (seen !== undefined && leader.highWatermark < seen.highWatermark) {
      const moves = `${seen.highWatermark} to ${leader.highWatermark}`;
      world.fail(`HW of epoch ${leader.leaderEpoch} went from ${moves}`);
    }
    world.highWatermarkByEpoch.set(leader.leaderEpoch, {
      node: node.id,
      highWatermark: leader.highWatermark,
    });
    recordCommitted(world, node);
  }
}

/**
 * Batches newly below a leader's high watermark become committed: each must have been on disk on
 * at least min.insync.replicas replicas when that happened, and no other batch may ever have been
 * committed at its offset.
 */
function recordCommitted(world: Observed, leader: SimReplica): void {
  for (const batch of leader.log.batches) {
    if (batch.baseOffset >= leader.highWatermark) return;

    const earlier = world.committed.get(batch.baseOffset);
    if (earlier === batch.bytes) continue;
    if (earlier !== undefined) world.fail(`two batches committed at ${batch.baseOffset}`);

    const copies = world.nodes.filter((n) => {
      const held = n.log.batchAt(batch.baseOffset);
      return held?.bytes === batch.bytes && lastOffsetOf(batch) < n.log.flushedOffset;
    });
    if (copies.length < world.minInsyncReplicas) {
      world.fail(`batch at ${batch.baseOffset} committed with ${copies.length} durable copies`);
    }
    world.committed.set(batch.baseOffset, batch.bytes);
  }
}

/**
 * Idempotence: in what is committed, each producer epoch's sequences run 0, 1, 2... once each,
 * so no retry was written twice and none was skipped.
 */
function committedProducerSequencesAreExact(world: Observed): void {
  for (const node of world.nodes) {
    const next = new Map<string, number>();
    for (const batch of node.log.batches) {
      if (batch.baseOffset >= node.highWatermark) break;

      if (batch.producerId === -1n) continue;
      const key = `${batch.producerId}:${batch.producerEpoch}`;
      const expected = next.get(key) ?? 0;
      if (batch.baseSequence !== expected) {
        world.fail(
          `node ${node.id} committed ${key} sequence ${batch.baseSequence}, expected ${expected}`,
        );
      }
      next.set(key, expected + batch.lastOffsetDelta + 1);
    }
  }
}

/** Null once the partition is whole again; otherwise what is still missing. */
export function checkSettled(world: Observed): string | null {
  const record = world.controller.record;
  const leader = world.nodes.find((n) => n.id === record.leader);
  if (leader?.leader === null || leader === undefined) return `no active leader (${record.leader})`;
  if (leader.leader.leaderEpoch !== record.leaderEpoch) return 'leader has not learned its epoch';
  if (record.isr.length !== record.replicas.length) return `ISR is ${record.isr}`;
  if (!world.producerDone) return 'producer still has a batch unacknowledged';

  const end = leader.log.logEndOffset;
  const hw = leader.leader.highWatermark;
  if (hw !== end) return `HW ${hw} below log end ${end}`;
  for (const node of world.nodes) {
    const same =
      node.log.batches.length === leader.log.batches.length &&
      node.log.batches.every((b, i) => b.bytes === leader.log.batches[i].bytes);
    if (!same) return `node ${node.id} does not hold the leader's log`;
  }
  return null;
}
