// What replication costs: acks=all produce throughput and latency to a topic with replication
// factor 3, next to the same load on replication factor 1, on a local cluster of real processes
// (one controller, three data nodes, fsync on). The load is raw Produce requests pipelined on one
// connection per partition leader, so the client is not what is measured. A last phase sends
// one-record acks=all produces one at a time to one partition at replication factor 3: the latency
// of a lone write, which pipelining cannot hide.
//
//   npx tsx test/bench/replication-throughput.ts [--seconds 10] [--partitions 3]
//     [--batch-records 100] [--record-bytes 100] [--in-flight 8] [--serial-seconds 5] [--no-fsync]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../../infra/local-cluster.ts';
import { BrokerConnection } from '../../data-node/broker-connection.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { encodeBatch } from '../../shared/record-batch.ts';

// Data nodes listen on 19440-19442.
const KAFKA_PORT = 19440;
const ADMIN_PORT = 19443;
const RAFT_PORT = 19444;

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    partitions: { type: 'string', default: '3' },
    'batch-records': { type: 'string', default: '100' },
    'record-bytes': { type: 'string', default: '100' },
    'in-flight': { type: 'string', default: '8' },
    'serial-seconds': { type: 'string', default: '5' },
    'no-fsync': { type: 'boolean', default: false },
  },
});

const SECONDS = Number(args.seconds);
const PARTITIONS = Number(args.partitions);
const BATCH_RECORDS = Number(args['batch-records']);
const RECORD_BYTES = Number(args['record-bytes']);
const IN_FLIGHT = Number(args['in-flight']);
const SERIAL_SECONDS = Number(args['serial-seconds']);

interface PartitionView {
  partition: number;
  leader: number;
  isr: number[];
}

/** One measured phase: which topic, and how hard it is driven. */
interface Load {
  label: string;
  replicationFactor: number;
  partitions: number;
  batchRecords: number;
  inFlight: number;
  seconds: number;
}

interface Result {
  label: string;
  replicationFactor: number;
  records: number;
  bytes: number;
  seconds: number;
  latenciesMs: number[];
  errors: number;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-bench-replication-'));
  const { cluster } = LocalCluster.prepare({
    dataDir,
    controllers: 1,
    dataNodes: 3,
    kafkaPort: KAFKA_PORT,
    adminPort: ADMIN_PORT,
    raftPort: RAFT_PORT,
    logLevel: 'warn',
    dataNodeConfig: { fsync: !args['no-fsync'] },
  });

  try {
    await cluster.start();
    await cluster.waitUntilReady(60_000);
    const results: Result[] = [];
    for (const load of loads()) results.push(await measure(cluster, load));
    report(results);
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function loads(): Load[] {
  const pipelined = { partitions: PARTITIONS, batchRecords: BATCH_RECORDS, inFlight: IN_FLIGHT };
  const serial = { partitions: 1, batchRecords: 1, inFlight: 1, seconds: SERIAL_SECONDS };
  return [
    { label: 'rf1', replicationFactor: 1, seconds: SECONDS, ...pipelined },
    { label: 'rf3', replicationFactor: 3, seconds: SECONDS, ...pipelined },
    { label: 'rf3 1x1', replicationFactor: 3, ...serial },
  ].filter((load) => load.seconds > 0);
}

async function measure(cluster: LocalCluster, load: Load): Promise<Result> {
  const topic = `bench-${load.label.replace(/\W+/g, '-')}`;
  const partitions = await createTopic(cluster, topic, load.replicationFactor, load.partitions);
  const batch = encodeBatch(
    Array.from({ length: load.batchRecords }, () => ({
      value: Buffer.alloc(RECORD_BYTES, 0x61),
    })),
  );

  const result: Result = {
    label: load.label,
    replicationFactor: load.replicationFactor,
    records: 0,
    bytes: 0,
    seconds: load.seconds,
    latenciesMs: [],
    errors: 0,
  };
  const deadline = Date.now() + load.seconds * 1000;
  await Promise.all(
    partitions.map((p) => produceUntil(cluster, topic, p, batch, load, deadline, result)),
  );
  return result;
}

/** Keeps `load.inFlight` acks=all produces outstanding to one partition leader until `deadline`. */
async function produceUntil(
  cluster: LocalCluster,
  topic: string,
  partition: PartitionView,
  batch: Buffer,
  load: Load,
  deadline: number,
  result: Result,
): Promise<void> {
  const [host, port] = cluster.spec(`data-node-${partition.leader}`).listeners.kafka!.split(':');
  const connection = await BrokerConnection.open(host!, Number(port), 'bench', 5000);

  const one = async () => {
    while (Date.now() < deadline) {
      const startedMs = performance.now();
      const answer = await connection.send(
        ApiKey.Produce,
        7,
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 10_000,
          // The log stamps offsets into the buffer it is given: each produce needs its own copy.
          topicData: [
            {
              name: topic,
              partitionData: [{ index: partition.partition, records: Buffer.from(batch) }],
            },
          ],
        },
        15_000,
      );
      const code = answer.responses[0]!.partitionResponses[0]!.errorCode;
      if (code !== ErrorCode.NONE) {
        result.errors++;
        continue;
      }
      result.latenciesMs.push(performance.now() - startedMs);
      result.records += load.batchRecords;
      result.bytes += batch.length;
    }
  };

  await Promise.all(Array.from({ length: load.inFlight }, one));
  connection.close();
}

async function createTopic(
  cluster: LocalCluster,
  name: string,
  replicationFactor: number,
  partitions: number,
): Promise<PartitionView[]> {
  const admin = cluster.adminUrls[0]!;
  const created = await fetch(`${admin}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions, replicationFactor }),
  });
  if (!created.ok) throw new Error(`cannot create ${name}: ${await created.text()}`);

  // Creation reaches each data node in turn; a short wait lets every leader open its partition.
  for (let i = 0; i < 100; i++) {
    const body = (await (await fetch(`${admin}/v1/topics/${name}`)).json()) as {
      partitions: PartitionView[];
    };
    if (await leadersReady(cluster, name, body.partitions)) return body.partitions;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`partitions of ${name} never became ready`);
}

/** Whether every leader answers a metadata request naming itself as the partition's leader. */
async function leadersReady(
  cluster: LocalCluster,
  topic: string,
  partitions: PartitionView[],
): Promise<boolean> {
  for (const p of partitions) {
    const [host, port] = cluster.spec(`data-node-${p.leader}`).listeners.kafka!.split(':');
    const connection = await BrokerConnection.open(host!, Number(port), 'bench', 5000);
    const answer = await connection.send(ApiKey.Metadata, 9, { topics: [{ name: topic }] }, 5000);
    connection.close();
    const seen = answer.topics[0]?.partitions.find((x) => x.partitionIndex === p.partition);
    if (seen?.leaderId !== p.leader) return false;
  }
  return true;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function report(results: Result[]): void {
  console.log(
    `acks=all, ${PARTITIONS} partitions, batches of ${BATCH_RECORDS} x ${RECORD_BYTES} B, ` +
      `${IN_FLIGHT} in flight per partition, ${SECONDS} s; ` +
      `rf3 1x1: one partition, one ${RECORD_BYTES} B record at a time, ${SERIAL_SECONDS} s; ` +
      `fsync ${args['no-fsync'] ? 'off' : 'on'}`,
  );
  console.log('load      records/s   MB/s   p50 ms  p99 ms  errors');
  for (const r of results) {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const line = [
      r.label.padEnd(9),
      String(Math.round(r.records / r.seconds)).padStart(9),
      (r.bytes / r.seconds / 1e6).toFixed(1).padStart(6),
      percentile(sorted, 0.5).toFixed(1).padStart(8),
      percentile(sorted, 0.99).toFixed(1).padStart(7),
      String(r.errors).padStart(7),
    ];
    console.log(line.join(' '));
  }
}

await main();
