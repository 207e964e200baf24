// A cluster of real processes (1 controller, 3 data nodes) under hostile or careless clients. Each
// attack must leave the process serving everyone else and say what went wrong:
//   - random but well-formed bodies at every API and version the nodes advertise;
//   - malformed and oversize frames, a Fetch asking for 2 GiB;
//   - slow and idle connections, more connections than allowed, more request bytes in flight
//     than the node's budget;
//   - bad admin API bodies and a bad data node config.
// Data node 1 takes the connection flood, node 2 the memory budget, node 3 (short deadlines) the
// slow and idle connections.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../infra/local-cluster.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { API_SPECS, ApiKey, encodeRequest } from '../../shared/protocol/index.ts';
import { Compression, MAX_DECOMPRESSED_BYTES } from '../../shared/compression.ts';
import { BATCH_HEADER_BYTES, BatchView, encodeBatch } from '../../shared/record-batch.ts';
import { RawKafkaClient } from '../data-node/raw-client.ts';
import { bodyArbitrary } from '../protocol/from-description.ts';
import { stopTestCluster } from './cluster.ts';
import { createTopic, fetchOnce, kafkaPorts, leaderOf, produce } from './raw-cluster.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const LIMITS = {
  maxRequestBytes: MiB,
  maxQueuedRequestBytes: 3 * MiB,
  maxConnections: 40,
  fetchMaxBytes: 64 * KiB,
};
/** Node 3 only: deadlines short enough for a test to watch them pass. */
const SHORT_DEADLINES = { requestReadTimeoutMs: 1000, connectionIdleTimeoutMs: 2000 };
/** Node 2 only: no read deadline within a test's life, so only the budget closes connections. */
const NO_DEADLINE = { requestReadTimeoutMs: 3_600_000 };
const TOPIC = 'fz';

let cluster: LocalCluster | undefined;
let ports: number[] = [];
let failed = false;

beforeAll(async () => {
  const { cluster: prepared } = LocalCluster.prepare({
    dataDir: mkdtempSync(join(tmpdir(), 'weir-robust-')),
    controllers: 1,
    dataNodes: 3,
    kafkaPort: 19855,
    adminPort: 19905,
    raftPort: 19925,
    dataNodeConfig: LIMITS,
  });
  mergeConfig(prepared, 'data-node-2', NO_DEADLINE);
  mergeConfig(prepared, 'data-node-3', SHORT_DEADLINES);

  cluster = prepared;
  await cluster.start();
  await cluster.waitUntilReady(90_000);
  ports = kafkaPorts(cluster);
  await createTopic(cluster, TOPIC, { partitions: 3 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

function mergeConfig(prepared: LocalCluster, name: string, fields: object): void {
  const file = prepared.spec(name).configFile;
  const config = JSON.parse(readFileSync(file, 'utf8')) as object;
  writeFileSync(file, JSON.stringify({ ...config, ...fields }, null, 2));
}

/** Resolves once the node closed the socket (or it errored). */
function closedBy(socket: Socket): Promise<void> {
  return new Promise((done) => {
    if (socket.destroyed) return done();
    socket.once('close', () => done());
  });
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((done, fail) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => done(socket));
    socket.once('error', fail);
    // A node closing on us mid-write shows up as an error too; the tests watch 'close'.
    socket.on('error', () => undefined);
  });
}

/** A fresh connection on `port` still gets its ApiVersions answer. */
async function stillServes(port: number): Promise<void> {
  const client = await RawKafkaClient.connect(port);
  const answer = await client.send(ApiKey.ApiVersions, 0, {});
  client.close();
  expect(answer.errorCode).toBe(ErrorCode.NONE);
}

/** Every errorCode found anywhere in an answer. */
function errorCodes(value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) value.forEach((v) => errorCodes(v, out));
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (/errorcode$/i.test(key) && typeof inner === 'number') out.push(inner);
      else errorCodes(inner, out);
    }
  }
  return out;
}

/**
 * Steers random bodies toward what exists (the topic, a group, small partition indexes) so they
 * reach past the "unknown topic" answers, and away from what would make the test wait or
 * change the cluster for good: admin calls only validate, waits stay short, acks=0 (no answer)
 * becomes acks=1.
 */
function steer(value: unknown, key: string, apiKey: number, pick: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => steer(v, key, apiKey, pick));
  if (Buffer.isBuffer(value)) {
    return key === 'records' && pick() < 0.5 ? encodeBatch([{ value: Buffer.from('x') }]) : value;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = steer(v, k, apiKey, pick);
    return out;
  }

  const deletes = apiKey === ApiKey.DeleteTopics || apiKey === ApiKey.DeleteGroups;
  if (typeof value === 'string' && /^(name|topic|resourceName)$/.test(key) && !deletes) {
    return pick() < 0.6 ? TOPIC : value;
  }
  if (typeof value === 'string' && /^(groupId|key)$/.test(key) && !deletes) {
    return pick() < 0.5 ? 'fz-group' : value;
  }
  if (typeof value === 'number' && /^(partition|partitionIndex|index)$/.test(key)) {
    return pick() < 0.6 ? Math.floor(pick() * 3) : value;
  }
  if (typeof value === 'number' && /timeout|maxWaitMs/i.test(key)) return Math.abs(value) % 1000;
  if (key === 'validateOnly') return true;
  if (key === 'acks' && value === 0) return 1;
  return value;
}

describe('random bodies at every advertised API and version', () => {
  it('are answered, never with UNKNOWN_SERVER_ERROR, and the nodes keep serving', async () => {
    failed = true;
    const probe = await RawKafkaClient.connect(ports[0]!);
    const { apiKeys } = await probe.send(ApiKey.ApiVersions, 0, {});
    probe.close();

    let seed = 7;
    const pick = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const problems: string[] = [];

    for (const { apiKey, minVersion, maxVersion } of apiKeys) {
      const spec = API_SPECS.get(apiKey)!;
      for (
        let version = minVersion;
        version <= Math.min(maxVersion, spec.versions.max);
        version++
      ) {
        const arbitrary = bodyArbitrary(spec, 'request', version);
        for (const raw of fc.sample(arbitrary, { numRuns: 4, seed: apiKey * 100 + version })) {
          const body = steer(raw, '', apiKey, pick);
          const port = ports[Math.floor(pick() * ports.length)]!;
          const problem = await answerProblem(port, apiKey, version, body);
          if (problem !== null) problems.push(`api ${apiKey} v${version}: ${problem}`);
        }
      }
    }

    expect(problems).toEqual([]);
    for (const port of ports) await stillServes(port);
    failed = false;
  });
});

/** What is wrong with the node's answer to one request, or null when nothing is. */
async function answerProblem(
  port: number,
  apiKey: number,
  version: number,
  body: unknown,
): Promise<string | null> {
  const client = await RawKafkaClient.connect(port);
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const answer = await client.send(apiKey, version, body as any);
    const codes = errorCodes(answer);
    return codes.includes(ErrorCode.UNKNOWN_SERVER_ERROR) ? 'UNKNOWN_SERVER_ERROR' : null;
  } catch (err) {
    return String(err);
  } finally {
    client.close();
  }
}

function truncatedMetadata(): Buffer {
  const whole = encodeRequest(ApiKey.Metadata, 9, 1, 'weir-test', {
    topics: [{ name: TOPIC }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  const cut = whole.subarray(0, whole.length - 5);
  cut.writeInt32BE(cut.length - 4, 0);
  return cut;
}

describe('malformed and oversize frames', () => {
  const frames: [string, Buffer][] = [
    ['a body cut short', truncatedMetadata()],
    ['a negative size', sizePrefix(-2)],
    ['a size over maxRequestBytes', sizePrefix(LIMITS.maxRequestBytes + 1)],
    ['a size of 2 GiB', sizePrefix(0x7fffffff)],
    [
      'an unknown API key',
      encodeRequest(ApiKey.ApiVersions, 0, 2, 'weir-test', {}).fill(0x7f, 4, 6),
    ],
  ];

  it.each(frames)('close only their own connection: %s', async (_, bytes) => {
    const socket = await rawSocket(ports[0]!);
    socket.write(bytes);
    await closedBy(socket);
    await stillServes(ports[0]!);
  });

  it('caps a Fetch that asks for 2 GiB at the node fetchMaxBytes', async () => {
    failed = true;
    const topic = 'fetch-cap';
    await createTopic(cluster!, topic, { replicationFactor: 1 });
    const leader = await leaderOf(cluster!, topic);
    for (let i = 0; i < 20; i++) {
      const batch = encodeBatch([{ value: Buffer.alloc(10 * KiB, i) }]);
      expect((await produce(leader, topic, batch)).errorCode).toBe(ErrorCode.NONE);
    }

    const huge = 0x7fffffff;
    const answer = await fetchOnce(leader, topic, 0n, { maxBytes: huge, partitionMaxBytes: huge });
    leader.close();
    expect(answer.errorCode).toBe(ErrorCode.NONE);
    expect(answer.records!.length).toBeGreaterThan(0);
    expect(answer.records!.length).toBeLessThanOrEqual(LIMITS.fetchMaxBytes);
    failed = false;
  });
});

async function partitionLedBy(topic: string, nodeId: number): Promise<number> {
  const res = await fetch(`${cluster!.adminUrls[0]}/v1/topics/${topic}`);
  const body = (await res.json()) as { partitions: { partition: number; leader: number }[] };
  const led = body.partitions.find((p) => p.leader === nodeId);
  if (led === undefined) throw new Error(`node ${nodeId} leads no partition of ${topic}`);
  return led.partition;
}

/**
 * A zstd batch of one well-formed record whose value is `valueBytes` zeros: a few kilobytes on
 * the wire that stand for far more once decompressed.
 */
function zstdBomb(valueBytes: number): Buffer {
  const body = [zigzag(0), zigzag(0), zigzag(-1), zigzag(valueBytes)];
  const head = Buffer.concat([Buffer.from([0]), ...body]);
  const lengthOfRecord = head.length + valueBytes + 1;
  const script = `printf '%s' "$HEAD" | xxd -r -p; head -c ${valueBytes} /dev/zero; printf '\\000'`;
  const record = execFileSync('sh', ['-c', `(${script}) | zstd -c -q -3`], {
    env: { ...process.env, HEAD: Buffer.concat([zigzag(lengthOfRecord), head]).toString('hex') },
    maxBuffer: 64 * MiB,
  });

  const plain = encodeBatch([{ value: Buffer.from('x') }], { timestamp: 1_000 });
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), record]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt16BE(Compression.ZSTD, 21);
  batch.writeUInt32BE(new BatchView(batch, 0).computeCrc(), 17);
  return batch;
}

/** A Kafka varint: zigzag, then base-128 little-endian groups. */
function zigzag(value: number): Buffer {
  let rest = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function sizePrefix(size: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(size, 0);
  return bytes;
}

describe('a compressed batch that expands without bound', () => {
  it('is refused when a lookup looks inside it, and the node keeps serving', async () => {
    failed = true;
    const topic = 'bomb';
    await createTopic(cluster!, topic, { replicationFactor: 1 });
    const leader = await leaderOf(cluster!, topic);
    const bomb = zstdBomb(3 * MAX_DECOMPRESSED_BYTES);
    expect(bomb.length).toBeLessThan(LIMITS.maxRequestBytes);
    expect((await produce(leader, topic, bomb)).errorCode).toBe(ErrorCode.NONE);

    // Offsets by time look inside batches: here they would decompress hundreds of megabytes.
    const answer = await leader.send(ApiKey.ListOffsets, 1, {
      replicaId: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: 500n }] }],
    });
    expect(answer.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    leader.close();
    for (const port of ports) await stillServes(port);
    failed = false;
  });
});

describe('slow, idle and too many connections', () => {
  it('closes a connection that never finishes its request, serving others meanwhile', async () => {
    failed = true;
    const slow = await rawSocket(ports[2]!);
    slow.write(Buffer.concat([sizePrefix(100), Buffer.alloc(10)]));
    await stillServes(ports[2]!);

    await closedBy(slow);
    await stillServes(ports[2]!);
    failed = false;
  });

  it('closes an idle connection but not one waiting for a long fetch', async () => {
    failed = true;
    const idle = await rawSocket(ports[2]!);

    // The long poll goes to node 3, on a partition it leads.
    const topic = 'long-poll';
    await createTopic(cluster!, topic, { partitions: 3, replicationFactor: 1 });
    const partition = await partitionLedBy(topic, 3);
    const leader = await RawKafkaClient.connect(ports[2]!);
    const answer = await leader.send(ApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 3 * SHORT_DEADLINES.connectionIdleTimeoutMs,
      minBytes: 1,
      maxBytes: MiB,
      isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: MiB }] }],
    });
    expect(answer.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    leader.close();

    await closedBy(idle);
    failed = false;
  });

  it('refuses connections beyond maxConnections and serves again once they go', async () => {
    failed = true;
    const flood = await Promise.all(
      Array.from({ length: 2 * LIMITS.maxConnections }, () => rawSocket(ports[0]!)),
    );
    const closed = flood.map(() => false);
    flood.forEach((socket, i) => socket.once('close', () => (closed[i] = true)));

    // Each refused connection is closed by the node; the others wait for our requests.
    const refused = flood.length - LIMITS.maxConnections;
    await new Promise<void>((done) => {
      const check = () => closed.filter(Boolean).length >= refused && done();
      flood.forEach((socket) => socket.once('close', check));
      check();
    });
    await stillServes(ports[1]!);

    for (const socket of flood) socket.destroy();
    await until(() => stillServes(ports[0]!));
    failed = false;
  });

  it('closes a connection whose request bytes would pass the node budget', async () => {
    failed = true;
    const declared = LIMITS.maxRequestBytes;
    const sent = declared - 64 * KiB;
    const count = Math.ceil(LIMITS.maxQueuedRequestBytes / sent) + 1;

    const sockets = await Promise.all(Array.from({ length: count }, () => rawSocket(ports[1]!)));
    const closed = sockets.map((socket) => closedBy(socket));
    for (const socket of sockets)
      socket.write(Buffer.concat([sizePrefix(declared), Buffer.alloc(sent)]));

    // Without a read deadline on this node, only the budget can close one of them.
    await Promise.race(closed);
    expect(sockets.some((socket) => !socket.destroyed)).toBe(true);
    for (const socket of sockets) socket.destroy();
    await until(() => stillServes(ports[1]!));
    failed = false;
  });
});

/** Retries `attempt` until it stops throwing: the node frees closed connections asynchronously. */
async function until(attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}

describe('the admin API', () => {
  const cases: [string, string, number, string | undefined][] = [
    ['a string count', '{"name":"t1","partitions":"3"}', 400, 'partitions'],
    ['a huge count', '{"name":"t1","partitions":1e30}', 400, 'partitions'],
    ['a fractional factor', '{"name":"t1","replicationFactor":1.5}', 400, 'replicationFactor'],
    ['an unknown field', '{"name":"t1","colour":"blue"}', 400, undefined],
    ['a numeric config', '{"name":"t1","configs":{"retention.ms":5}}', 400, 'configs.retention.ms'],
    [
      'a config out of range',
      '{"name":"t1","configs":{"segment.bytes":"1"}}',
      400,
      'configs.segment.bytes',
    ],
    ['an array body', '[]', 400, undefined],
    ['broken JSON', '{"name":', 400, undefined],
  ];

  it.each(cases)('refuses %s with a problem naming the field', async (_, body, status, field) => {
    const res = await fetch(`${cluster!.adminUrls[0]}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    const problem = (await res.json()) as { detail: string; field?: string };
    expect(problem.detail).toBeTruthy();
    expect(problem.field).toBe(field);
  });

  it('refuses an offset that is not a number in the internal API, naming the field', async () => {
    const partitions = [{ topic: TOPIC, partition: 0, logEndOffset: 'abc', sizeBytes: 0 }];
    const res = await fetch(`${cluster!.adminUrls[0]}/internal/v1/data-nodes/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nodeId: 1, brokerEpoch: 1, partitions }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { field?: string };
    expect(problem.field).toBe('partitions.0.logEndOffset');
  });

  it('refuses a body over its size limit and keeps serving', async () => {
    const res = await fetch(`${cluster!.adminUrls[0]}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 't1', configs: { 'x.y': 'z'.repeat(8 * MiB) } }),
    });
    expect(res.status).toBe(413);

    const health = await fetch(`${cluster!.adminUrls[0]}/v1/health`);
    expect(health.status).toBe(200);
  });
});

const WEIR = resolve(import.meta.dirname, '../../bin/weir.mjs');

function runWeir(args: string[]): Promise<{ code: unknown; output: string }> {
  const child = spawn(process.execPath, [WEIR, ...args]);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((done) => child.on('exit', (code) => done({ code, output })));
}

describe('configuration and start-up mistakes', () => {
  it('whose request budget cannot hold one request stops start-up, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-robust-config-'));
    const config = join(dir, 'data-node.json');
    writeFileSync(
      config,
      JSON.stringify({
        nodeId: 9,
        dataDir: dir,
        kafkaPort: 0,
        controllers: ['http://127.0.0.1:1'],
        maxRequestBytes: 2 * MiB,
        maxQueuedRequestBytes: MiB,
      }),
    );

    const { code, output } = await runWeir(['data-node', '--config', config]);
    expect(code).toBe(2);
    expect(output).toMatch(/maxQueuedRequestBytes/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('weir dev on a Kafka port in use stops at once, saying which process died', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'weir-robust-dev-'));
    const busy = String(ports[0]);
    const { code, output } = await runWeir([
      'dev',
      '--data-dir',
      dataDir,
      '--controllers',
      '1',
      '--data-nodes',
      '1',
      '--kafka-port',
      busy,
      '--admin-port',
      '19895',
    ]);

    expect(code).toBe(1);
    expect(output).toMatch(/data-node-1 stopped before the cluster was ready/);
    const log = readFileSync(join(dataDir, 'data-node-1', 'process.log'), 'utf8');
    expect(log).toMatch(/EADDRINUSE/);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
