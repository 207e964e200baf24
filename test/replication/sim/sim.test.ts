// The replication simulation over a few hundred seeds. Each seed runs a fault schedule (crashes
// losing unflushed data, lost and reordered messages, isolation, fencing, leader moves, producer
// retries and restarts) against one partition with three replicas, checking after every step that
// acknowledged and committed records are on every ISR member's disk, that replicas agree below
// their high watermarks, that a leader epoch's high watermark never moves back, and that committed
// producer sequences are exact; then a calm phase must bring every replica back in sync. A failure
// names the command that replays its seed. Sweep more seeds with run.ts (see its header).
import { describe, expect, it } from 'vitest';
import { replayCommand, runSeed } from './run.ts';

const SEEDS = 300;

describe('replication simulation', () => {
  it(`keeps every promise over ${SEEDS} seeds`, () => {
    let acked = 0;
    let leaderChanges = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const stats = runSeed(seed);
      acked += stats.acked;
      leaderChanges += stats.leaderChanges;
    }

    // The schedules must exercise something: acknowledged writes across many leader changes.
    expect(acked).toBeGreaterThan(SEEDS);
    expect(leaderChanges).toBeGreaterThan(SEEDS);
  });

  it('replays a seed exactly', () => {
    expect(runSeed(77)).toEqual(runSeed(77));
  });

  it('names the command that replays a seed', () => {
    expect(replayCommand(12, 800)).toBe('npx tsx test/replication/sim/run.ts --seed 12');
    expect(replayCommand(12, 50)).toBe('npx tsx test/replication/sim/run.ts --seed 12 --steps 50');
  });
});
