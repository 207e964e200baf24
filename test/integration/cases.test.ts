// Protocol cases P1 and P8 (docs: /work/shared/cases/protocol-cases.md) end to end, against a
// cluster of real processes (1 controller, 3 data nodes), with raw frames where a client library
// would hide the answer and with real clients (kafkajs, kcat) where they are the judge.
//   P1: ApiVersions at a version the broker does not know is answered as version 0, with
//       UNSUPPORTED_VERSION and the full list, and the connection stays open.
//   P8: null and empty keys, values and header values stay distinct, uncompressed (kafkajs and
//       raw batches) and in a zstd batch (raw batch, read back by kcat and by raw fetch).
// P2-P7 are proven against real sockets in test/data-node/data-node.test.ts and
// test/groups/consumer-group.test.ts.
import { execFileSync, spawn } from 'node:child_process';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { Compression } from '../../shared/compression.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ApiKey, encodeRequest } from '../../shared/protocol/index.ts';
import {
  BATCH_HEADER_BYTES,
  BatchView,
  batches,
  decodeRecords,
  encodeBatch,
  type RecordInput,
} from '../../shared/record-batch.ts';
import { RawKafkaClient } from '../data-node/raw-client.ts';
import { startTestCluster, stopTestCluster, brokers } from './cluster.ts';
import { createTopic, fetchOnce, kafkaPorts, leaderOf, produce } from './raw-cluster.ts';

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19850 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

describe('P1: ApiVersions at a version the broker does not know', () => {
  /** An ApiVersions frame written at v4 (flexible, header v2), relabelled as `version`. */
  function apiVersionsFrame(version: number, correlationId: number): Buffer {
    const body = { clientSoftwareName: 'weir-test', clientSoftwareVersion: '1' };
    const frame = encodeRequest(ApiKey.ApiVersions, 4, correlationId, 'weir-test', body);
    frame.writeInt16BE(version, 6);
    return frame;
  }

  it('answers v0 with UNSUPPORTED_VERSION and every range, and keeps the connection', async () => {
    failed = true;
    const client = await RawKafkaClient.connect(kafkaPorts(cluster!)[1]!);
    const known = await client.send(ApiKey.ApiVersions, 0, {});
    expect(known.errorCode).toBe(ErrorCode.NONE);
    const highest = known.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)!.maxVersion;

    for (const [version, correlationId] of [
      [highest + 1, 1001],
      [127, 1002],
    ] as const) {
      // Read as version 0: the header is v0 and the body v0, whatever was asked.
      const answer = await client.expect(correlationId, ApiKey.ApiVersions, 0, () =>
        client.sendBytes(apiVersionsFrame(version, correlationId)),
      );
      expect(answer.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(answer.apiKeys).toEqual(known.apiKeys);
    }

    const after = await client.send(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'weir-test',
      clientSoftwareVersion: '1',
    });
    expect(after.errorCode).toBe(ErrorCode.NONE);
    expect(after.apiKeys.map((k) => k.apiKey)).toEqual(known.apiKeys.map((k) => k.apiKey));
    client.close();
    failed = false;
  });
});

/** What a consumer saw of one record: null stays null, empty stays a zero-length buffer. */
interface Seen {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

const empty = Buffer.alloc(0);
const b = (text: string) => Buffer.from(text);

/** The records of the raw batches: every null and empty combination, headers included. */
const RAW_RECORDS: RecordInput[] = [
  { key: null, value: empty, headers: [{ key: 'h', value: null }] },
  { key: empty, value: null, headers: [{ key: 'h', value: empty }] },
  {
    key: b('k'),
    value: b('v'),
    headers: [
      { key: 'n', value: null },
      { key: 'e', value: empty },
    ],
  },
  { key: null, value: null, headers: [] },
];

function seenOf(records: RecordInput[]): Seen[] {
  return records.map((r) => ({ key: r.key ?? null, value: r.value, headers: r.headers ?? [] }));
}

/** A batch of `records` whose records section is compressed by the `zstd` command. */
function zstdBatch(records: RecordInput[]): Buffer {
  const plain = encodeBatch(records, { timestamp: 1_700_000_000_000 });
  const section = execFileSync('zstd', ['-c', '-q'], { input: plain.subarray(BATCH_HEADER_BYTES) });

  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), section]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt16BE(Compression.ZSTD, 21);
  batch.writeUInt32BE(new BatchView(batch, 0).computeCrc(), 17);
  return batch;
}

/** Every record of a partition from offset 0, as a raw fetch returns it. */
async function fetchAll(topic: string): Promise<{ stored: BatchView[]; seen: Seen[] }> {
  const leader = await leaderOf(cluster!, topic);
  const partition = await fetchOnce(leader, topic, 0n);
  leader.close();

  expect(partition.errorCode).toBe(ErrorCode.NONE);
  const stored = [...batches(partition.records!)];
  const seen = stored.flatMap((batch) =>
    decodeRecords(batch).map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
  );
  return { stored, seen };
}

function kcat(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn('kcat', ['-b', cluster!.bootstrapServers, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`kcat exited ${code}: ${err}`)),
    );
    child.stdin.end();
  });
}

describe('P8: null and empty are different', () => {
  it('keeps them apart through kafkajs and raw batches, uncompressed', async () => {
    failed = true;
    const topic = 'p8-plain';
    await createTopic(cluster!, topic);

    // kafkajs cannot send a null header value; the raw batch after its records does.
    const kafka = new Kafka({
      clientId: 'p8',
      brokers: brokers(cluster!),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: null, value: 'v' },
        { key: '', value: 'v' },
        { key: 'k', value: null },
        { key: 'k', value: '' },
        { key: 'k', value: 'v', headers: { e: '' } },
      ],
    });
    await producer.disconnect();
    const leader = await leaderOf(cluster!, topic);
    expect((await produce(leader, topic, encodeBatch(RAW_RECORDS))).errorCode).toBe(0);
    leader.close();

    const expected: Seen[] = [
      { key: null, value: b('v'), headers: [] },
      { key: empty, value: b('v'), headers: [] },
      { key: b('k'), value: null, headers: [] },
      { key: b('k'), value: empty, headers: [] },
      { key: b('k'), value: b('v'), headers: [{ key: 'e', value: empty }] },
      ...seenOf(RAW_RECORDS),
    ];
    expect((await fetchAll(topic)).seen).toEqual(expected);

    const consumed = await consumeWithKafkajs(kafka, topic, expected.length);
    expect(consumed).toEqual(expected);
    failed = false;
  });

  it('keeps them apart in a zstd batch, stored and served as it was sent', async (ctx) => {
    if (!hasCommand('zstd')) return ctx.skip('the zstd command is not installed');
    failed = true;
    const topic = 'p8-zstd';
    await createTopic(cluster!, topic);

    const sent = zstdBatch(RAW_RECORDS);
    const leader = await leaderOf(cluster!, topic);
    expect((await produce(leader, topic, sent)).errorCode).toBe(ErrorCode.NONE);
    leader.close();

    const { stored, seen } = await fetchAll(topic);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.compression).toBe(Compression.ZSTD);
    // Only the base offset and the leader epoch (bytes 0-7, 12-15) are the broker's to change.
    const batch = stored[0]!;
    const bytes = batch.buffer.subarray(batch.position, batch.end);
    expect(bytes.subarray(16)).toEqual(sent.subarray(16));
    expect(bytes.subarray(8, 12)).toEqual(sent.subarray(8, 12));
    expect(seen).toEqual(seenOf(RAW_RECORDS));

    // librdkafka decompresses the batch itself; %K and %S print -1 for null and 0 for empty.
    const lines = await kcat(['-C', '-t', topic, '-e', '-q', '-Z', '-f', '%K %S %h\n']);
    expect(lines.replace(/\n$/, '').split('\n')).toEqual([
      '-1 0 h=NULL',
      '0 -1 h=',
      '1 1 n=NULL,e=',
      '-1 -1 ',
    ]);
    failed = false;
  });
});

async function consumeWithKafkajs(kafka: Kafka, topic: string, count: number): Promise<Seen[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });

  const seen: Seen[] = [];
  await new Promise<void>((done) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key, value: message.value, headers: headerList(message.headers) });
        if (seen.length === count) done();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

/** kafkajs's headers object back to a list; a header value is a Buffer or null. */
function headerList(headers: IHeaders | undefined): Seen['headers'] {
  return Object.entries(headers ?? {}).map(([key, value]) => ({
    key,
    value: (value ?? null) as Buffer | null,
  }));
}

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
