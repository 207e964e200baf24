// The high watermark rule of a partition leader, as one pure function. A record is committed (a
// consumer may read it, an acks=all producer is answered) once every member of the ISR holds it on
// disk, the leader included. Followers report only what they have fsynced, so "holds" means
// durable. While an ISR change is in flight at the controller, the leader counts the maximal ISR
// (committed members plus proposed ones), so whichever way the controller decides, every replica
// it may later elect has the committed records.
//
// min.insync.replicas is enforced here too: with fewer committed ISR members than that, nothing
// becomes committed, so a leader left alone cannot acknowledge records only it holds.

export interface HighWatermarkInput {
  /** The current high watermark; the result never goes below it. */
  current: bigint;
  /** The leader's own durable log end offset. */
  leaderFlushedOffset: bigint;
  /**
   * The durable log end offsets the other members of the maximal ISR last reported; null for a
   * member that has not fetched yet in this leader epoch (nothing is known to be on it).
   */
  followerEndOffsets: readonly (bigint | null)[];
  /** Members of the ISR as the controller last committed it, the leader included. */
  committedIsrSize: number;
  minInsyncReplicas: number;
}

/** The high watermark after an event: the least durable end offset over the maximal ISR. */
export function nextHighWatermark(input: HighWatermarkInput): bigint {
  if (input.committedIsrSize < input.minInsyncReplicas) return input.current;

  let least = input.leaderFlushedOffset;
  for (const end of input.followerEndOffsets) {
    if (end === null) return input.current;
    if (end < least) least = end;
  }

  return least > input.current ? least : input.current;
}
