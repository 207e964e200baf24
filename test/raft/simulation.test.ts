// The deterministic simulator over a few hundred seeds: whole 3- and 5-voter clusters under message
// loss, duplication, delay, partitions, crashes, clock jumps, compaction and membership changes,
// with Raft's safety properties checked after every event and every acknowledged write found on
// every voter at the end. Many more seeds: `npx tsx test/raft/sim/run.ts --seeds 10000`.
import { describe, expect, it } from 'vitest';
import { runSimulation } from './sim/simulation.ts';

const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 300);
const FIRST_SEED = Number(process.env.RAFT_SIM_FROM ?? 1);

describe('raft simulation', () => {
  it(`holds its invariants over ${SEEDS} seeds`, () => {
    const failures: string[] = [];
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS && failures.length < 3; seed++) {
      const result = runSimulation({ seed });
      if (!result.ok) {
        failures.push(
          `seed ${seed}: ${result.failure.message}\n` +
            `  replay: npx tsx test/raft/sim/run.ts --seed ${seed} --trace`,
        );
      }
    }
    expect(failures).toEqual([]);
  });
});
