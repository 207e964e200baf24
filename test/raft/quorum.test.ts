// The majority arithmetic behind commit, elections and ReadIndex, checked against naive models
// over random inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { controllerId, raftIndex, term } from '../../shared/ids.ts';
import {
  leaderCommitIndex,
  majority,
  quorumValue,
  voteOutcome,
} from '../../control-plane/raft/quorum.ts';

/** The largest v among 0 and the values that at least a majority of values reach, by counting. */
function naiveQuorumValue(values: number[]): number {
  const candidates = [0, ...values];
  const reached = candidates.filter((v) => values.filter((x) => x >= v).length > values.length / 2);
  return Math.max(...reached);
}

/** Raft's rule spelled out: the highest N > commit on a majority whose entry is of this term. */
function naiveCommit(matches: number[], commit: number, current: number, terms: number[]): number {
  let best = commit;
  for (let n = commit + 1; n < terms.length; n++) {
    const onMajority = matches.filter((m) => m >= n).length > matches.length / 2;
    if (onMajority && terms[n] === current) best = n;
  }
  return best;
}

const voterCount = fc.integer({ min: 1, max: 7 });

describe('quorumValue', () => {
  it('equals the largest value a majority reaches', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 7 }), (values) => {
        expect(quorumValue(values)).toBe(naiveQuorumValue(values));
      }),
    );
  });
});

describe('leaderCommitIndex', () => {
  // A log of non-decreasing terms up to the current one, match indexes within it.
  const scenario = fc
    .tuple(voterCount, fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 30 }))
    .chain(([voters, steps]) => {
      const terms = [0];
      for (const step of steps) terms.push(terms.at(-1)! + step);
      const last = terms.length - 1;
      return fc.record({
        terms: fc.constant(terms),
        matches: fc.array(fc.integer({ min: 0, max: last }), {
          minLength: voters,
          maxLength: voters,
        }),
        commit: fc.integer({ min: 0, max: last }),
        current: fc.integer({ min: terms[last], max: terms[last] + 1 }),
      });
    });

  it('commits exactly what a majority holds of the current term, never going back', () => {
    fc.assert(
      fc.property(scenario, ({ terms, matches, commit, current }) => {
        const voters = matches.map((_, k) => controllerId(k + 1));
        const next = leaderCommitIndex({
          voters,
          matchOf: (id) => raftIndex(matches[id - 1]),
          commitIndex: raftIndex(commit),
          currentTerm: term(current),
          termAt: (i) => (i < terms.length ? term(terms[i]) : undefined),
        });
        expect(next).toBe(naiveCommit(matches, commit, current, terms));
        expect(next).toBeGreaterThanOrEqual(commit);
      }),
    );
  });
});

describe('voteOutcome', () => {
  const ballot = fc.constantFrom<boolean | undefined>(true, false, undefined);

  it('is won with a majority of grants, lost once a majority is out of reach', () => {
    fc.assert(
      fc.property(
        voterCount.chain((n) => fc.array(ballot, { minLength: n, maxLength: n })),
        fc.array(fc.boolean(), { maxLength: 3 }),
        (ballots, strangers) => {
          const voters = ballots.map((_, k) => controllerId(k + 1));
          const votes = new Map<ReturnType<typeof controllerId>, boolean>();
          ballots.forEach((b, k) => b !== undefined && votes.set(controllerId(k + 1), b));
          // Answers from outside the voter set must not count.
          strangers.forEach((b, k) => votes.set(controllerId(100 + k), b));

          const granted = ballots.filter((b) => b === true).length;
          const open = ballots.filter((b) => b === undefined).length;
          const needed = majority(voters.length);
          const expected = granted >= needed ? 'won' : granted + open < needed ? 'lost' : 'pending';
          expect(voteOutcome(voters, votes)).toBe(expected);
        },
      ),
    );
  });
});
