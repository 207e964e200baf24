// `npm run bench`: measures Weir beside NATS JetStream and beside what this machine allows, and
// writes the figures to docs/ (benchmarks.json, benchmarks.svg and the generated sections of
// benchmarks.md). It starts every process it measures and stops them afterwards, on the ports
// 19500-19599. Options: --quick (about two minutes), --profile / --no-profile, --controllers,
// --only (a comma list of machine, jetstream, weir, profile), --no-write (print only).
import { Command } from 'commander';
import { createServer } from 'node:net';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOutputs } from './outputs.ts';
import { makePlan, type BenchPlan } from './plan.ts';
import { runProfile } from './profile-run.ts';
import { Progress } from './progress.ts';
import type { BenchResults } from './report.ts';
import { benchJetStream, benchWeir, measureMachine, type RunContext } from './suites.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = join(REPO, 'docs');
const FIRST_PORT = 19500;
const LAST_PORT = 19599;
const PARTS = ['machine', 'jetstream', 'weir', 'profile'] as const;
type Part = (typeof PARTS)[number];

interface Options {
  quick: boolean;
  profile?: boolean;
  controllers: string;
  only?: string;
  write: boolean;
}

async function main(): Promise<void> {
  const options = new Command('bench')
    .option('--quick', 'smaller volumes and deadlines: about two minutes', false)
    .option('--profile', 'profile Weir data nodes even in a quick run')
    .option('--no-profile', 'skip the profile')
    .option('--controllers <n>', 'Weir controllers: 1, 3 or auto (3, else 1)', 'auto')
    .option('--only <parts>', `comma list of ${PARTS.join(', ')}`)
    .option('--no-write', 'print the figures without writing docs/')
    .parse()
    .opts<Options>();

  const plan = makePlan({ quick: options.quick, profile: options.profile });
  const parts = new Set<Part>((options.only?.split(',') as Part[] | undefined) ?? PARTS);
  if (!plan.profile) parts.delete('profile');
  const controllers = parseControllers(options.controllers);

  await assertPortsFree();
  const started = Date.now();
  const results = emptyResults(plan);
  const progress = new Progress(countSteps(plan, parts));
  const context: RunContext = { plan, results, progress, cleanups: [] };
  process.on('SIGINT', () => void stopEverything(context).then(() => process.exit(130)));

  try {
    if (parts.has('machine')) await measureMachine(context);
    if (parts.has('jetstream')) await benchJetStream(context);
    const weir = parts.has('weir')
      ? await benchWeir(context, controllers)
      : { controllers, clients: { producer: 'kafkajs', consumer: 'kafkajs' } as const };

    if (parts.has('profile') && weir === null) {
      results.notes.push('no profile: Weir did not start');
    } else if (parts.has('profile') && weir !== null) {
      const profile = await progress
        .step('Weir R3 profile of produce and fetch', () => runProfile(plan, weir))
        .catch((err: unknown) => {
          const error = err instanceof Error ? err.message : String(err);
          results.errors.push({ workload: 'profile', system: 'weir', replication: 3, error });
          return [];
        });
      results.profiles = profile;
    }
  } finally {
    await stopEverything(context);
    progress.stop();
  }

  results.durationS = (Date.now() - started) / 1000;
  if (parts.size < PARTS.length) {
    results.notes.push(`only part of the suite ran: ${[...parts].join(', ')}`);
  }
  await writeOutputs(results, options.write ? DOCS : null);
}

/** A process left on the bench's ports (by a run that was killed) would be measured instead. */
async function assertPortsFree(): Promise<void> {
  const busy: number[] = [];
  for (let port = FIRST_PORT; port <= LAST_PORT; port++) {
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (!free) busy.push(port);
  }
  if (busy.length > 0) {
    throw new Error(`ports ${busy.join(', ')} are in use: stop what listens there and run again`);
  }
}

function parseControllers(value: string): 1 | 3 | 'auto' {
  if (value === '1') return 1;
  if (value === '3') return 3;
  return 'auto';
}

async function stopEverything({ cleanups }: RunContext): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
}

function countSteps(plan: BenchPlan, parts: Set<Part>): number {
  const perSubject = 2 * (1 + plan.recordSizes.length + 2) + 1;
  return (
    (parts.has('machine') ? 4 : 0) +
    (parts.has('jetstream') ? perSubject : 0) +
    (parts.has('weir') ? perSubject + 1 : 0) +
    (parts.has('profile') ? 1 : 0)
  );
}

function emptyResults(plan: BenchPlan): BenchResults {
  return {
    generatedAt: new Date().toISOString(),
    mode: plan.quick ? 'quick' : 'full',
    durationS: 0,
    machine: {
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kernel: release(),
    },
    ceiling: [],
    settings: {},
    clientTrials: [],
    cases: [],
    errors: [],
    notes: [],
    replicationWarnings: [],
    profiles: [],
  };
}

await main();
// Background polls of clusters that never got ready may still be sleeping; nothing is left to do.
process.exit(0);
