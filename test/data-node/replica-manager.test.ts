// The replica manager on its own, over a real data directory: a partition that cannot be opened
// (here its directory path is taken by a file) is tried again without any new metadata, and opens
// once the cause is gone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReplicaManager } from '../../data-node/replica-manager.ts';
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { silentLogger } from '../../shared/logger.ts';

const view: ClusterSnapshot = {
  clusterId: 'k',
  version: 1,
  dataNodes: [
    {
      nodeId: 1,
      host: '127.0.0.1',
      kafkaPort: 9092,
      rack: null,
      incarnationId: 'a',
      brokerEpoch: 1,
      fenced: false,
    },
  ],
  topics: [
    {
      name: 't',
      topicId: '00000000-0000-4000-8000-000000000001',
      configs: {},
      partitions: [
        { partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
      ],
    },
  ],
};

const dirs: string[] = [];
const managers: ReplicaManager[] = [];

afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('replica manager', () => {
  it('opens a partition that failed to open once its cause is gone, without new metadata', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'weir-replicas-'));
    dirs.push(dataDir);
    const blocker = join(dataDir, 't-0');
    writeFileSync(blocker, 'not a directory');

    const manager = new ReplicaManager(
      {
        nodeId: 1,
        dataDir,
        log: { fsync: false, retentionCheckIntervalMs: 60_000 },
        openRetryMs: 20,
      },
      silentLogger,
    );
    managers.push(manager);
    await manager.apply(view);
    expect(manager.get('t', 0)).toBeUndefined();

    rmSync(blocker);
    await vi.waitFor(() => expect(manager.get('t', 0)).toBeDefined(), { timeout: 10_000 });
    expect(manager.get('t', 0)!.logEndOffset).toBe(0n);
  });
});
