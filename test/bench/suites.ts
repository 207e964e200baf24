// The suites of one benchmark run: the machine's limits, JetStream at R1 and R3, Weir at R1 and
// R3 (with the choice of Kafka client), each as progress steps that add figures to the results.
// A case that fails is recorded with its error and the run goes on; every process a suite starts
// is registered for stopping, so Ctrl-C or a failure leaves nothing behind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureCeiling } from './ceiling/ceiling.ts';
import { measureDisk } from './machine/disk.ts';
import { measureLoopback } from './machine/loopback.ts';
import { jetStreamWindow, recordsPerBatch, type BenchPlan } from './plan.ts';
import type { Progress } from './progress.ts';
import type { BenchResults, ClientTrial } from './report.ts';
import { ensureNatsServer, JetStreamSubject } from './subjects/jetstream.ts';
import {
  FETCH_MAX_BYTES,
  FETCH_MAX_WAIT_MS,
  RETRY,
  makeKafkaClient,
  type KafkaClientName,
} from './subjects/kafka-clients.ts';
import type { Subject } from './subjects/subject.ts';
import { WeirSubject } from './subjects/weir.ts';
import { consumeAll, failover, publishLatency, publishThroughput } from './workloads.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunContext {
  plan: BenchPlan;
  results: BenchResults;
  progress: Progress;
  /** Stops what was started and is still running, most recent first. */
  cleanups: (() => Promise<void>)[];
}

export interface WeirChoice {
  controllers: 1 | 3 | 'auto';
  clients: { producer: KafkaClientName; consumer: KafkaClientName };
}

export async function measureMachine({ plan, results, progress }: RunContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-disk-'));
  try {
    results.machine.disk = await progress.step('machine: device writes and fdatasync', async () =>
      measureDisk(dir, { quick: plan.quick }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  results.machine.loopback = await progress.step('machine: loopback TCP', () =>
    measureLoopback(plan.ports.loopback, plan.quick),
  );

  for (const replication of [1, 3] as const) {
    const figures = await progress.step(`machine: plain-Node ceiling R${replication}`, () =>
      measureCeiling({
        replication,
        frameBytes: plan.batchBytes,
        window: plan.inFlight,
        durationMs: plan.quick ? 2_000 : 5_000,
        latencyFrameBytes: 1024,
        latencySamples: plan.quick ? 300 : 1_000,
        ports: plan.ports.ceiling,
      }),
    );
    results.ceiling.push(figures);
  }
  results.settings.ceiling = {
    frameBytes: plan.batchBytes,
    framesInFlight: plan.inFlight,
    files: 'a new file per replica, group-commit fdatasync, acknowledged when durable on all',
  };
}

export async function benchJetStream(context: RunContext): Promise<void> {
  const { plan, results, progress, cleanups } = context;
  const version = ensureNatsServer();
  results.settings.jetstream = {
    server: version,
    client: `nats ${packageVersion('nats')}`,
    storage: 'file',
    durability:
      'JetStream defaults: no fsync per message (files are synced every 2 minutes, sync_interval ' +
      'default); a PubAck means a majority of replicas (2 of 3 at R3) wrote it to their files',
    publishWindow: Object.fromEntries(plan.recordSizes.map((s) => [s, jetStreamWindow(plan, s)])),
    consumer: 'ordered consumer, consume() with max_messages 4096',
    failover: 'client connected to all servers, reconnectTimeWait 100 ms',
  };

  for (const replication of [1, 3] as const) {
    const subject = await progress
      .step(`JetStream R${replication}: start`, () => JetStreamSubject.start(replication, plan))
      .catch((err: unknown) => {
        results.errors.push({
          workload: 'start',
          system: 'jetstream',
          replication,
          error: message(err),
        });
        return null;
      });
    if (subject === null) continue;
    cleanups.push(() => subject.close());

    await runCases(context, subject, 'JetStream');
    await cleanups.pop()!();
  }
}

/**
 * Weir at R1 (one data node) and R3 (three): the R1 cluster also decides which Kafka client
 * moves the records. Answers what the profile needs to start its own cluster, or null when Weir
 * did not start (the rest of Weir's cases are then skipped rather than waited for).
 */
export async function benchWeir(
  context: RunContext,
  controllersAsked: 1 | 3 | 'auto',
): Promise<WeirChoice | null> {
  const { plan, results, progress, cleanups } = context;
  let controllers = controllersAsked;
  let clients: { producer: KafkaClientName; consumer: KafkaClientName } | null = null;

  for (const replication of [1, 3] as const) {
    const subject = await progress
      .step(`Weir R${replication}: start`, () => {
        const ports = plan.ports[replication === 1 ? 'weir1' : 'weir3'];
        const readyTimeoutMs = plan.quick ? 30_000 : 45_000;
        return WeirSubject.start({ replication, controllers, ports, readyTimeoutMs }, plan);
      })
      .catch((err: unknown) => {
        results.errors.push({
          workload: 'start',
          system: 'weir',
          replication,
          error: message(err),
        });
        return null;
      });
    if (subject === null) return null;
    cleanups.push(() => subject.close());

    controllers = subject.controllers;
    if (subject.fallbackNote !== null) results.notes.push(`Weir: ${subject.fallbackNote}`);
    if (clients === null) {
      clients = await progress.step('Weir R1: kafkajs vs @platformatic/kafka', () =>
        chooseClients(subject, plan, results),
      );
    }
    if (clients !== null) {
      // Leader kills are measured through kafkajs whichever producer is faster: it looks for the
      // new leader after a failed request, where @platformatic/kafka retried the dead one for
      // about 5 s.
      subject.useClients(
        makeKafkaClient(clients.producer, subject.brokers, plan.inFlight),
        makeKafkaClient(clients.consumer, subject.brokers, plan.inFlight),
        makeKafkaClient('kafkajs', subject.brokers, plan.inFlight),
      );
      recordWeirSettings(plan, results, subject.controllers, clients);
      await runCases(context, subject, 'Weir');
    }
    await cleanups.pop()!();
  }

  const fallback = { producer: 'kafkajs', consumer: 'kafkajs' } as const;
  return { controllers, clients: clients ?? fallback };
}

/** Times both clients on the R1 cluster; the faster producer and the faster consumer are kept. */
async function chooseClients(
  subject: WeirSubject,
  plan: BenchPlan,
  results: BenchResults,
): Promise<{ producer: KafkaClientName; consumer: KafkaClientName } | null> {
  const names: KafkaClientName[] = ['kafkajs', '@platformatic/kafka'];
  const deadlineMs = plan.quick ? 1_500 : 4_000;

  for (const name of names) {
    const client = makeKafkaClient(name, subject.brokers, plan.inFlight);
    const topic = `client-trial-${names.indexOf(name)}`;
    const trial: ClientTrial = { client: name, produceMBps: null, consumeMBps: null };
    try {
      await subject.createLog(topic);
      subject.useClients(client, client);
      trial.produceMBps = (
        await publishThroughput(subject, topic, 1024, { ...plan, publishDeadlineMs: deadlineMs })
      ).mbPerSec;
      trial.consumeMBps = (await consumeAll(subject, topic, plan)).mbPerSec;
    } catch (err) {
      trial.error = message(err);
    } finally {
      await client.close().catch(() => {});
    }
    results.clientTrials.push(trial);
  }

  const best = (key: 'produceMBps' | 'consumeMBps') =>
    results.clientTrials
      .filter((t) => t[key] !== null && Number.isFinite(t[key]))
      .sort((a, b) => b[key]! - a[key]!)[0]?.client as KafkaClientName | undefined;
  const producer = best('produceMBps');
  const consumer = best('consumeMBps');
  if (producer === undefined || consumer === undefined) return null;
  return { producer, consumer };
}

function recordWeirSettings(
  plan: BenchPlan,
  results: BenchResults,
  controllers: 1 | 3,
  clients: { producer: KafkaClientName; consumer: KafkaClientName },
): void {
  results.settings.weir = {
    controllers,
    durability: 'data node fsync: true (the default): a batch is fsynced before it is acknowledged',
    acks: 'all (-1): acknowledged once every in-sync replica has it',
    topic:
      'one partition; replication 1 on a one-data-node cluster, 3 on a three-data-node cluster',
  };
  results.settings.kafkaClient = {
    producer: `${clients.producer} ${packageVersion(clients.producer)}`,
    consumer: `${clients.consumer} ${packageVersion(clients.consumer)}`,
    failoverProducer: `kafkajs ${packageVersion('kafkajs')}`,
    batchBytes: plan.batchBytes,
    recordsPerRequest: Object.fromEntries(
      plan.recordSizes.map((s) => [s, recordsPerBatch(plan, s)]),
    ),
    lingerMs: 0,
    batching: 'the benchmark hands the client one batch per send(); no linger',
    compression: 'none',
    requestsInFlight: plan.inFlight,
    idempotent: false,
    retry: RETRY,
    fetchMaxWaitMs: FETCH_MAX_WAIT_MS,
    fetchMaxBytes: FETCH_MAX_BYTES,
  };
  results.settings.workloads = {
    publishBytesMax: plan.publishBytesMax,
    publishDeadlineMs: plan.publishDeadlineMs,
    latencySamples: plan.latencySamples,
    failoverKills: plan.failoverKills,
    failoverWindow: 32,
  };
}

async function runCases(context: RunContext, subject: Subject, label: string): Promise<void> {
  const { plan, results, progress } = context;
  const { system, replication } = subject;
  const attempt = async (
    workload: string,
    recordBytes: number | undefined,
    work: () => Promise<void>,
  ) => {
    const name = `${label} R${replication}: ${workload}${recordBytes ? ` ${recordBytes} B` : ''}`;
    await progress.step(name, work).catch((err: unknown) => {
      results.errors.push({ workload, system, replication, recordBytes, error: message(err) });
      progress.log(`${name} failed: ${message(err)}`);
    });
  };

  for (const recordBytes of plan.recordSizes) {
    await attempt('publish', recordBytes, async () => {
      const log = `publish-${recordBytes}`;
      await subject.createLog(log);
      const figures = await publishThroughput(subject, log, recordBytes, plan);
      results.cases.push({ workload: 'publish', system, replication, figures });

      const warning = await subject.replicationWarning?.(log);
      if (warning) results.replicationWarnings.push(`${label}: ${warning}`);
    });
  }

  await attempt('latency', undefined, async () => {
    await subject.createLog('latency');
    const figures = await publishLatency(subject, 'latency', plan);
    results.cases.push({ workload: 'latency', system, replication, figures });
  });

  await attempt('consume', undefined, async () => {
    const figures = await consumeAll(subject, 'publish-1024', plan);
    results.cases.push({ workload: 'consume', system, replication, figures });
  });

  if (replication === 3) {
    await attempt('failover', undefined, async () => {
      await subject.createLog('failover');
      const figures = await failover(subject, 'failover', plan);
      results.cases.push({ workload: 'failover', system, replication, figures });
    });
  }
}

/** The installed version of a package, as the settings name it. */
function packageVersion(name: string): string {
  const file = join(REPO, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
