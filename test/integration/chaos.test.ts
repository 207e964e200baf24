// Chaos with real processes: three data nodes and three controllers run as separate processes while
// idempotent acks=all producers (kafkajs) write to a replicated topic and a consumer reads it. The
// test SIGKILLs, SIGSTOPs and SIGTERMs data nodes, leaders among them, again and again, restarting
// them each time. Afterwards it checks Weir's promises by reading each replica's files:
//   - every acknowledged record is in the log exactly once, at the offset it was acknowledged at;
//   - the replicas of each partition hold identical bytes;
//   - the consumer never skipped an offset, never saw an offset's value change, and never read a
//     record that is not in the final log.
// It also prints, for each leader killed (SIGKILL) or stopped (SIGSTOP), the time until an acks=all
// produce to its partitions succeeded again, and the same for controlled shutdowns (SIGTERM).
// Not asserted: timings belong to benchmarks, and this machine is shared.
//
// WEIR_CHAOS_FAULTS sets the number of faults (default 24) for a longer run; WEIR_CHAOS_SEED
// replays a fault schedule; WEIR_CHAOS_KEEP=1 keeps the cluster's directory (logs, data).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { CheckingConsumer, PartitionProducer, chaosKafka, pause } from './chaos-workload.ts';
import { brokers, startTestCluster, stopTestCluster } from './cluster.ts';
import { readReplicaBatches, valuesByOffset, type StoredBatch } from './replica-logs.ts';

const TOPIC = 'chaos';
const PARTITIONS = 3;
const NODES = [1, 2, 3];
const FAULTS = Number(process.env.WEIR_CHAOS_FAULTS ?? 24);
const SEED = Number(process.env.WEIR_CHAOS_SEED ?? Date.now() % 1_000_000);
const HEALTHY_TIMEOUT_MS = 40_000;

type Fault = 'kill' | 'pause' | 'terminate';

interface PartitionView {
  partition: number;
  replicas: number[];
  leader: number;
  isr: number[];
}

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({
    controllers: 3,
    basePort: 19470,
    adminPort: 19480,
    raftPort: 19490,
    logLevel: 'info',
    // Liveness runs on its defaults (heartbeats, session timeout, presence grace): the failover
    // times printed are the ones a default cluster gives.
    dataNodeConfig: {
      replicaLagTimeMaxMs: 2000,
      replicaRequestTimeoutMs: 1500,
      controlledShutdownTimeoutMs: 3000,
    },
  });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed || process.env.WEIR_CHAOS_KEEP === '1' });
  if (process.env.WEIR_CHAOS_KEEP === '1') console.log(`cluster kept in ${cluster?.dataDir}`);
});

/** A small seeded generator (mulberry32), so that a failing schedule can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function admin<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${cluster!.adminUrls[0]}${path}`, init);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function partitions(): Promise<PartitionView[]> {
  return (await admin<{ partitions: PartitionView[] }>(`/v1/topics/${TOPIC}`)).partitions;
}

/** Every node unfenced, every partition with its full ISR and its preferred leader. */
async function waitHealthy(): Promise<void> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const nodes = await admin<{ dataNodes: { fenced: boolean }[] }>('/v1/data-nodes');
      const views = await partitions();
      last = JSON.stringify(views.map((p) => ({ leader: p.leader, isr: p.isr })));
      const settled = views.every((p) => p.isr.length === 3 && p.leader === p.replicas[0]);
      if (settled && nodes.dataNodes.every((n) => !n.fenced)) return;
    } catch (err) {
      last = String(err);
    }
    await pause(100);
  }
  throw new Error(`cluster not healthy after ${HEALTHY_TIMEOUT_MS} ms: ${last}`);
}

/** When the producer's first send acknowledged after `sinceMs` completed (waiting for it). */
async function firstAckAfter(producer: PartitionProducer, sinceMs: number): Promise<number> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const acked = producer.firstAckAfter(sinceMs);
    if (acked !== null) return acked;
    if (Date.now() > deadline) throw new Error(`partition ${producer.partition} takes no produces`);
    await pause(20);
  }
}

function replicaDir(nodeId: number, partition: number): string {
  return join(cluster!.dataDir, `data-node-${nodeId}`, 'data', `${TOPIC}-${partition}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function summary(label: string, values: number[]): string {
  if (values.length === 0) return `${label}: none measured`;
  const worst = Math.max(...values);
  return `${label}: n=${values.length} median=${median(values)} ms worst=${worst} ms`;
}

/** Waits until the three replicas of every partition end at the same offset. */
async function waitReplicasEqual(): Promise<Map<number, StoredBatch[][]>> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const stored = new Map<number, StoredBatch[][]>();
    for (let p = 0; p < PARTITIONS; p++) {
      stored.set(
        p,
        NODES.map((id) => readReplicaBatches(replicaDir(id, p))),
      );
    }
    const ends = [...stored.values()].map((copies) => copies.map((c) => c.at(-1)?.lastOffset));
    if (ends.every((e) => e[0] === e[1] && e[1] === e[2])) return stored;
    if (Date.now() > deadline) throw new Error(`replicas never converged: ${String(ends)}`);
    await pause(200);
  }
}

describe('chaos', () => {
  it(`keeps every acknowledged record through ${FAULTS} data node faults`, async () => {
    failed = true;
    const rng = random(SEED);
    console.log(`chaos seed ${SEED} (WEIR_CHAOS_SEED=${SEED} replays the schedule)`);
    await admin('/v1/topics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: TOPIC,
        partitions: PARTITIONS,
        replicationFactor: 3,
        configs: { 'min.insync.replicas': '2' },
      }),
    });
    await waitHealthy();

    const kafka = chaosKafka(brokers(cluster!));
    const producers = Array.from(
      { length: PARTITIONS },
      (_, p) => new PartitionProducer(kafka, TOPIC, p),
    );
    const consumer = new CheckingConsumer(
      brokers(cluster!).map((b) => ({ host: b.split(':')[0]!, port: Number(b.split(':')[1]) })),
      TOPIC,
      PARTITIONS,
    );
    for (const producer of producers) producer.start();
    consumer.start();
    await pause(1000);

    const recoveries: Record<Fault, number[]> = { kill: [], pause: [], terminate: [] };
    const schedule: string[] = [];

    for (let round = 0; round < FAULTS; round++) {
      const views = await partitions();
      const leaders = [...new Set(views.map((p) => p.leader))];
      const victim =
        round % 2 === 0
          ? leaders[Math.floor(rng() * leaders.length)]!
          : NODES[Math.floor(rng() * 3)]!;
      const led = views.filter((p) => p.leader === victim).map((p) => p.partition);
      const fault: Fault = (['kill', 'pause', 'terminate'] as const)[Math.floor(rng() * 3)]!;
      // Some pauses outlast the data node session timeout (3 s), so that frozen leaders are
      // fenced as well as crashed ones.
      const downMs =
        fault === 'pause' ? 1000 + Math.floor(rng() * 4000) : 500 + Math.floor(rng() * 2000);
      const name = `data-node-${victim}`;
      schedule.push(`${fault} ${victim} (leads ${led.join(',') || '-'}) for ${downMs} ms`);

      const startedMs = Date.now();
      if (fault === 'kill') await cluster!.signal(name, 'SIGKILL');
      if (fault === 'pause') process.kill(cluster!.spec(name).pid!, 'SIGSTOP');
      if (fault === 'terminate') await cluster!.signal(name, 'SIGTERM');
      await pause(downMs);
      if (fault === 'pause') process.kill(cluster!.spec(name).pid!, 'SIGCONT');
      else cluster!.startProcess(name);

      await waitHealthy();
      for (const p of led) {
        recoveries[fault].push((await firstAckAfter(producers[p]!, startedMs)) - startedMs);
      }
      const rewound = Math.floor(rng() * PARTITIONS);
      consumer.rewind(rewound, consumer.positionOf(rewound) / 2n);
    }

    for (const producer of producers) await producer.stop();
    await waitHealthy();
    const stored = await waitReplicasEqual();
    const ends = [...stored.values()].map((copies) => copies[0]!.at(-1)?.lastOffset ?? -1n);
    const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
    while (ends.some((end, p) => consumer.positionOf(p) <= end) && Date.now() < deadline) {
      await pause(100);
    }
    await consumer.stop();

    console.log(`faults:\n  ${schedule.join('\n  ')}`);
    console.log(summary('leader SIGKILL until acks=all succeeds again', recoveries.kill));
    console.log(summary('leader SIGSTOP until acks=all succeeds again', recoveries.pause));
    console.log(summary('controlled shutdown interruption', recoveries.terminate));
    const failures = producers.flatMap((p) => p.failures);
    console.log(
      `acknowledged sends ${producers.map((p) => p.acked.length).join('/')}, ` +
        `failed ${failures.length}`,
    );

    for (let p = 0; p < PARTITIONS; p++) {
      const copies = stored.get(p)!;
      for (const copy of copies) {
        expect(copy.map((b) => b.bytes.toString('hex'))).toEqual(
          copies[0]!.map((b) => b.bytes.toString('hex')),
        );
      }

      const log = valuesByOffset(copies[0]!);
      const counts = new Map<string, number>();
      for (const value of log.values()) counts.set(value, (counts.get(value) ?? 0) + 1);

      for (const acked of producers[p]!.acked) {
        acked.values.forEach((value, i) => {
          expect(log.get(acked.baseOffset + BigInt(i)), `acked ${value}`).toBe(value);
          expect(counts.get(value), `copies of ${value}`).toBe(1);
        });
      }
      for (const [offset, value] of consumer.seen.get(p)!) {
        expect(log.get(offset), `consumed ${value} at ${offset}`).toBe(value);
      }
      expect(consumer.positionOf(p)).toBe((copies[0]!.at(-1)?.lastOffset ?? -1n) + 1n);
    }
    expect(consumer.problems).toEqual([]);
    expect(failures).toEqual([]);
    failed = false;
  }, 600_000);
});
