// The controller's HTTP API in process, through app.request(): what an operator or a data node
// sees. Failures are application/problem+json naming the field at fault and the Kafka error code.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/app.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { silentLogger } from '../../shared/logger.ts';
import { memoryDb } from './helpers.ts';

async function controller(dataNodes = 3) {
  const core = createControllerCore({
    controllerId: 1,
    db: memoryDb(),
    dataNodeSessionTimeoutMs: 6000,
    logger: silentLogger,
  });
  await core.log.propose({ type: 'initCluster', clusterId: 'api-test' });
  const app = buildApp(core);

  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await app.request(path, init);
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: text.length > 0 ? JSON.parse(text) : undefined,
    };
  };

  const epochs = new Map<number, number>();
  for (let nodeId = 1; nodeId <= dataNodes; nodeId++) {
    const res = await call('POST', '/internal/v1/data-nodes/register', {
      nodeId,
      host: '127.0.0.1',
      kafkaPort: 9000 + nodeId,
      rack: null,
      incarnationId: `i-${nodeId}`,
    });
    epochs.set(nodeId, res.body.brokerEpoch);
  }
  return { core, app, call, epochs };
}

const PROBLEM = 'application/problem+json';

describe('admin API: topics', () => {
  it('creates, describes, lists and deletes a topic', async () => {
    const { call } = await controller();

    const created = await call('POST', '/v1/topics', {
      name: 'orders',
      partitions: 3,
      replicationFactor: 2,
      configs: { 'retention.ms': '60000' },
    });
    const described = await call('GET', '/v1/topics/orders');
    const listed = await call('GET', '/v1/topics');
    const deleted = await call('DELETE', '/v1/topics/orders');
    const gone = await call('GET', '/v1/topics/orders');

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'orders',
      replicationFactor: 2,
      configs: { 'retention.ms': '60000' },
    });
    expect(created.body.partitions).toHaveLength(3);
    expect(described.body.partitions[0]).toMatchObject({
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      logEndOffset: null,
    });
    expect(listed.body.topics).toEqual([
      { name: 'orders', topicId: created.body.topicId, partitions: 3, replicationFactor: 2 },
    ]);
    expect(deleted).toMatchObject({ status: 200, body: { topicId: created.body.topicId } });
    expect(gone).toMatchObject({ status: 404, type: PROBLEM, body: { kafkaErrorCode: 3 } });
  });

  it('defaults to one partition and three replicas, fewer when fewer nodes are live', async () => {
    const { call } = await controller(2);

    const created = await call('POST', '/v1/topics', { name: 'small' });

    expect(created.body).toMatchObject({ replicationFactor: 2 });
    expect(created.body.partitions).toHaveLength(1);
  });

  it.each([
    [{ partitions: 1 }, 'name', 17],
    [{ name: 't', partitions: 0 }, 'partitions', 37],
    [{ name: 't', replicationFactor: 'three' }, 'replicationFactor', 38],
    [{ name: 't', configs: { 'retention.ms': 5 } }, 'configs.retention.ms', 40],
    [{ name: 't', colour: 'red' }, '', 42],
  ])(
    'answers a body failing its schema (%j) with a problem naming the field',
    async (body, field, code) => {
      const { call } = await controller();

      const res = await call('POST', '/v1/topics', body);

      expect(res).toMatchObject({ status: 400, type: PROBLEM });
      expect(res.body).toMatchObject({
        title: 'invalid request',
        status: 400,
        kafkaErrorCode: code,
      });
      expect(res.body.field ?? '').toBe(field);
      expect(res.body.detail).toEqual(expect.any(String));
    },
  );

  it('answers the cases of CreateTopics validation with Kafka codes', async () => {
    const { call } = await controller(2);
    await call('POST', '/v1/topics', { name: 'foo.bar' });

    const codes: Record<string, number> = {};
    for (const [label, body] of Object.entries({
      empty: { name: '' },
      dot: { name: '.' },
      dots: { name: '..' },
      long: { name: 'a'.repeat(250) },
      slash: { name: 'a/b' },
      umlaut: { name: 'ü' },
      collision: { name: 'foo_bar' },
      existing: { name: 'foo.bar' },
      codec: { name: 'c', configs: { 'compression.type': 'foo' } },
      retention: { name: 'r', configs: { 'retention.ms': 'abc' } },
      unknown: { name: 'u', configs: { 'no.such': '1' } },
      replicas: { name: 'rf', replicationFactor: 3 },
    })) {
      const res = await call('POST', '/v1/topics', body);
      expect(res.type).toBe(PROBLEM);
      codes[label] = res.body.kafkaErrorCode;
    }
    const valid = await call('POST', '/v1/topics', { name: 'a'.repeat(249), replicationFactor: 1 });

    expect(codes).toEqual({
      empty: 17,
      dot: 17,
      dots: 17,
      long: 17,
      slash: 17,
      umlaut: 17,
      collision: 17,
      existing: 36,
      codec: 40,
      retention: 40,
      unknown: 40,
      replicas: 38,
    });
    expect(valid.status).toBe(201);
  });

  it('names the config at fault in field and detail', async () => {
    const { call } = await controller();

    const res = await call('POST', '/v1/topics', {
      name: 't',
      configs: { 'compression.type': 'foo' },
    });

    expect(res.body).toMatchObject({ status: 400, field: 'configs.compression.type' });
    expect(res.body.detail).toContain('compression.type');
  });

  it('checks without creating when validateOnly=true', async () => {
    const { call } = await controller();

    const checked = await call('POST', '/v1/topics?validateOnly=true', {
      name: 'v',
      partitions: 2,
    });
    const bad = await call('POST', '/v1/topics?validateOnly=true', {
      name: 'v',
      replicationFactor: 9,
    });
    const after = await call('GET', '/v1/topics/v');

    expect(checked.status).toBe(200);
    expect(checked.body.partitions).toHaveLength(2);
    expect(bad.body.kafkaErrorCode).toBe(38);
    expect(after.status).toBe(404);
  });

  it('adds partitions to a topic', async () => {
    const { call } = await controller();
    await call('POST', '/v1/topics', { name: 'g', partitions: 1 });

    const grown = await call('POST', '/v1/topics/g/partitions', { count: 4 });
    const shrink = await call('POST', '/v1/topics/g/partitions', { count: 2 });

    expect(grown.body.partitions).toHaveLength(4);
    expect(shrink).toMatchObject({ status: 400, body: { kafkaErrorCode: 37, field: 'count' } });
  });

  it('answers a malformed body and an unknown route with problems', async () => {
    const { call } = await controller();

    const malformed = await call('POST', '/v1/topics', '{"name": ');
    const missing = await call('GET', '/v1/nothing-here');

    expect(malformed).toMatchObject({ status: 400, type: PROBLEM });
    expect(missing).toMatchObject({ status: 404, type: PROBLEM });
  });

  it('refuses writes with NOT_CONTROLLER (503) when it does not lead', async () => {
    const { core, call } = await controller();
    core.commandLog.close();

    const res = await call('POST', '/v1/topics', { name: 'x' });

    expect(res).toMatchObject({ status: 503, type: PROBLEM, body: { kafkaErrorCode: 41 } });
  });
});

describe('admin API: cluster and data nodes', () => {
  it('shows health, cluster id, metadata version and data nodes', async () => {
    const { call } = await controller(2);

    const health = await call('GET', '/v1/health');
    const cluster = await call('GET', '/v1/cluster');
    const nodes = await call('GET', '/v1/data-nodes');

    expect(health.body).toEqual({ status: 'ok', controllerId: 1, leader: true });
    expect(cluster.body).toMatchObject({ clusterId: 'api-test', metadataVersion: 3, leader: true });
    expect(nodes.body.dataNodes.map((n: { nodeId: number }) => n.nodeId)).toEqual([1, 2]);
    expect(nodes.body.dataNodes[0]).toMatchObject({
      fenced: false,
      lastHeartbeatAt: expect.any(String),
    });
  });

  it('serves its OpenAPI document', async () => {
    const { call } = await controller(0);

    const doc = await call('GET', '/openapi.json');

    expect(doc.body.openapi).toBe('3.0.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/topics', '/v1/topics/{name}', '/internal/v1/metadata']),
    );
    expect(doc.body.components.schemas).toHaveProperty('Problem');
  });

  it('runs a preferred leader election', async () => {
    const { call } = await controller(2);
    await call('POST', '/v1/topics', { name: 'e', partitions: 1, replicationFactor: 2 });
    const before = (await call('GET', '/v1/topics/e')).body.partitions[0];
    await call('POST', '/internal/v1/data-nodes/register', {
      nodeId: before.leader,
      host: '127.0.0.1',
      kafkaPort: 9000,
      rack: null,
      incarnationId: 'restarted',
    });

    const res = await call('POST', '/v1/leader-elections', { election: 'preferred' });

    expect(res.body.results).toEqual([
      // The restarted node left the ISR, so it cannot take leadership back yet.
      { topic: 'e', partition: 0, errorCode: 80, leader: before.replicas[1] },
    ]);
  });
});

describe('internal API', () => {
  it('keeps the log end offsets that heartbeats report', async () => {
    const { call, epochs } = await controller(1);
    await call('POST', '/v1/topics', { name: 'h', replicationFactor: 1 });

    const beat = await call('POST', '/internal/v1/data-nodes/heartbeat', {
      nodeId: 1,
      brokerEpoch: epochs.get(1),
      partitions: [{ topic: 'h', partition: 0, logEndOffset: '9007199254740993', sizeBytes: 10 }],
    });
    const topic = await call('GET', '/v1/topics/h');

    expect(beat.body).toMatchObject({ fenced: false });
    expect(topic.body.partitions[0]).toMatchObject({
      logEndOffset: '9007199254740993',
      replicaLogEndOffsets: { '1': '9007199254740993' },
    });
  });

  it('refuses heartbeats from an old registration (409) and an unknown node (404)', async () => {
    const { call, epochs } = await controller(1);

    const stale = await call('POST', '/internal/v1/data-nodes/heartbeat', {
      nodeId: 1,
      brokerEpoch: epochs.get(1)! - 1,
    });
    const unknown = await call('POST', '/internal/v1/data-nodes/heartbeat', {
      nodeId: 5,
      brokerEpoch: 1,
    });

    expect(stale).toMatchObject({ status: 409, type: PROBLEM, body: { kafkaErrorCode: 77 } });
    expect(unknown).toMatchObject({ status: 404, type: PROBLEM });
  });

  it('answers a metadata poll with a snapshot, then with changes when they come', async () => {
    const { call, app } = await controller(1);

    const first = await call('GET', '/internal/v1/metadata?since=0');
    const parked = app.request(`/internal/v1/metadata?since=${first.body.version}&waitMs=60000`);
    await call('POST', '/v1/topics', { name: 'm', replicationFactor: 1 });
    const next = (await (await parked).json()) as { version: number; changes: unknown[] };

    expect(first.body.snapshot).toMatchObject({
      clusterId: 'api-test',
      dataNodes: [{ nodeId: 1 }],
    });
    expect(next.changes).toEqual([expect.objectContaining({ kind: 'topic' })]);
    expect(next.version).toBeGreaterThan(first.body.version);
  });

  it('changes an ISR for the leader, refusing a stale partition epoch', async () => {
    const { call, epochs } = await controller(2);
    const created = await call('POST', '/v1/topics', { name: 'i', replicationFactor: 2 });
    const p = created.body.partitions[0];
    const request = {
      nodeId: p.leader,
      brokerEpoch: epochs.get(p.leader),
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      isr: [p.leader],
    };

    const shrunk = await call('POST', '/internal/v1/topics/i/partitions/0/isr', request);
    const stale = await call('POST', '/internal/v1/topics/i/partitions/0/isr', request);

    expect(shrunk.body).toMatchObject({ isr: [p.leader], partitionEpoch: 1 });
    expect(stale).toMatchObject({ status: 409, body: { kafkaErrorCode: 108 } });
  });

  it('round-trips committed offsets (case P6)', async () => {
    const { call } = await controller(1);
    await call('POST', '/v1/topics', { name: 'o', partitions: 2, replicationFactor: 1 });

    const committed = await call('POST', '/internal/v1/groups/g1/offsets', {
      offsets: [
        { topic: 'o', partition: 0, offset: '42', leaderEpoch: 3, metadata: 'ckpt-7' },
        { topic: 'o', partition: 1, offset: '1', leaderEpoch: 3, metadata: 'x'.repeat(5000) },
      ],
    });
    const fetched = await call('GET', '/internal/v1/groups/g1/offsets?topic=o');
    const unknownGroup = await call('GET', '/internal/v1/groups/nobody/offsets');

    expect(committed.body.results).toEqual([
      { topic: 'o', partition: 0, errorCode: 0 },
      { topic: 'o', partition: 1, errorCode: 12 },
    ]);
    expect(fetched.body.offsets).toEqual([
      {
        topic: 'o',
        partition: 0,
        offset: '42',
        leaderEpoch: 3,
        metadata: 'ckpt-7',
        commitTimeMs: expect.any(Number),
      },
    ]);
    expect(unknownGroup.body).toEqual({ groupId: 'nobody', offsets: [] });
  });

  it('commits concurrent requests, each getting its own results', async () => {
    const { call } = await controller(1);
    await call('POST', '/v1/topics', { name: 'c', partitions: 3, replicationFactor: 1 });

    const answers = await Promise.all(
      [0, 1, 2, 7].map((partition) =>
        call('POST', `/internal/v1/groups/g${partition}/offsets`, {
          offsets: [{ topic: 'c', partition, offset: '5' }],
        }),
      ),
    );

    expect(answers.map((a) => a.body.results[0].errorCode)).toEqual([0, 0, 0, 3]);
  });

  it('deletes the offsets of a group', async () => {
    const { call } = await controller(1);
    await call('POST', '/v1/topics', { name: 'd', replicationFactor: 1 });
    await call('POST', '/internal/v1/groups/g/offsets', {
      offsets: [{ topic: 'd', partition: 0, offset: '5' }],
    });

    const deleted = await call('DELETE', '/internal/v1/groups/g/offsets');
    const fetched = await call('GET', '/internal/v1/groups/g/offsets');

    expect(deleted.body).toEqual({ deleted: 1 });
    expect(fetched.body.offsets).toEqual([]);
  });
});
