// Profiling Weir's data nodes with Node's own profiler: a three-data-node cluster whose data node
// command lines carry `--cpu-prof`. It takes produces (acks=all, R3, 1 KiB records), then the
// topic is read from its start twice, and the cluster is stopped, which writes one profile per
// data node. Each phase is summarised from the samples inside its own span of time: the leader's
// produce span shows the produce path, a follower's the replication fetch path, the leader's read
// span the consumer fetch path. Raw profiles stay in .weir/bench/profiles/ for DevTools.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monotonicUs, summarizeProfile, type ClockWindow, type ProfileSummary } from './profile.ts';
import type { BenchPlan } from './plan.ts';
import type { WeirChoice } from './suites.ts';
import { makeKafkaClient } from './subjects/kafka-clients.ts';
import { WeirSubject } from './subjects/weir.ts';

const TOPIC = 'profile';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function runProfile(plan: BenchPlan, choice: WeirChoice): Promise<ProfileSummary[]> {
  const rawDir = mkdtempSync(join(tmpdir(), 'weir-bench-prof-'));
  const keptDir = join(REPO_ROOT, '.weir', 'bench', 'profiles');
  rmSync(keptDir, { recursive: true, force: true });
  mkdirSync(keptDir, { recursive: true });

  const subject = await WeirSubject.start(
    {
      replication: 3,
      controllers: choice.controllers,
      ports: plan.ports.weirProfile,
      cpuProfileDir: rawDir,
      readyTimeoutMs: 45_000,
    },
    plan,
  );
  subject.useClients(
    makeKafkaClient(choice.clients.producer, subject.brokers, plan.inFlight),
    makeKafkaClient(choice.clients.consumer, subject.brokers, plan.inFlight),
  );

  try {
    await subject.createLog(TOPIC);
    const leader = await subject.leaderOf(TOPIC);

    const produceWindow = { fromUs: monotonicUs(), toUs: 0 };
    // Up to 1 GiB of 1 KiB records; the time limit ends it first.
    await subject.publishMany(TOPIC, 1024, 1024 * 1024, plan.profileProduceMs);
    produceWindow.toUs = monotonicUs();

    const records = await subject.recordCount(TOPIC);
    const fetchWindow = { fromUs: monotonicUs(), toUs: 0 };
    for (let i = 0; i < 2; i++) await subject.consume(TOPIC, records, plan.consumeDeadlineMs);
    fetchWindow.toUs = monotonicUs();

    await subject.cluster.stop();
    keepProfiles(rawDir, keptDir);

    const follower = subject.cluster.processes.find(
      (p) => p.role === 'data-node' && p.name !== leader,
    )!.name;
    return [
      summary(keptDir, 'produce', leader, 'leader: produce, replica fetches served', produceWindow),
      summary(keptDir, 'produce', follower, 'follower: replication fetch, append', produceWindow),
      summary(keptDir, 'fetch', leader, 'leader: consumer fetches served', fetchWindow),
    ].filter((s): s is ProfileSummary => s !== null);
  } finally {
    await subject.close();
    rmSync(rawDir, { recursive: true, force: true });
  }
}

/** Moves each data node's main-thread profile to `<process>.cpuprofile`; drops the others. */
function keepProfiles(rawDir: string, keptDir: string): void {
  for (const processName of readdirSync(rawDir)) {
    const dir = join(rawDir, processName);
    const main = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (main !== undefined) renameSync(join(dir, main), join(keptDir, `${processName}.cpuprofile`));
  }
}

function summary(
  dir: string,
  phase: 'produce' | 'fetch',
  processName: string,
  role: string,
  window: ClockWindow,
): ProfileSummary | null {
  const file = join(dir, `${processName}.cpuprofile`);
  if (!existsSync(file)) return null;
  return summarizeProfile(file, { process: processName, phase, role }, REPO_ROOT, window);
}
