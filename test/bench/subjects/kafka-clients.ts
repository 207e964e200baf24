// The two real Kafka clients that install here, behind one small interface, so the benchmark can
// time both against the same Weir cluster and keep the faster. Both publish with acks=all, no
// compression, no idempotence, a batch of records per produce request and a fixed number of
// requests in flight; both consume from the earliest offset through a consumer group.
import { Consumer as PkConsumer, Producer as PkProducer } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { nowMs } from '../stats.ts';
import { runWindowed } from '../window.ts';
import type { ConsumeStats, PublishStats } from './subject.ts';

export type KafkaClientName = 'kafkajs' | '@platformatic/kafka';

export interface ProduceSettings {
  batchRecords: number;
  inFlight: number;
}

export interface KafkaClient {
  readonly name: KafkaClientName;
  produceMany(
    topic: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
    settings: ProduceSettings,
  ): Promise<PublishStats>;
  produceOne(topic: string, value: Buffer): Promise<void>;
  consume(
    topic: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats>;
  close(): Promise<void>;
}

/** Retries sized for a failover: short first backoff, enough attempts to outlast an election. */
export const RETRY = { initialRetryTimeMs: 50, maxRetryTimeMs: 1_000, retries: 30 };
/** The longest a consumer's fetch waits at the broker for more data. */
export const FETCH_MAX_WAIT_MS = 100;
export const FETCH_MAX_BYTES = 16 * 1024 * 1024;

let groupSerial = 0;

function groupFor(topic: string): string {
  return `bench-${topic}-${process.pid}-${++groupSerial}`;
}

/** Publishes with a window of produce requests, each one batch of the same payload. */
async function windowedProduce(
  send: (messageCount: number) => Promise<void>,
  recordBytes: number,
  count: number,
  deadlineMs: number,
  settings: ProduceSettings,
): Promise<PublishStats> {
  const batches = Math.ceil(count / settings.batchRecords);
  const started = nowMs();

  const outcome = await runWindowed({
    window: settings.inFlight,
    start: (i) => send(Math.min(settings.batchRecords, count - i * settings.batchRecords)),
    shouldStop: (n) => n >= batches || nowMs() - started >= deadlineMs,
  });
  const elapsedMs = nowMs() - started;

  if (outcome.failed > 0) throw new Error(`${outcome.failed} produce requests failed`);
  const recordsAcked = Math.min(count, outcome.succeeded * settings.batchRecords);
  return { recordsAcked, bytesAcked: recordsAcked * recordBytes, elapsedMs };
}

export class KafkajsClient implements KafkaClient {
  readonly name = 'kafkajs' as const;
  private readonly kafka: Kafka;
  private producer: Producer | null = null;

  constructor(
    brokers: string[],
    private readonly inFlight: number,
  ) {
    this.kafka = new Kafka({
      clientId: 'weir-bench',
      brokers,
      logLevel: logLevel.NOTHING,
      retry: {
        initialRetryTime: RETRY.initialRetryTimeMs,
        maxRetryTime: RETRY.maxRetryTimeMs,
        retries: RETRY.retries,
      },
    });
  }

  async produceMany(
    topic: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
    settings: ProduceSettings,
  ): Promise<PublishStats> {
    const producer = await this.connectedProducer();
    const message = { partition: 0, value: Buffer.alloc(recordBytes, 0x57) };
    const send = async (n: number) =>
      void (await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: new Array(n).fill(message),
      }));
    return windowedProduce(send, recordBytes, count, deadlineMs, settings);
  }

  async produceOne(topic: string, value: Buffer): Promise<void> {
    const producer = await this.connectedProducer();
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
  }

  async consume(
    topic: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats> {
    const called = nowMs();
    const consumer = this.kafka.consumer({
      groupId: groupFor(topic),
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_BYTES,
    });
    let joined = Number.NaN;
    consumer.on(consumer.events.GROUP_JOIN, () => (joined = nowMs()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });

    let first = Number.NaN;
    let last = Number.NaN;
    let count = 0;
    let bytes = 0;
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(done, deadlineMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (count === 0) first = nowMs();
            for (const m of batch.messages) {
              bytes += m.value?.length ?? 0;
              if (onRecord !== undefined && m.value !== null) onRecord(m.value);
            }
            count += batch.messages.length;
            last = nowMs();
            if (count >= records) {
              clearTimeout(timer);
              done();
            }
          },
        })
        .catch(fail);
    });

    await consumer.disconnect();
    return { records: count, bytes, elapsedMs: last - joined, firstRecordMs: first - called };
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer !== null) return this.producer;

    this.producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      maxInFlightRequests: this.inFlight,
    });
    await this.producer.connect();
    return this.producer;
  }
}

export class PlatformaticClient implements KafkaClient {
  readonly name = '@platformatic/kafka' as const;
  private producer: PkProducer<Buffer, Buffer, Buffer, Buffer> | null = null;

  constructor(
    private readonly brokers: string[],
    private readonly inFlight: number,
  ) {}

  async produceMany(
    topic: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
    settings: ProduceSettings,
  ): Promise<PublishStats> {
    const producer = this.connectedProducer();
    const message = { topic, partition: 0, value: Buffer.alloc(recordBytes, 0x50) };
    // acks on every send: this client applies its constructor's acks to nothing, and a send
    // without them is acks=1.
    const send = async (n: number) =>
      void (await producer.send({ acks: -1, messages: new Array(n).fill(message) }));
    return windowedProduce(send, recordBytes, count, deadlineMs, settings);
  }

  async produceOne(topic: string, value: Buffer): Promise<void> {
    await this.connectedProducer().send({ acks: -1, messages: [{ topic, partition: 0, value }] });
  }

  async consume(
    topic: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats> {
    const called = nowMs();
    const consumer = new PkConsumer({
      clientId: 'weir-bench',
      groupId: groupFor(topic),
      bootstrapBrokers: this.brokers,
      maxWaitTime: FETCH_MAX_WAIT_MS,
      maxBytes: FETCH_MAX_BYTES,
    });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const joined = nowMs();
    const timer = setTimeout(() => void stream.close(), deadlineMs);

    let first = Number.NaN;
    let count = 0;
    let bytes = 0;
    for await (const message of stream) {
      if (count === 0) first = nowMs();
      count++;
      bytes += message.value?.length ?? 0;
      if (onRecord !== undefined && message.value) onRecord(message.value);
      if (count >= records) break;
    }
    const last = nowMs();

    clearTimeout(timer);
    await stream.close();
    await consumer.close(true);
    return { records: count, bytes, elapsedMs: last - joined, firstRecordMs: first - called };
  }

  async close(): Promise<void> {
    await this.producer?.close();
  }

  private connectedProducer(): PkProducer<Buffer, Buffer, Buffer, Buffer> {
    if (this.producer !== null) return this.producer;

    this.producer = new PkProducer({
      clientId: 'weir-bench',
      bootstrapBrokers: this.brokers,
      acks: -1,
      idempotent: false,
      maxInflights: this.inFlight,
      retries: RETRY.retries,
      retryDelay: RETRY.initialRetryTimeMs,
    });
    return this.producer;
  }
}

export function makeKafkaClient(
  name: KafkaClientName,
  brokers: string[],
  inFlight: number,
): KafkaClient {
  if (name === 'kafkajs') return new KafkajsClient(brokers, inFlight);
  return new PlatformaticClient(brokers, inFlight);
}
