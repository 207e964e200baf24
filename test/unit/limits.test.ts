// Durations past what a Node.js timer can hold (2^31 - 1 ms, about 24.8 days) fire after 1 ms
// instead: a "very long" heartbeat timeout would abort every heartbeat at once, and a very long
// metadata wait would turn the data node's long poll into a busy loop. Configs and the admin API
// refuse them with an error naming the field. Presence requests cut and reopened again and
// again never fence a node that keeps showing itself; past a small cap, more requests held open
// for one node are refused.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../control-plane/app.ts';
import { createControllerCore } from '../../control-plane/controller.ts';
import { PRESENCE_OPEN_MAX } from '../../control-plane/data-node-liveness.ts';
import { controllerConfigSchema } from '../../control-plane/main.ts';
import { readDataNode } from '../../control-plane/db/queries.ts';
import { dataNodeConfigSchema } from '../../data-node/config.ts';
import { silentLogger } from '../../shared/logger.ts';
import { memoryDb } from '../control-plane/helpers.ts';

const TIMER_OVERFLOW_MS = 2 ** 31;
const PRESENCE_GRACE_MS = 500;

const dataNodeBase = { nodeId: 1, dataDir: '/tmp/x', kafkaPort: 0, controllers: ['http://a:1'] };
const controllerBase = { controllerId: 1, dataDir: '/tmp/x', adminPort: 0 };

function dataNodeIssue(field: string, value: unknown): string | undefined {
  const parsed = dataNodeConfigSchema.safeParse({ ...dataNodeBase, [field]: value });
  return parsed.success ? undefined : parsed.error.issues.map((i) => i.path.join('.')).join(',');
}

describe('data node config durations', () => {
  const timers = [
    'heartbeatIntervalMs',
    'heartbeatTimeoutMs',
    'metadataPollWaitMs',
    'requestReadTimeoutMs',
    'connectionIdleTimeoutMs',
    'retentionCheckIntervalMs',
    'replicaLagTimeMaxMs',
    'replicaFetchWaitMaxMs',
    'replicaFetchBackoffMs',
    'replicaRequestTimeoutMs',
    'controlledShutdownTimeoutMs',
    'groupMemberConnectionLossGraceMs',
  ];

  it.each(timers)('refuses %s beyond what a timer holds, naming the field', (field) => {
    expect(dataNodeIssue(field, TIMER_OVERFLOW_MS)).toBe(field);
    expect(dataNodeIssue(field, -1)).toBe(field);
    expect(dataNodeIssue(field, 'soon')).toBe(field);
  });

  it('refuses a heartbeat timeout or metadata wait the controller would not honour', () => {
    expect(dataNodeIssue('heartbeatTimeoutMs', 120_000)).toBe('heartbeatTimeoutMs');
    expect(dataNodeIssue('metadataPollWaitMs', 120_000)).toBe('metadataPollWaitMs');
    expect(dataNodeIssue('heartbeatTimeoutMs', 60_000)).toBeUndefined();
  });

  it('still takes zero where zero means off', () => {
    expect(dataNodeIssue('groupMemberConnectionLossGraceMs', 0)).toBeUndefined();
    expect(dataNodeIssue('controlledShutdownTimeoutMs', 0)).toBeUndefined();
  });
});

describe('controller config durations', () => {
  const issue = (field: string, value: unknown) => {
    const parsed = controllerConfigSchema.safeParse({ ...controllerBase, [field]: value });
    return parsed.success ? undefined : parsed.error.issues.map((i) => i.path.join('.')).join(',');
  };

  it.each(['dataNodePresenceGraceMs', 'dataNodeSessionTimeoutMs', 'newLeaderSessionGraceMs'])(
    'refuses %s beyond what a timer holds',
    (field) => {
      expect(issue(field, TIMER_OVERFLOW_MS)).toBe(field);
      expect(issue(field, -5)).toBe(field);
    },
  );

  it('refuses offsets retention values that are not whole positive milliseconds', () => {
    expect(issue('offsetsRetentionMs', 0)).toBe('offsetsRetentionMs');
    expect(issue('offsetsRetentionMs', 1.5)).toBe('offsetsRetentionMs');
    expect(issue('offsetsRetentionCheckMs', TIMER_OVERFLOW_MS)).toBe('offsetsRetentionCheckMs');
  });
});

async function controller() {
  const clock = { now: 0 };
  const db = memoryDb();
  const core = createControllerCore({
    controllerId: 1,
    db,
    dataNodeSessionTimeoutMs: 6000,
    dataNodePresenceGraceMs: PRESENCE_GRACE_MS,
    logger: silentLogger,
    clocks: { wallMs: () => clock.now, monotonicMs: () => clock.now },
  });
  await core.log.propose({ type: 'initCluster', clusterId: 'breaker' });
  const { brokerEpoch } = await core.liveness.register({
    nodeId: 1,
    host: '127.0.0.1',
    kafkaPort: 9001,
    rack: null,
    incarnationId: 'i-1',
  });
  core.liveness.check();

  const open = () => {
    const connection = new AbortController();
    const request = { nodeId: 1, brokerEpoch, holdMs: 60_000 };
    const answered = core.liveness.presence(request, connection.signal);
    return async () => {
      connection.abort();
      await answered;
    };
  };
  const fenced = async () => {
    await Promise.all(core.liveness.check());
    return readDataNode(db, 1)!.fenced;
  };
  return { core, clock, open, fenced };
}

describe('presence requests under abuse', () => {
  it('does not fence a node whose presence is cut after 1 ms again and again', async () => {
    const { clock, open, fenced } = await controller();

    for (let i = 0; i < 2000; i++) {
      await open()();
      clock.now += 1;
      expect(await fenced()).toBe(false);
    }

    clock.now += PRESENCE_GRACE_MS;
    expect(await fenced()).toBe(true);
  });

  it('refuses presence requests past the cap, and fences only after the last open is cut', async () => {
    const { core, clock, open, fenced } = await controller();
    const cuts = Array.from({ length: PRESENCE_OPEN_MAX }, open);

    const brokerEpoch = readDataNode(core.stateMachine.db, 1)!.brokerEpoch;
    const request = { nodeId: 1, brokerEpoch, holdMs: 60_000 };
    await expect(
      core.liveness.presence(request, new AbortController().signal),
    ).rejects.toMatchObject({ rejection: { reason: 'tooManyPresenceRequests', errorCode: 89 } });

    for (const cut of cuts.slice(1)) await cut();
    clock.now += PRESENCE_GRACE_MS * 4;
    expect(await fenced()).toBe(false);

    await cuts[0]!();
    clock.now += PRESENCE_GRACE_MS;
    expect(await fenced()).toBe(true);
  });

  it('refuses a metadata wait beyond a minute instead of answering it at once', async () => {
    const { core } = await controller();
    const app = buildApp(core);

    const res = await app.request(`/internal/v1/metadata?since=0&waitMs=${TIMER_OVERFLOW_MS}`);

    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'waitMs' });
  });
});
