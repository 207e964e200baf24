// `weir dev`: a local cluster in the foreground. Starts the controllers and data nodes as separate
// processes, waits until the cluster answers, prints how to reach it, and stops every child on
// Ctrl-C. A process that dies is reported, not restarted: its command line in cluster.json brings
// it back with its data.
import { LocalCluster } from '../local-cluster.ts';

export interface DevOptions {
  dataDir: string;
  controllers?: number;
  dataNodes?: number;
  kafkaPort?: number;
  adminPort?: number;
  raftPort?: number;
}

export const DEV_DEFAULTS = { controllers: 3, dataNodes: 3, kafkaPort: 9092, adminPort: 9600 };

export async function runDev(opts: DevOptions): Promise<void> {
  let stopping = false;
  let ready = false;
  // A process that dies before the cluster is up (a port in use, a bad data dir) ends the wait.
  let exitedEarly!: (err: Error) => void;
  const earlyExit = new Promise<never>((_, reject) => (exitedEarly = reject));
  earlyExit.catch(() => undefined);

  const { cluster, resumed } = LocalCluster.prepare(
    {
      dataDir: opts.dataDir,
      controllers: opts.controllers ?? DEV_DEFAULTS.controllers,
      dataNodes: opts.dataNodes ?? DEV_DEFAULTS.dataNodes,
      kafkaPort: opts.kafkaPort ?? DEV_DEFAULTS.kafkaPort,
      adminPort: opts.adminPort ?? DEV_DEFAULTS.adminPort,
      raftPort: opts.raftPort,
    },
    (spec, code, signal) => {
      if (stopping) return;
      console.log(`! ${spec.name} exited (${signal ?? `code ${code}`}); see ${spec.logFile}`);
      if (!ready) exitedEarly(new Error(`${spec.name} stopped before the cluster was ready`));
    },
  );

  if (resumed) {
    console.log(`resuming the cluster in ${cluster.dataDir} (flags for its shape are ignored)`);
  }
  const controllers = cluster.processes.filter((p) => p.role === 'controller').length;
  const dataNodes = cluster.processes.length - controllers;
  console.log(`starting ${controllers} controller(s) and ${dataNodes} data node(s)...`);

  const started = Date.now();
  await cluster.start();

  const shutdown = async (exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the cluster...');
    await cluster.stop();
    console.log('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  try {
    await Promise.race([cluster.waitUntilReady(), earlyExit]);
    ready = true;
  } catch (err) {
    console.error(`weir dev: ${(err as Error).message}`);
    await shutdown(1);
    return;
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const live = await cluster.liveDataNodeIds();
  console.log(`
cluster ${cluster.clusterId} is up in ${seconds} s: ${live.length} data node(s) registered

  bootstrap servers  ${cluster.bootstrapServers}
  admin API          ${cluster.adminUrls.join(', ')}   (OpenAPI at /openapi.json)
  processes          ${cluster.dataDir}/cluster.json   (logs beside each config)

try it:
  curl -s -X POST ${cluster.adminUrls[0]}/v1/topics -H 'content-type: application/json' \\
       -d '{"name":"hello","partitions":3,"replicationFactor":3}'
  echo "hi weir" | kcat -b ${cluster.bootstrapServers.split(',')[0]} -P -t hello
  kcat -b ${cluster.bootstrapServers.split(',')[0]} -C -t hello -e

Ctrl-C stops every process.`);
}
