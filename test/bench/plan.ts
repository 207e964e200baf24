// What one benchmark run measures and with which settings: record sizes, volumes, deadlines,
// windows and the ports each process gets. `--quick` shrinks volumes and deadlines so the whole
// run takes about two minutes; the full run takes about ten. Every port lies in 19500-19599.

export type Replication = 1 | 3;

export interface BenchPlan {
  quick: boolean;
  /** Record sizes of the publish-throughput workload; 1 KiB is the headline. */
  recordSizes: number[];
  /** Upper bound on bytes published per throughput case; the deadline usually ends it first. */
  publishBytesMax: number;
  publishDeadlineMs: number;
  /** Acknowledged one-at-a-time publishes for the latency workload. */
  latencySamples: number;
  latencyDeadlineMs: number;
  consumeDeadlineMs: number;
  /** Leader kills per subject at replication 3; the median of their failover times is reported. */
  failoverKills: number;
  /** How long the producer keeps going after the write that shows the new leader. */
  failoverTailMs: number;
  /** Kafka producer: bytes of records per produce request, and requests in flight. */
  batchBytes: number;
  inFlight: number;
  /** Whether to profile Weir's data nodes (skipped in quick runs unless asked for). */
  profile: boolean;
  profileProduceMs: number;
  ports: Ports;
}

export interface Ports {
  /** Weir with one data node: Kafka, admin (controllers 1-3), Raft (controllers 1-3). */
  weir1: { kafka: number; admin: number; raft: number };
  weir3: { kafka: number; admin: number; raft: number };
  weirProfile: { kafka: number; admin: number; raft: number };
  /** JetStream: one server; then a cluster of three (clients, then routes). */
  natsSingle: number;
  natsCluster: { client: number; route: number };
  loopback: number;
  ceiling: { client: number; replication: number };
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

export const PORTS: Ports = {
  weir1: { kafka: 19500, admin: 19505, raft: 19510 },
  weir3: { kafka: 19520, admin: 19525, raft: 19530 },
  weirProfile: { kafka: 19540, admin: 19545, raft: 19550 },
  natsSingle: 19560,
  natsCluster: { client: 19561, route: 19565 },
  loopback: 19570,
  ceiling: { client: 19571, replication: 19572 },
};

export function makePlan(options: { quick: boolean; profile?: boolean }): BenchPlan {
  const quick = options.quick;

  return {
    quick,
    recordSizes: quick ? [1 * KiB] : [100, 1 * KiB, 16 * KiB],
    publishBytesMax: quick ? 512 * MiB : 2048 * MiB,
    publishDeadlineMs: quick ? 3_000 : 12_000,
    latencySamples: quick ? 300 : 2_000,
    latencyDeadlineMs: quick ? 3_000 : 10_000,
    consumeDeadlineMs: quick ? 10_000 : 30_000,
    failoverKills: quick ? 1 : 3,
    failoverTailMs: quick ? 500 : 1_000,
    batchBytes: 128 * KiB,
    inFlight: 8,
    profile: options.profile ?? !quick,
    profileProduceMs: 6_000,
    ports: PORTS,
  };
}

/** Records per produce request for a record size: the batch fills to about batchBytes. */
export function recordsPerBatch(plan: BenchPlan, recordBytes: number): number {
  return Math.max(1, Math.floor(plan.batchBytes / recordBytes));
}

/** Outstanding JetStream publishes for a record size: the same bytes in flight as Kafka's. */
export function jetStreamWindow(plan: BenchPlan, recordBytes: number): number {
  const bytesInFlight = plan.batchBytes * plan.inFlight;
  return Math.min(2_048, Math.max(16, Math.floor(bytesInFlight / recordBytes)));
}

export function sizeLabel(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}
