// The replication simulation over a few hundred seeds. Each seed runs a fault schedule (crashes
// losing unflushed data, lost and reordered messages, isolation, fencing, leader moves, producer
// retries and restarts) against one partition with three replicas, checking after every step that
// acknowledged and committed records are on every ISR member's disk, that replicas agree below
// their high watermarks, that a leader epoch's high watermark never moves back, and that committed
// producer sequences are exact; then a calm phase must bring every replica back in sync. A failure
// names the command that replays its seed. Sweep more seeds with run.ts (see its header).
//
// Followers read what a leader has written before it is durable, as Kafka followers read the page
// cache; the checks must then still hold when a leader crashes and loses a tail that followers
// hold. Each injected mistake about what counts as held must be caught within a few seeds.
import { describe, expect, it } from 'vitest';
import type { SimBug } from './replica.ts';
import { replayCommand, runSeed } from './run.ts';
import { SimFailure, World } from './world.ts';

const SEEDS = 300;

describe('replication simulation', () => {
  it(`keeps every promise over ${SEEDS} seeds`, () => {
    let acked = 0;
    let leaderChanges = 0;
    let unflushedFetches = 0;
    let lostTailsHeldElsewhere = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const stats = runSeed(seed);
      acked += stats.acked;
      leaderChanges += stats.leaderChanges;
      unflushedFetches += stats.unflushedFetches;
      lostTailsHeldElsewhere += stats.lostTailsHeldElsewhere;
    }

    // The schedules must exercise something: acknowledged writes across many leader changes,
    // followers reading undurable tails, and crashes losing tails that followers hold.
    expect(acked).toBeGreaterThan(SEEDS);
    expect(leaderChanges).toBeGreaterThan(SEEDS);
    expect(unflushedFetches).toBeGreaterThan(SEEDS);
    expect(lostTailsHeldElsewhere).toBeGreaterThan(SEEDS / 10);
  });

  const BUGS: SimBug[] = [
    'leader-counts-written',
    'follower-reports-written',
    'leader-resumes-epoch',
  ];
  it.each(BUGS)('catches an injected mistake: %s', (bug) => {
    expect(firstFailure(bug, 200)).toMatch(SAFETY_FAILURE);
  });

  it('replays a seed exactly', () => {
    expect(runSeed(77)).toEqual(runSeed(77));
  });

  it('names the command that replays a seed', () => {
    expect(replayCommand(12, 800)).toBe('npx tsx test/replication/sim/run.ts --seed 12');
    expect(replayCommand(12, 50)).toBe('npx tsx test/replication/sim/run.ts --seed 12 --steps 50');
  });
});

/** What a broken promise looks like: a lost, doubled or moved record, or a HW moving back. */
const SAFETY_FAILURE =
  /acknowledged with|committed with|lacks|truncated|leads without|holds|HW of epoch|differ/;

/** The reason the first failing seed up to `maxSeed` gives, or null when every seed passes. */
function firstFailure(bug: SimBug, maxSeed: number): string | null {
  for (let seed = 1; seed <= maxSeed; seed++) {
    try {
      new World({ seed, steps: 800, bug }).run();
    } catch (err) {
      if (err instanceof SimFailure) return err.reason;
      throw err;
    }
  }
  return null;
}
