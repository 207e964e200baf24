// An in-process cluster for the group tests: one controller on a port of the group tests' range
// and data nodes on ports the OS picks, each in its own temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerConfigSchema, startController } from '../../control-plane/main.ts';
import { dataNodeConfigSchema } from '../../data-node/config.ts';
import { startDataNode, type RunningDataNode } from '../../data-node/main.ts';
import { createLogger } from '../../shared/logger.ts';

export interface GroupTestCluster {
  nodes: RunningDataNode[];
  /** host:port of every data node, for client bootstrap lists. */
  brokers: string[];
  stop(): Promise<void>;
}

const logger = createLogger({
  level: (process.env.WEIR_TEST_LOG as 'info') ?? 'silent',
  pretty: false,
});

export async function startGroupCluster(
  adminPort: number,
  dataNodes = 3,
): Promise<GroupTestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'weir-groups-'));
  const controller = await startController(
    controllerConfigSchema.parse({
      controllerId: 1,
      dataDir: join(root, 'controller'),
      adminPort,
      logLevel: 'silent',
    }),
    logger.child({ role: 'controller' }),
  );

  const nodes: RunningDataNode[] = [];
  for (let nodeId = 1; nodeId <= dataNodes; nodeId++) {
    const config = dataNodeConfigSchema.parse({
      nodeId,
      dataDir: join(root, `node-${nodeId}`),
      kafkaPort: 0,
      controllers: [controller.adminUrl],
      fsync: false,
      heartbeatIntervalMs: 200,
      metadataPollWaitMs: 2000,
    });
    nodes.push(await startDataNode(config, logger.child({ role: 'data-node', nodeId })));
  }

  return {
    nodes,
    brokers: nodes.map((n) => `127.0.0.1:${n.kafkaPort}`),
    async stop() {
      for (const node of nodes) await node.stop();
      await controller.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
