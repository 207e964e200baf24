// Majority arithmetic, kept pure so it can be checked against naive models: the commit point of
// the leader's match indexes, the outcome of an election, and the newest confirmed ReadIndex round
// all reduce to "the largest value a majority of voters has reached".
import { invariant } from '../../shared/assert.ts';
import type { ControllerId, RaftIndex, Term } from './types.ts';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest v such that a majority of `values` are >= v. With values sorted from high to low, the
 * majority-th one is reached by exactly a majority (itself and those above it).
 */
export function quorumValue(values: readonly number[]): number {
  invariant(values.length > 0, 'a quorum needs at least one voter');

  const descending = [...values].sort((a, b) => b - a);
  return descending[majority(values.length) - 1];
}

export interface CommitInput {
  readonly voters: readonly ControllerId[];
  /** Highest index known replicated on each voter (the leader's own durable last index). */
  readonly matchOf: (id: ControllerId) => RaftIndex;
  readonly commitIndex: RaftIndex;
  readonly currentTerm: Term;
  readonly termAt: (index: RaftIndex) => Term | undefined;
}

/**
 * The leader's next commit index. A majority-replicated entry counts only if it is of the current
 * term: an older-term entry on a majority can still be overwritten (Raft paper, figure 8); it
 * becomes committed indirectly when a current-term entry after it is.
 */
export function leaderCommitIndex(input: CommitInput): RaftIndex {
  const { voters, matchOf, commitIndex, currentTerm, termAt } = input;
  if (voters.length === 0) return commitIndex;

  const replicated = quorumValue(voters.map(matchOf)) as RaftIndex;
  if (replicated <= commitIndex) return commitIndex;
  if (termAt(replicated) !== currentTerm) return commitIndex;
  return replicated;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies granted and refused votes of the current voters; other senders do not count. */
export function voteOutcome(
  voters: readonly ControllerId[],
  votes: ReadonlyMap<ControllerId, boolean>,
): VoteOutcome {
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted += 1;
    if (vote === false) refused += 1;
  }

  const needed = majority(voters.length);
  if (granted >= needed) return 'won';
  if (refused > voters.length - needed) return 'lost';
  return 'pending';
}
