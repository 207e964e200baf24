// Runs the Raft simulator from the command line:
//   npx tsx test/raft/sim/run.ts --seeds 10000 [--from 1]   many seeds, a summary at the end
//   npx tsx test/raft/sim/run.ts --seed 1234 [--trace]      one seed, replayed exactly
// A failing seed prints the one-line command that replays it, and the exit status is 1.
import { Command } from 'commander';
import { runSimulation, type SimResult } from './simulation.ts';

const program = new Command()
  .name('raft-sim')
  .option('--seeds <count>', 'number of seeds to run', '100')
  .option('--from <seed>', 'first seed', '1')
  .option('--seed <seed>', 'run only this seed')
  .option('--trace', 'print every event of the run (with --seed)')
  .option('--keep-going', 'do not stop at the first failure')
  .parse();

const options = program.opts<{
  seeds: string;
  from: string;
  seed?: string;
  trace?: boolean;
  keepGoing?: boolean;
}>();

function replayCommand(seed: number): string {
  return `npx tsx test/raft/sim/run.ts --seed ${seed} --trace`;
}

function report(result: SimResult): void {
  if (result.ok) return;
  console.log(`FAIL seed ${result.seed}: ${result.failure.message}`);
  console.log(`  replay: ${replayCommand(result.seed)}`);
}

if (options.seed !== undefined) {
  const seed = Number(options.seed);
  const trace = options.trace ? (line: string) => console.log(line) : undefined;
  const result = runSimulation({ seed, trace });
  if (result.ok) console.log(`ok seed ${seed} ${JSON.stringify(result.stats)}`);
  else {
    report(result);
    if (!(result.failure.name === 'SimFailure')) console.log(result.failure.stack);
  }
  process.exitCode = result.ok ? 0 : 1;
} else {
  const count = Number(options.seeds);
  const from = Number(options.from);
  const started = performance.now();
  let failures = 0;
  let events = 0;

  for (let seed = from; seed < from + count; seed++) {
    const result = runSimulation({ seed });
    if (result.ok) events += result.stats.events;
    else {
      failures += 1;
      report(result);
      if (!options.keepGoing) break;
    }
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${count} seeds from ${from}: ${failures} failed, ${events} events, ${seconds} s`);
  process.exitCode = failures > 0 ? 1 : 0;
}
