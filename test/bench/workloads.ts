// The four workloads, the same for every subject: publish as fast as acknowledgements allow, one
// record at a time for latency, read everything back from the start, and kill the leader under
// load. Each answers plain figures; what they are compared with is report.ts's business.
import type { BenchPlan } from './plan.ts';
import { sleep } from './processes.ts';
import {
  mbPerSec,
  median,
  nowMs,
  perSec,
  summarizeLatencies,
  type LatencySummary,
} from './stats.ts';
import { RETRY } from './subjects/kafka-clients.ts';
import type { Subject } from './subjects/subject.ts';
import { runWindowed } from './window.ts';

export interface PublishFigures {
  recordBytes: number;
  records: number;
  mbPerSec: number;
  recordsPerSec: number;
  /** CPU of the benchmark process (the client) in % of one core: near 100, the client limits. */
  clientCpuPercent: number;
}

export interface ConsumeFigures {
  records: number;
  mbPerSec: number;
  recordsPerSec: number;
  firstRecordMs: number;
}

export interface FailoverKill {
  killed: string;
  /** From the SIGKILL to the acknowledgement of the first write issued after the leader died. */
  recoveryMs: number;
  /** Writes that failed while the log had no leader (they were retried as new writes). */
  failedWrites: number;
}

export interface FailoverFigures {
  kills: FailoverKill[];
  medianRecoveryMs: number;
  recordsAcked: number;
  /** Acknowledged records missing when the whole log is read back afterwards. */
  recordsLost: number;
  /** The ids of the first lost records (the value's bytes 4-7), to look for them by hand. */
  lostIds: number[];
  /** Records read back at the end, and how many distinct record ids among them. */
  recordsRead: number;
}

const WARMUP_BYTES = 4 * 1024 * 1024;
const WARMUP_DEADLINE_MS = 2_000;

export async function publishThroughput(
  subject: Subject,
  name: string,
  recordBytes: number,
  plan: BenchPlan,
): Promise<PublishFigures> {
  // A short warm-up first: connections, metadata and the JIT are then the same for every case.
  const warmup = Math.ceil(WARMUP_BYTES / recordBytes);
  await subject.publishMany(name, recordBytes, warmup, WARMUP_DEADLINE_MS);

  const count = Math.floor(plan.publishBytesMax / recordBytes);
  const cpuBefore = process.cpuUsage();
  const stats = await subject.publishMany(name, recordBytes, count, plan.publishDeadlineMs);
  const cpu = process.cpuUsage(cpuBefore);

  return {
    recordBytes,
    records: stats.recordsAcked,
    mbPerSec: mbPerSec(stats.bytesAcked, stats.elapsedMs),
    recordsPerSec: perSec(stats.recordsAcked, stats.elapsedMs),
    clientCpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / stats.elapsedMs,
  };
}

/** One acknowledged 1 KiB publish after another; the first few warm connections and are dropped. */
export async function publishLatency(
  subject: Subject,
  name: string,
  plan: BenchPlan,
): Promise<LatencySummary> {
  const value = Buffer.alloc(1024, 0x4c);
  const warmup = 20;
  const latenciesMs: number[] = [];
  const started = nowMs();

  for (let i = 0; i < warmup + plan.latencySamples; i++) {
    if (nowMs() - started > plan.latencyDeadlineMs) break;
    const sentAt = nowMs();
    await subject.publishOne(name, value);
    if (i >= warmup) latenciesMs.push(nowMs() - sentAt);
  }
  return summarizeLatencies(latenciesMs);
}

export async function consumeAll(
  subject: Subject,
  name: string,
  plan: BenchPlan,
): Promise<ConsumeFigures> {
  const records = await subject.recordCount(name);
  const stats = await subject.consume(name, records, plan.consumeDeadlineMs);

  return {
    records: stats.records,
    mbPerSec: mbPerSec(stats.bytes, stats.elapsedMs),
    recordsPerSec: perSec(stats.records, stats.elapsedMs),
    firstRecordMs: stats.firstRecordMs,
  };
}

const FAILOVER_WINDOW = 32;
const FAILOVER_RECORD_BYTES = 1024;
const RECOVERY_TIMEOUT_MS = 20_000;
const MAGIC = 0x77656972;

/**
 * Keeps FAILOVER_WINDOW single-record publishes in flight, SIGKILLs the log's leader, and times
 * the first acknowledgement of a write issued after the process is gone. The killed process is
 * restarted and caught up before the next kill. At the end the log is read back whole and every
 * acknowledged record is looked for.
 */
export async function failover(
  subject: Subject,
  name: string,
  plan: BenchPlan,
): Promise<FailoverFigures> {
  const acked = new Set<number>();
  const kills: FailoverKill[] = [];
  let nextId = 0;

  for (let k = 0; k < plan.failoverKills; k++) {
    kills.push(await killUnderLoad(subject, name, plan, acked, () => nextId++));
  }

  const seen = new Set<number>();
  const total = await subject.recordCount(name);
  const read = await subject.consume(name, total, plan.consumeDeadlineMs, (value) => {
    if (value.length >= 8 && value.readUInt32BE(0) === MAGIC) seen.add(value.readUInt32BE(4));
  });

  const lost = [...acked].filter((id) => !seen.has(id)).sort((a, b) => a - b);
  const medianRecoveryMs = median(kills.map((k) => k.recoveryMs));
  return {
    kills,
    medianRecoveryMs,
    recordsAcked: acked.size,
    recordsLost: lost.length,
    lostIds: lost.slice(0, 20),
    recordsRead: read.records,
  };
}

async function killUnderLoad(
  subject: Subject,
  name: string,
  plan: BenchPlan,
  acked: Set<number>,
  newId: () => number,
): Promise<FailoverKill> {
  let stop = false;
  let diedAt = Number.NaN;
  let recoveredAt = Number.NaN;

  const load = runWindowed({
    window: FAILOVER_WINDOW,
    shouldStop: () => stop,
    start: async () => {
      const id = newId();
      const issuedAt = nowMs();
      await subject.publishOneThroughFailover(name, recordValue(id)).catch(backOff);
      acked.add(id);
      if (issuedAt > diedAt && Number.isNaN(recoveredAt)) recoveredAt = nowMs();
    },
  });

  await sleep(plan.quick ? 300 : 1_000);
  const killed = await subject.leaderOf(name);
  const killedAt = nowMs();
  await subject.kill(killed);
  diedAt = nowMs();

  const deadline = killedAt + RECOVERY_TIMEOUT_MS;
  while (Number.isNaN(recoveredAt) && nowMs() < deadline) await sleep(10);
  await sleep(plan.failoverTailMs);
  stop = true;
  const outcome = await load;

  await subject.restart(killed);
  await subject.waitFullyReplicated(name, RECOVERY_TIMEOUT_MS);
  // A leader that never came back within the timeout reads as an infinite recovery.
  const recoveryMs = Number.isNaN(recoveredAt) ? Number.POSITIVE_INFINITY : recoveredAt - killedAt;
  return { killed, recoveryMs, failedWrites: outcome.failed };
}

/**
 * After a failed write, waits as long as the Kafka client's first retry backoff before the loop
 * issues another, so neither side wins by spinning on errors.
 */
async function backOff(err: unknown): Promise<never> {
  await sleep(RETRY.initialRetryTimeMs);
  throw err;
}

function recordValue(id: number): Buffer {
  const value = Buffer.alloc(FAILOVER_RECORD_BYTES, 0x66);
  value.writeUInt32BE(MAGIC, 0);
  value.writeUInt32BE(id, 4);
  return value;
}
