// The workload of the chaos test: idempotent acks=all producers (kafkajs, one per partition, each
// writing numbered values) that remember what was acknowledged and where, and a checking consumer
// that reads every partition from its leader below the high watermark (raw Fetch, following
// leader changes) and records any skipped offset or any offset whose value changes between reads.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { BrokerConnection } from '../../data-node/broker-connection.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey } from '../../shared/protocol/index.ts';
import { batches, decodeRecords } from '../../shared/record-batch.ts';

export interface Acked {
  values: string[];
  baseOffset: bigint;
  ackedAtMs: number;
}

const RECORDS_PER_SEND = 5;
const REQUEST_TIMEOUT_MS = 6000;

/** One partition's producer: one send in flight until stopped, a new producer after a failure. */
export class PartitionProducer {
  readonly acked: Acked[] = [];
  readonly failures: { values: string[]; error: string }[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private sequence = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    readonly partition: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** When the first send acknowledged after `sinceMs` completed, or null. */
  firstAckAfter(sinceMs: number): number | null {
    return this.acked.find((a) => a.ackedAtMs > sinceMs)?.ackedAtMs ?? null;
  }

  private async run(): Promise<void> {
    let producer = await this.connect();
    while (!this.stopped) {
      const values = this.nextValues();
      try {
        const [meta] = await producer.send({
          topic: this.topic,
          acks: -1,
          timeout: 4000,
          messages: values.map((value) => ({ partition: this.partition, value })),
        });
        this.acked.push({ values, baseOffset: BigInt(meta!.baseOffset!), ackedAtMs: Date.now() });
      } catch (err) {
        // The outcome of a failed send is unknown (it may have been written): a new producer id
        // keeps its sequence numbers from being reused for other records.
        this.failures.push({ values, error: describeError(err) });
        await producer.disconnect().catch(() => undefined);
        producer = await this.connect();
      }
    }
    await producer.disconnect().catch(() => undefined);
  }

  private nextValues(): string[] {
    return Array.from({ length: RECORDS_PER_SEND }, () => `p${this.partition}-${this.sequence++}`);
  }

  private async connect(): Promise<Producer> {
    for (;;) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: 200, initialRetryTime: 25, maxRetryTime: 500 },
      });
      try {
        await producer.connect();
        return producer;
      } catch {
        await pause(200);
      }
    }
  }
}

export function chaosKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'chaos',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    retry: { retries: 200, initialRetryTime: 25, maxRetryTime: 500 },
  });
}

function describeError(err: unknown): string {
  const e = err as { name?: string; type?: string; message?: string; cause?: unknown };
  const cause = e.cause as { type?: string } | undefined;
  return [e.name, e.type ?? cause?.type, e.message].filter(Boolean).join(': ');
}

interface Broker {
  host: string;
  port: number;
}

/**
 * Reads every partition from offset 0 as a consumer, forever, from whoever leads it. Offsets must
 * come without gaps; an offset read again (after `rewind`) must hold the value read before.
 */
export class CheckingConsumer {
  /** Per partition: offset -> value, as first read. */
  readonly seen = new Map<number, Map<bigint, string>>();
  readonly problems: string[] = [];
  private readonly position = new Map<number, bigint>();
  private readonly connections = new Map<string, BrokerConnection>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly brokers: Broker[],
    private readonly topic: string,
    private readonly partitions: number,
  ) {}

  start(): void {
    for (let p = 0; p < this.partitions; p++) {
      this.seen.set(p, new Map());
      this.position.set(p, 0n);
      this.loops.push(this.run(p));
    }
  }

  /** Reads `partition` again from `offset` (not above where it is). */
  rewind(partition: number, offset: bigint): void {
    const at = this.position.get(partition)!;
    this.position.set(partition, offset < at ? offset : at);
  }

  /** The next offset the consumer will read. */
  positionOf(partition: number): bigint {
    return this.position.get(partition)!;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const connection of this.connections.values()) connection.close();
  }

  private async run(partition: number): Promise<void> {
    while (!this.stopped) {
      try {
        const leader = await this.leaderOf(partition);
        if (leader === null || !(await this.fetchOnce(leader, partition))) await pause(100);
      } catch {
        await pause(100);
      }
    }
  }

  /** One fetch; false when the leader refused it (the loop pauses and asks again). */
  private async fetchOnce(leader: Broker, partition: number): Promise<boolean> {
    const fetchOffset = this.position.get(partition)!;
    const connection = await this.connection(leader);
    const answer = await connection.send(
      ApiKey.Fetch,
      11,
      {
        replicaId: -1,
        maxWaitMs: 200,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [
          {
            topic: this.topic,
            partitions: [{ partition, fetchOffset, partitionMaxBytes: 1 << 20 }],
          },
        ],
      },
      3000,
    );

    const part = answer.responses[0]!.partitions[0]!;
    if (part.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      this.problems.push(`partition ${partition}: offset ${fetchOffset} out of range at a leader`);
    }
    if (part.errorCode !== ErrorCode.NONE) return false;
    if (this.position.get(partition) === fetchOffset)
      this.check(partition, fetchOffset, part.records);
    return true;
  }

  private check(partition: number, from: bigint, records: Buffer | null): void {
    const seen = this.seen.get(partition)!;
    let next = from;

    for (const batch of batches(records ?? Buffer.alloc(0))) {
      for (const record of decodeRecords(batch)) {
        if (record.offset < next) continue;
        if (record.offset > next) {
          this.problems.push(`partition ${partition}: skipped from ${next} to ${record.offset}`);
        }
        const value = String(record.value);
        const before = seen.get(record.offset);
        if (before !== undefined && before !== value) {
          this.problems.push(
            `partition ${partition}: offset ${record.offset} was ${before}, now ${value}`,
          );
        }
        seen.set(record.offset, value);
        next = record.offset + 1n;
      }
    }
    this.position.set(partition, next);
  }

  private async leaderOf(partition: number): Promise<Broker | null> {
    for (const broker of this.brokers) {
      try {
        const connection = await this.connection(broker);
        const answer = await connection.send(
          ApiKey.Metadata,
          9,
          { topics: [{ name: this.topic }] },
          2000,
        );
        const p = answer.topics[0]?.partitions.find((x) => x.partitionIndex === partition);
        const node = answer.brokers.find((b) => b.nodeId === p?.leaderId);
        if (node !== undefined) return { host: node.host, port: node.port };
      } catch {
        // This broker is down; ask the next one.
      }
    }
    return null;
  }

  private async connection(broker: Broker): Promise<BrokerConnection> {
    const key = `${broker.host}:${broker.port}`;
    const open = this.connections.get(key);
    if (open !== undefined && !open.closed) return open;

    const connection = await BrokerConnection.open(broker.host, broker.port, 'chaos-check', 1000);
    this.connections.set(key, connection);
    return connection;
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
