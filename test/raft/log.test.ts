// The in-memory Raft log: the conflict search used for back-off hints, checked against a scan, and
// the truncation and compaction rules on small examples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { controllerId, raftIndex, term } from '../../shared/ids.ts';
import { RaftLog } from '../../control-plane/raft/log.ts';
import type { Entry, Snapshot } from '../../control-plane/raft/types.ts';

const voters = [controllerId(1), controllerId(2), controllerId(3)];

function snapshotAt(index: number, snapshotTerm: number): Snapshot {
  return {
    meta: { index: raftIndex(index), term: term(snapshotTerm), voters },
    data: new Uint8Array(),
  };
}

function entries(from: number, terms: number[]): Entry[] {
  return terms.map((t, k) => ({ kind: 'noop', index: raftIndex(from + k), term: term(t) }));
}

describe('RaftLog.findConflictByTerm', () => {
  const shape = fc.record({
    base: fc.nat(20),
    baseTerm: fc.nat(3),
    steps: fc.array(fc.nat(2), { maxLength: 25 }),
    probe: fc.nat(60),
    probeTerm: fc.nat(10),
  });

  it('finds the last index at or before the probe whose term is not above the given one', () => {
    fc.assert(
      fc.property(shape, ({ base, baseTerm, steps, probe, probeTerm }) => {
        const terms: number[] = [];
        for (const step of steps) terms.push((terms.at(-1) ?? baseTerm) + step);
        const log = new RaftLog(
          snapshotAt(base, baseTerm),
          entries(base + 1, terms),
          raftIndex(base),
          raftIndex(base),
        );

        let expected = Math.min(probe, base + terms.length);
        while (expected > base && terms[expected - base - 1] > probeTerm) expected -= 1;
        if (probe <= base) expected = probe;

        expect(log.findConflictByTerm(raftIndex(probe), term(probeTerm))).toBe(expected);
      }),
    );
  });
});

describe('RaftLog', () => {
  it('keeps entries it already holds and truncates from the first conflict', () => {
    const log = new RaftLog(snapshotAt(0, 0), entries(1, [1, 1, 2, 2]), raftIndex(1), raftIndex(0));

    const last = log.appendFrom(raftIndex(1), entries(2, [1, 3]));

    expect(last).toBe(2 + 1);
    expect(log.lastIndex).toBe(3);
    expect([1, 2, 3].map((i) => log.termAt(raftIndex(i)))).toEqual([1, 1, 3]);
  });

  it('refuses to truncate committed entries', () => {
    const log = new RaftLog(snapshotAt(0, 0), entries(1, [1, 1, 2]), raftIndex(3), raftIndex(0));

    expect(() => log.appendFrom(raftIndex(1), entries(2, [4]))).toThrow(/truncating committed/);
  });

  it('compacts applied entries into a snapshot carrying the voters in force', () => {
    const config: Entry = {
      kind: 'config',
      index: raftIndex(2),
      term: term(1),
      change: { type: 'add-voter', id: controllerId(4) },
      voters: [...voters, controllerId(4)],
    };
    const all = [entries(1, [1])[0], config, ...entries(3, [2, 2])];
    const log = new RaftLog(snapshotAt(0, 0), all, raftIndex(4), raftIndex(3));

    const snapshot = log.compact(raftIndex(3), new Uint8Array([7]));

    expect(snapshot.meta).toEqual({ index: 3, term: 2, voters: [1, 2, 3, 4] });
    expect(log.firstIndex).toBe(4);
    expect(log.termAt(raftIndex(3))).toBe(2);
    expect(log.entryAt(raftIndex(3))).toBeUndefined();
    expect(() => log.compact(raftIndex(4), new Uint8Array())).toThrow(/not yet applied/);
  });
});
