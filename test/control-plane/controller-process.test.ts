// A controller started as the `weir controller` command starts it, reached over a real socket
// with fetch: it serves the API, keeps its state across a restart, and refuses a data directory
// of another cluster and a quorum it is not part of. Alone in its quorum, it elects itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  controllerConfigSchema,
  startController,
  type RunningController,
} from '../../control-plane/main.ts';
import { silentLogger } from '../../shared/logger.ts';

const dirs: string[] = [];
const running: RunningController[] = [];

afterEach(async () => {
  for (const controller of running.splice(0)) await controller.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(dataDir: string, extra: Record<string, unknown> = {}) {
  return controllerConfigSchema.parse({ controllerId: 1, dataDir, adminPort: 0, ...extra });
}

async function start(dataDir: string, extra: Record<string, unknown> = {}) {
  const controller = await startController(config(dataDir, extra), silentLogger);
  running.push(controller);
  return controller;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-controller-'));
  dirs.push(dir);
  return dir;
}

/** A JSON answer, loosely typed: the tests check its fields. */
type Answer = Record<string, unknown> & { metadataVersion: number };

async function get(url: string): Promise<Answer> {
  return (await (await fetch(url)).json()) as Answer;
}

async function post(url: string, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Answer;
  return { status: res.status, type: res.headers.get('content-type'), body: answer };
}

describe('controller process', () => {
  it('serves the API over HTTP and keeps its state across a restart', async () => {
    const dataDir = tempDir();
    const first = await start(dataDir);

    const registered = await post(`${first.adminUrl}/internal/v1/data-nodes/register`, {
      nodeId: 1,
      host: '127.0.0.1',
      kafkaPort: 9092,
      rack: null,
      incarnationId: 'one',
    });
    const created = await post(`${first.adminUrl}/v1/topics`, { name: 'kept', partitions: 2 });
    const refused = await post(`${first.adminUrl}/v1/topics`, { name: 'kept' });
    const cluster = await get(`${first.adminUrl}/v1/cluster`);
    await running.pop()!.stop();

    const second = await start(dataDir);
    const topic = await get(`${second.adminUrl}/v1/topics/kept`);
    const again = await get(`${second.adminUrl}/v1/cluster`);

    expect(registered.body).toMatchObject({ clusterId: cluster.clusterId });
    expect(created.status).toBe(201);
    expect(refused).toMatchObject({
      status: 409,
      type: 'application/problem+json',
      body: { kafkaErrorCode: 36, field: 'name' },
    });
    expect(topic.topicId).toBe(created.body.topicId);
    expect(again).toMatchObject({
      clusterId: cluster.clusterId,
      metadataVersion: cluster.metadataVersion,
    });
  });

  it('uses the configured cluster id and refuses a data directory of another cluster', async () => {
    const dataDir = tempDir();
    const first = await start(dataDir, { clusterId: 'blue' });
    const cluster = await get(`${first.adminUrl}/v1/cluster`);
    await running.pop()!.stop();

    const attempt = startController(config(dataDir, { clusterId: 'green' }), silentLogger);

    expect(cluster.clusterId).toBe('blue');
    await expect(attempt).rejects.toThrow(/belongs to cluster blue.*green/);
  });

  it('refuses a configuration whose peers do not include this controller', async () => {
    const peers = [2, 3].map((id) => ({
      id,
      host: '127.0.0.1',
      adminPort: 19610 + id,
      raftPort: 19620 + id,
    }));

    const attempt = startController(config(tempDir(), { peers }), silentLogger);

    await expect(attempt).rejects.toThrow(/controllerId 1 is not among peers \(ids 2, 3\)/);
  });

  it('answers a metadata long poll over HTTP once a topic is created', async () => {
    const controller = await start(tempDir());
    const cluster = await get(`${controller.adminUrl}/v1/cluster`);
    await post(`${controller.adminUrl}/internal/v1/data-nodes/register`, {
      nodeId: 1,
      host: '127.0.0.1',
      kafkaPort: 9092,
      rack: null,
      incarnationId: 'one',
    });
    const since = cluster.metadataVersion + 1;

    const poll = fetch(`${controller.adminUrl}/internal/v1/metadata?since=${since}&waitMs=60000`);
    await post(`${controller.adminUrl}/v1/topics`, { name: 'polled' });
    const answer = (await (await poll).json()) as Answer;

    expect(answer.changes).toEqual([
      expect.objectContaining({
        kind: 'topic',
        topic: expect.objectContaining({ name: 'polled' }),
      }),
    ]);
  });

  it('stops while a long poll is in flight instead of waiting for it', async () => {
    const controller = await start(tempDir());

    const poll = fetch(`${controller.adminUrl}/internal/v1/metadata?since=1&waitMs=60000`);
    await expect(running.pop()!.stop()).resolves.toBeUndefined();

    await Promise.allSettled([poll]);
  });
});

describe('controller configuration', () => {
  it('fills defaults and refuses unknown fields', () => {
    const parsed = config('/tmp/x');

    expect(parsed).toMatchObject({
      host: '127.0.0.1',
      peers: [],
      dataNodeSessionTimeoutMs: 3000,
      logLevel: 'info',
    });
    expect(() => config('/tmp/x', { adminPotr: 1 })).toThrow(/adminPotr/);
  });
});
