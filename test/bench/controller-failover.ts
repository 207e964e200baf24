// How long the control plane is without a leader when it loses one: a cluster of three controller
// processes and its data nodes (ports 19720-19799), whose leader is taken away again and again by
// SIGKILL, by SIGSTOP (then SIGCONT), and by SIGKILL with an immediate restart. For each kind it
// prints the median and worst time until another controller accepted a write, and until the old
// leader served that write as a follower again; and it checks after every run that no committed
// topic or group offset is missing on any controller.
//
//   npx tsx test/bench/controller-failover.ts [--runs 10] [--kinds kill,pause,restart]
//       [--data-nodes 1] [--keep]
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { startTestCluster, stopTestCluster } from '../integration/cluster.ts';
import {
  failLeader,
  Ledger,
  type FailoverKind,
  type FailoverRun,
} from '../integration/failover.ts';

const BASE_PORT = 19720;
const KINDS: readonly FailoverKind[] = ['kill', 'pause', 'restart'];

interface Options {
  runs: string;
  kinds: string;
  dataNodes: string;
  keep: boolean;
}

async function main(): Promise<void> {
  const options = new Command('controller-failover')
    .option('--runs <n>', 'runs of each kind', '10')
    .option('--kinds <list>', `comma list of ${KINDS.join(', ')}`, KINDS.join(','))
    .option('--data-nodes <n>', 'data nodes in the cluster', '1')
    .option('--keep', 'keep the data directory and its logs', false)
    .parse()
    .opts<Options>();
  const runs = Number(options.runs);
  const kinds = options.kinds.split(',') as FailoverKind[];

  const cluster = await startTestCluster({
    basePort: BASE_PORT,
    controllers: 3,
    dataNodes: Number(options.dataNodes),
  });
  console.log(`cluster in ${cluster.dataDir}: 3 controllers, ${options.dataNodes} data node(s)`);

  const ledger = new Ledger();
  const results: FailoverRun[] = [];
  let fenced: number | null;
  try {
    for (const kind of kinds) {
      for (let i = 0; i < runs; i++) {
        const run = await failLeader(cluster, kind, results.length, ledger);
        results.push(run);
        console.log(
          `${kind.padEnd(7)} run ${String(i + 1).padStart(2)}: ` +
            `write accepted after ${ms(run.writeAcceptedMs)}, old leader back in ` +
            `${ms(run.rejoinedMs)} (controller ${run.oldLeader} -> ${run.newLeader})` +
            (run.lost.length > 0 ? `; LOST ${run.lost.join(', ')}` : ''),
        );
      }
    }
  } finally {
    fenced = fencings(cluster.processes);
    if (options.keep) await cluster.stop();
    else await stopTestCluster(cluster);
  }

  printSummary(kinds, results, ledger, fenced);
}

function printSummary(
  kinds: readonly FailoverKind[],
  results: readonly FailoverRun[],
  ledger: Ledger,
  fenced: number | null,
): void {
  console.log('\nkind     runs  write accepted: median  worst   old leader back: median  worst');
  for (const kind of kinds) {
    const of = results.filter((r) => r.kind === kind);
    const accepted = of.map((r) => r.writeAcceptedMs);
    const back = of.map((r) => r.rejoinedMs);
    console.log(
      `${kind.padEnd(8)} ${String(of.length).padStart(4)}  ` +
        `${ms(median(accepted)).padStart(22)} ${ms(Math.max(...accepted)).padStart(6)}   ` +
        `${ms(median(back)).padStart(23)} ${ms(Math.max(...back)).padStart(6)}`,
    );
  }

  const lost = results.flatMap((r) => r.lost);
  console.log(
    `\ncommitted topics and offsets checked on every controller after every run: ` +
      `${ledger.offsets.size} topics, ${lost.length} missing`,
  );
  if (fenced !== null) console.log(`data node fencings during the runs: ${fenced}`);
}

/** Fencings of data nodes the controllers logged; null when the logs cannot be read. */
function fencings(processes: readonly { role: string; logFile: string }[]): number | null {
  try {
    return processes
      .filter((p) => p.role === 'controller')
      .map((p) => readFileSync(p.logFile, 'utf8').split('\n'))
      .flat()
      .filter((line) => line.includes('"msg":"data node fenced"')).length;
  } catch {
    return null;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

await main();
