// Test clusters: real processes through the same code `weir dev` uses, each test file on its own
// ports and in its own temporary data directory, stopped (and removed) afterwards.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, type LocalClusterOptions } from '../../infra/local-cluster.ts';

export interface TestClusterOptions extends Partial<LocalClusterOptions> {
  /**
   * Base of this test file's port range: Kafka ports from base, admin ports from base + 50 and
   * the controllers' raft ports right after them, so a file needs [base, base + 9] and
   * [base + 50, base + 59].
   */
  basePort: number;
}

/**
 * One controller unless a test asks for a quorum: three controllers (as `weir dev` runs) made
 * the client and protocol suites about a third slower on this 2-core machine, mostly in start-up,
 * and what they test is the data plane. controller-failover.test.ts runs the quorum.
 */
const CONTROLLERS = 1;

export async function startTestCluster(options: TestClusterOptions): Promise<LocalCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-test-'));
  const controllers = options.controllers ?? CONTROLLERS;
  const { cluster } = LocalCluster.prepare({
    dataDir,
    controllers,
    dataNodes: 3,
    kafkaPort: options.basePort,
    adminPort: options.basePort + 50,
    raftPort: options.basePort + 50 + controllers,
    logLevel: 'info',
    ...options,
  });

  await cluster.start();
  try {
    await cluster.waitUntilReady(90_000);
  } catch (err) {
    await stopTestCluster(cluster, { keep: true });
    throw err;
  }
  return cluster;
}

/** Stops the cluster; its data directory is kept when the test failed, for the logs. */
export async function stopTestCluster(
  cluster: LocalCluster | undefined,
  options: { keep?: boolean } = {},
): Promise<void> {
  if (cluster === undefined) return;
  await cluster.stop();
  if (options.keep === true) {
    for (const p of cluster.processes) {
      const tail = readFileSync(p.logFile, 'utf8').split('\n').slice(-15).join('\n');
      console.error(`--- ${p.name} (${p.logFile}) ---\n${tail}`);
    }
    return;
  }
  rmSync(cluster.dataDir, { recursive: true, force: true });
}

export function brokers(cluster: LocalCluster): string[] {
  return cluster.bootstrapServers.split(',');
}
