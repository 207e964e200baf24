// Weir as a subject: a LocalCluster of real processes (controllers and 1 or 3 data nodes) in a
// temporary directory, topics of one partition created through the admin API, and records moved
// by a real Kafka client. Data nodes keep their default durability: a produce with acks=all is
// answered once every in-sync replica has the batch on disk (fsync before the acknowledgement).
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { LocalCluster } from '../../../infra/local-cluster.ts';
import type { BenchPlan, Replication } from '../plan.ts';
import { sleep, waitFor } from '../processes.ts';
import { recordsPerBatch } from '../plan.ts';
import type { KafkaClient } from './kafka-clients.ts';
import type { ConsumeStats, PublishStats, Subject } from './subject.ts';

export interface WeirStartOptions {
  replication: Replication;
  /** 3 when the controller quorum works; 'auto' tries 3 and falls back to 1. */
  controllers: 1 | 3 | 'auto';
  ports: { kafka: number; admin: number; raft: number };
  /** Directory for `--cpu-prof` output of the data nodes; no profiling when absent. */
  cpuProfileDir?: string;
  readyTimeoutMs: number;
}

export class WeirSubject implements Subject {
  readonly system = 'weir' as const;
  private producer: KafkaClient | null = null;
  private consumer: KafkaClient | null = null;
  private failoverProducer: KafkaClient | null = null;

  private constructor(
    readonly replication: Replication,
    readonly controllers: 1 | 3,
    readonly cluster: LocalCluster,
    private readonly plan: BenchPlan,
    private readonly admin: Admin,
    /** Why the cluster runs with fewer controllers than asked for, when it does. */
    readonly fallbackNote: string | null,
  ) {}

  static async start(options: WeirStartOptions, plan: BenchPlan): Promise<WeirSubject> {
    const tries: (1 | 3)[] = options.controllers === 'auto' ? [3, 1] : [options.controllers];
    let note: string | null = null;

    for (const controllers of tries) {
      const started = await startCluster(controllers, options);
      if (started.cluster !== null) {
        const admin = await connectAdmin(started.cluster);
        const fallback = note === null ? null : `${note}; ran with ${controllers}`;
        const { replication } = options;
        return new WeirSubject(replication, controllers, started.cluster, plan, admin, fallback);
      }
      note = `${controllers} controllers did not form a cluster (${started.reason})`;
    }
    throw new Error(`Weir cluster did not become ready: ${note ?? 'unknown reason'}`);
  }

  get brokers(): string[] {
    return this.cluster.bootstrapServers.split(',');
  }

  /**
   * The clients that move records: one for producing, one for consuming, and one for producing
   * while leaders are killed (the producer when not given).
   */
  useClients(producer: KafkaClient, consumer: KafkaClient, failover = producer): void {
    this.producer = producer;
    this.consumer = consumer;
    this.failoverProducer = failover;
  }

  async createLog(name: string): Promise<void> {
    const body = { name, partitions: 1, replicationFactor: this.replication, configs: {} };
    const created = await waitFor(async () => {
      for (const url of this.cluster.adminUrls) {
        const res = await fetch(`${url}/v1/topics`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5_000),
        }).catch(() => null);
        if (res !== null && (res.ok || res.status === 409)) return true;
      }
      return false;
    }, 30_000);
    if (!created) throw new Error(`Weir did not create topic ${name}`);

    // The leader is named in metadata before it has opened the partition; ListOffsets reaches it.
    const led = await waitFor(async () => {
      if ((await this.partition(name)).leader < 0) return false;
      return (await this.admin.fetchTopicOffsets(name)).length > 0;
    }, 30_000);
    if (!led) throw new Error(`topic ${name} has no leader serving it after 30 s`);
  }

  publishMany(
    name: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
  ): Promise<PublishStats> {
    const settings = {
      batchRecords: recordsPerBatch(this.plan, recordBytes),
      inFlight: this.plan.inFlight,
    };
    return this.producer!.produceMany(name, recordBytes, count, deadlineMs, settings);
  }

  publishOne(name: string, value: Buffer): Promise<void> {
    return this.producer!.produceOne(name, value);
  }

  publishOneThroughFailover(name: string, value: Buffer): Promise<void> {
    return this.failoverProducer!.produceOne(name, value);
  }

  consume(
    name: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats> {
    return this.consumer!.consume(name, records, deadlineMs, onRecord);
  }

  async recordCount(name: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(name);
    return Number(offsets.find((o) => o.partition === 0)?.high ?? 0);
  }

  async leaderOf(name: string): Promise<string> {
    return `data-node-${(await this.partition(name)).leader}`;
  }

  kill(processName: string): Promise<void> {
    return this.cluster.signal(processName, 'SIGKILL');
  }

  async restart(processName: string): Promise<void> {
    this.cluster.startProcess(processName);
  }

  waitFullyReplicated(name: string, timeoutMs: number): Promise<boolean> {
    return waitFor(
      async () => {
        const partition = await this.partition(name);
        return partition.leader >= 0 && partition.isr.length === this.replication;
      },
      timeoutMs,
      250,
    );
  }

  /**
   * Compares the bytes of the partition's segment files on each data node (the directory layout
   * of data-node/log). Replicas a few batches behind are normal; replicas with a small fraction
   * of the leader's bytes mean acks=all was answered without them.
   */
  async replicationWarning(name: string): Promise<string | null> {
    if (this.replication === 1) return null;

    const leader = await this.leaderOf(name);
    const bytes = new Map(
      this.cluster.processes
        .filter((p) => p.role === 'data-node')
        .map((p) => [
          p.name,
          segmentBytes(join(this.cluster.dataDir, p.name, 'data', `${name}-0`)),
        ]),
    );
    const leaderBytes = bytes.get(leader) ?? 0;
    if (leaderBytes === 0) return null;

    const behind = [...bytes].filter(([n, b]) => n !== leader && b < leaderBytes / 2);
    if (behind.length === 0) return null;
    const list = behind.map(([n, b]) => `${n} ${Math.round((100 * b) / leaderBytes)}%`).join(', ');
    return (
      `after the R3 publish of ${name}, followers held a fraction of the leader's bytes ` +
      `(${list}): acknowledged records were not replicated`
    );
  }

  async close(options: { keepData?: boolean } = {}): Promise<void> {
    // A client stuck on a dead connection must not keep the cluster running.
    const clients = Promise.all([
      this.producer?.close(),
      this.consumer !== this.producer ? this.consumer?.close() : undefined,
      this.failoverProducer !== this.producer ? this.failoverProducer?.close() : undefined,
      this.admin.disconnect(),
    ]).catch(() => {});
    await Promise.race([clients, sleep(5_000)]);
    await this.cluster.stop();
    if (options.keepData !== true) rmSync(this.cluster.dataDir, { recursive: true, force: true });
  }

  private async partition(name: string): Promise<{ leader: number; isr: number[] }> {
    const metadata = await this.admin.fetchTopicMetadata({ topics: [name] });
    const partition = metadata.topics[0]?.partitions.find((p) => p.partitionId === 0);
    return { leader: partition?.leader ?? -1, isr: partition?.isr ?? [] };
  }
}

/**
 * Starts a cluster and waits until it is ready; a process that exits meanwhile ends the wait at
 * once. Answers null and the reason (having stopped the cluster) when it does not get ready.
 */
async function startCluster(
  controllers: 1 | 3,
  options: WeirStartOptions,
): Promise<{ cluster: LocalCluster | null; reason: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
  const { cluster } = LocalCluster.prepare({
    dataDir,
    controllers,
    dataNodes: options.replication,
    kafkaPort: options.ports.kafka,
    adminPort: options.ports.admin,
    raftPort: options.ports.raft,
    logLevel: 'info',
    dataNodeConfig: { fsync: true },
  });
  if (options.cpuProfileDir !== undefined) profileDataNodes(cluster, options.cpuProfileDir);

  await cluster.start();
  const exited = () => cluster.processes.find((p) => !cluster.isRunning(p.name));
  const ready = await Promise.race([
    cluster.waitUntilReady(options.readyTimeoutMs).then(
      () => true,
      () => false,
    ),
    waitFor(() => exited() !== undefined, options.readyTimeoutMs, 200).then(() => false),
  ]);
  if (ready) return { cluster, reason: '' };

  const dead = exited();
  const reason =
    dead !== undefined
      ? `${dead.name} exited at start: ${lastError(dead.logFile)}`
      : `not ready after ${options.readyTimeoutMs} ms`;
  await cluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return { cluster: null, reason };
}

/** The message of the last error or fatal line in a process log, for saying why it stopped. */
function lastError(logFile: string): string {
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
      if ((entry.level ?? 0) >= 50) {
        const err = entry.err as { message?: string } | string | undefined;
        return typeof err === 'string' ? err : (err?.message ?? entry.msg ?? 'no message');
      }
    } catch {
      // A line that is not JSON (a stack trace) says less than the JSON ones.
    }
  }
  return lines[0] ?? 'empty log';
}

/**
 * Adds Node's `--cpu-prof` to each data node's command line (kept in cluster.json, so restarts
 * profile too), writing into `<dir>/<process name>/`. Node writes one .cpuprofile per thread when
 * the process exits cleanly, which a data node does on SIGTERM; tsx's module loader runs in a
 * worker thread of its own, so the main thread's profile is the one named with thread id 0.
 */
function profileDataNodes(cluster: LocalCluster, dir: string): void {
  for (const spec of cluster.processes) {
    if (spec.role !== 'data-node') continue;
    const processDir = join(dir, spec.name);
    mkdirSync(processDir, { recursive: true });
    spec.command.splice(1, 0, '--cpu-prof', `--cpu-prof-dir=${processDir}`);
  }
}

function segmentBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

async function connectAdmin(cluster: LocalCluster): Promise<Admin> {
  const kafka = new Kafka({
    clientId: 'weir-bench-admin',
    brokers: cluster.bootstrapServers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  return admin;
}
