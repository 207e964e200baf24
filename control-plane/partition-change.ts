// Pure changes of one partition's leadership and ISR, used by the state machine when data nodes
// come and go and when leaders ask for ISR changes. Invariants of a partition record:
//   - isr is a non-empty subset of replicas;
//   - leader is -1 or a member of isr;
//   - leaderEpoch grows by one at every leader change (to -1 included), and only then;
//   - partitionEpoch grows by one at every change of the record, and only then.
// Only a replica that is registered and unfenced ("eligible") is made leader.
import type { PartitionRecord } from '../shared/cluster-metadata.ts';
import { invariant } from '../shared/assert.ts';
import { ErrorCode } from '../shared/kafka-errors.ts';
import { ControllerErrorCode } from './commands.ts';

export const NO_LEADER = -1;

export type Eligible = (nodeId: number) => boolean;

/** The record with leader and ISR replaced, epochs advanced as the invariants require. */
export function withLeaderAndIsr(
  current: PartitionRecord,
  leader: number,
  isr: readonly number[],
): PartitionRecord {
  const leaderChanged = leader !== current.leader;
  const isrChanged = !sameMembers(isr, current.isr);
  if (!leaderChanged && !isrChanged) return current;

  const next: PartitionRecord = {
    ...current,
    leader,
    isr: [...isr],
    leaderEpoch: current.leaderEpoch + (leaderChanged ? 1 : 0),
    partitionEpoch: current.partitionEpoch + 1,
  };
  checkPartition(next);
  return next;
}

export function checkPartition(p: PartitionRecord): void {
  invariant(p.isr.length > 0, `partition ${p.partition}: empty ISR`);
  invariant(
    p.isr.every((id) => p.replicas.includes(id)),
    `partition ${p.partition}: ISR ${p.isr} not within replicas ${p.replicas}`,
  );
  invariant(
    p.leader === NO_LEADER || p.isr.includes(p.leader),
    `partition ${p.partition}: leader ${p.leader} outside ISR ${p.isr}`,
  );
}

/**
 * Makes sure the partition has an eligible leader if one can be had: keeps the current one when
 * it is still eligible, else takes the first eligible ISR member in replica order. With unclean
 * election allowed and no eligible ISR member, any eligible replica leads, and the ISR becomes
 * that replica alone (records only the old ISR had may be lost: this is what "unclean" means).
 */
export function electLeader(p: PartitionRecord, eligible: Eligible, unclean: boolean) {
  const choice = chooseLeader(p.replicas, p.isr, p.leader, eligible, unclean);
  return withLeaderAndIsr(p, choice.leader, choice.isr);
}

function chooseLeader(
  replicas: readonly number[],
  isr: readonly number[],
  current: number,
  eligible: Eligible,
  unclean: boolean,
): { leader: number; isr: readonly number[] } {
  if (current !== NO_LEADER && isr.includes(current) && eligible(current)) {
    return { leader: current, isr };
  }

  const clean = replicas.find((id) => isr.includes(id) && eligible(id));
  if (clean !== undefined) return { leader: clean, isr };

  const anyReplica = unclean ? replicas.find(eligible) : undefined;
  if (anyReplica !== undefined) return { leader: anyReplica, isr: [anyReplica] };

  return { leader: NO_LEADER, isr };
}

/**
 * A data node went away (fenced, or restarted and lost what it had not flushed): it leaves the
 * ISR, unless it is the last member, which stays so that it can lead again without losing
 * records when it returns; then the partition gets a new leader if it led. One change, so each
 * epoch moves by one at most.
 */
export function removeReplica(
  p: PartitionRecord,
  nodeId: number,
  eligible: Eligible,
  unclean: boolean,
): PartitionRecord {
  const isr = p.isr.length > 1 ? p.isr.filter((id) => id !== nodeId) : p.isr;
  const others: Eligible = (id) => id !== nodeId && eligible(id);

  const choice = chooseLeader(p.replicas, isr, p.leader, others, unclean);
  return withLeaderAndIsr(p, choice.leader, choice.isr);
}

export interface ElectionOutcome {
  partition: PartitionRecord;
  errorCode: number;
}

/** Moves leadership to the first replica when it is eligible and in the ISR. */
export function electPreferred(p: PartitionRecord, eligible: Eligible): ElectionOutcome {
  const preferred = p.replicas[0];
  if (p.leader === preferred) {
    return { partition: p, errorCode: ControllerErrorCode.ELECTION_NOT_NEEDED };
  }
  if (!p.isr.includes(preferred) || !eligible(preferred)) {
    return { partition: p, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE };
  }
  return { partition: withLeaderAndIsr(p, preferred, p.isr), errorCode: ErrorCode.NONE };
}

/** Gives a leaderless partition a leader, from outside the ISR if it must. */
export function electUnclean(p: PartitionRecord, eligible: Eligible): ElectionOutcome {
  if (p.leader !== NO_LEADER) {
    return { partition: p, errorCode: ControllerErrorCode.ELECTION_NOT_NEEDED };
  }
  const next = electLeader(p, eligible, true);
  if (next.leader === NO_LEADER) {
    return { partition: p, errorCode: ControllerErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE };
  }
  return { partition: next, errorCode: ErrorCode.NONE };
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
