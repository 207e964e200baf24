// An in-process cluster for data node tests: one controller and some data nodes, each with its
// own temp dir, the controller on a port of the caller's choosing (from the data node tests'
// range) and the data nodes on ports the OS picks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerConfigSchema, startController } from '../../control-plane/main.ts';
import { dataNodeConfigSchema } from '../../data-node/config.ts';
import { startDataNode, type RunningDataNode } from '../../data-node/main.ts';
import { createLogger } from '../../shared/logger.ts';

export interface TestCluster {
  adminUrl: string;
  nodes: RunningDataNode[];
  /** Data directory of each data node, by index in `nodes`. */
  dataDirs: string[];
  /** Stops data node `index` and starts it again on the same data dir and port. */
  restart(index: number): Promise<RunningDataNode>;
  /** host:port of every data node, for client bootstrap lists. */
  brokers: string[];
  stop(): Promise<void>;
}

const logger = createLogger({
  level: (process.env.WEIR_TEST_LOG as 'info') ?? 'silent',
  pretty: false,
});

export async function startCluster(options: {
  adminPort: number;
  dataNodes: number;
  dataNodeConfig?: Record<string, unknown>;
}): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'weir-data-node-'));
  const controller = await startController(
    controllerConfigSchema.parse({
      controllerId: 1,
      dataDir: join(root, 'controller'),
      adminPort: options.adminPort,
      logLevel: 'silent',
    }),
    logger.child({ role: 'controller' }),
  );

  const configs = Array.from({ length: options.dataNodes }, (_, i) =>
    dataNodeConfigSchema.parse({
      nodeId: i + 1,
      dataDir: join(root, `node-${i + 1}`),
      kafkaPort: 0,
      controllers: [controller.adminUrl],
      fsync: false,
      heartbeatIntervalMs: 200,
      metadataPollWaitMs: 2000,
      ...options.dataNodeConfig,
    }),
  );
  const start = (config: (typeof configs)[number]) =>
    startDataNode(config, logger.child({ role: 'data-node', nodeId: config.nodeId }));

  const nodes: RunningDataNode[] = [];
  for (const config of configs) nodes.push(await start(config));

  return {
    adminUrl: controller.adminUrl,
    nodes,
    dataDirs: configs.map((c) => c.dataDir),
    brokers: nodes.map((n) => `127.0.0.1:${n.kafkaPort}`),
    async restart(index) {
      await nodes[index]!.stop();
      nodes[index] = await start({ ...configs[index]!, kafkaPort: nodes[index]!.kafkaPort });
      return nodes[index]!;
    },
    async stop() {
      for (const node of nodes) await node.stop();
      await controller.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
