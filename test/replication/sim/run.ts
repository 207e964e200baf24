// Runs the replication simulation from the command line:
//   npx tsx test/replication/sim/run.ts --seed 42            replay one seed, with its last events
//   npx tsx test/replication/sim/run.ts --seed 42 --verbose  replay it, printing every event
//   npx tsx test/replication/sim/run.ts --seeds 1-5000       sweep, stopping at the first failure
import { Command } from 'commander';
import { SimFailure, type SimStats, World } from './world.ts';

export const DEFAULT_STEPS = 800;

export function replayCommand(seed: number, steps: number): string {
  const extra = steps === DEFAULT_STEPS ? '' : ` --steps ${steps}`;
  return `npx tsx test/replication/sim/run.ts --seed ${seed}${extra}`;
}

/** Runs one seed; a failure's message carries its last events and the command that replays it. */
export function runSeed(seed: number, steps = DEFAULT_STEPS, verbose = false): SimStats {
  try {
    return new World({ seed, steps, verbose }).run();
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    const report = [
      err.message,
      `replay: ${replayCommand(seed, steps)}`,
      'last events:',
      ...err.trace.map((line) => `  ${line}`),
    ];
    throw new Error(report.join('\n'), { cause: err });
  }
}

function parseRange(text: string): [number, number] {
  const [from, to] = text.split('-').map(Number);
  return [from, to ?? from];
}

function main(): void {
  const program = new Command()
    .option('--seed <n>', 'one seed to replay', Number)
    .option('--seeds <from-to>', 'a range of seeds to sweep', '1-100')
    .option('--steps <n>', 'steps with faults per seed', Number, DEFAULT_STEPS)
    .option('--verbose', 'print every event')
    .parse();
  const options = program.opts<{
    seed?: number;
    seeds: string;
    steps: number;
    verbose?: boolean;
  }>();

  const [from, to] =
    options.seed === undefined ? parseRange(options.seeds) : [options.seed, options.seed];
  const totals: Record<string, number> = { seeds: 0 };
  const started = Date.now();
  for (let seed = from; seed <= to; seed++) {
    let stats: SimStats;
    try {
      stats = runSeed(seed, options.steps, options.verbose === true);
    } catch (err) {
      console.error((err as Error).message);
      process.exitCode = 1;
      return;
    }
    totals.seeds++;
    for (const [name, value] of Object.entries(stats)) {
      if (typeof value === 'number') totals[name] = (totals[name] ?? 0) + value;
    }
    if (from === to) console.log(`seed ${seed}: ${JSON.stringify(stats, bigintText)}`);
  }
  console.log(
    `${totals.seeds} seeds passed in ${Date.now() - started} ms: ${JSON.stringify(totals)}`,
  );
}

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

if (process.argv[1]?.endsWith('run.ts')) main();
