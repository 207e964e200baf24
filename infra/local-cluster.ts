// A cluster of Weir processes on one machine: `weir dev` runs one in the foreground, and the
// integration tests start their own on their own ports and data directories. Each process gets a
// config file in its own folder under the cluster's data directory; `cluster.json` records every
// process's role, id, pid, listeners and the exact command line that restarts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const WEIR_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/weir.mjs');

export interface LocalClusterOptions {
  dataDir: string;
  controllers: number;
  dataNodes: number;
  /** Kafka port of data node 1; data node i listens on kafkaPort + i - 1. */
  kafkaPort: number;
  /** Admin port of controller 1; controller i listens on adminPort + i - 1. */
  adminPort: number;
  /** Raft port of controller 1; defaults to adminPort + 100. */
  raftPort?: number;
  logLevel?: string;
  /** Extra fields merged into every data node's config (e.g. `{ fsync: false }`). */
  dataNodeConfig?: Record<string, unknown>;
  /** Extra fields merged into every controller's config. */
  controllerConfig?: Record<string, unknown>;
}

const ProcessSpec = z.object({
  name: z.string(),
  role: z.enum(['controller', 'data-node']),
  id: z.number().int(),
  pid: z.number().int().nullable(),
  listeners: z.record(z.string(), z.string()),
  configFile: z.string(),
  logFile: z.string(),
  cwd: z.string(),
  command: z.array(z.string()),
});
export type ProcessSpec = z.infer<typeof ProcessSpec>;

const ClusterFile = z.object({
  clusterId: z.string(),
  bootstrapServers: z.string(),
  adminUrls: z.array(z.string()),
  processes: z.array(ProcessSpec),
});
export type ClusterFile = z.infer<typeof ClusterFile>;

export class LocalCluster {
  private readonly children = new Map<string, ChildProcess>();

  private constructor(
    readonly dataDir: string,
    private file: ClusterFile,
    private readonly onExit?: (spec: ProcessSpec, code: number | null, signal: string | null) => void,
  ) {}

  /**
   * Writes configs for a new cluster, or loads `cluster.json` when the data directory already holds
   * one, so that running `weir dev` again resumes the same cluster with its data.
   */
  static prepare(
    options: LocalClusterOptions,
    onExit?: (spec: ProcessSpec, code: number | null, signal: string | null) => void,
  ): { cluster: LocalCluster; resumed: boolean } {
    const dataDir = resolve(options.dataDir);
    const clusterJson = join(dataDir, 'cluster.json');

    if (existsSync(clusterJson)) {
      const file = ClusterFile.parse(JSON.parse(readFileSync(clusterJson, 'utf8')));
      return { cluster: new LocalCluster(dataDir, file, onExit), resumed: true };
    }

    mkdirSync(dataDir, { recursive: true });
    const file = writeConfigs(dataDir, options);
    const cluster = new LocalCluster(dataDir, file, onExit);
    cluster.save();
    return { cluster, resumed: false };
  }

  get clusterId(): string {
    return this.file.clusterId;
  }

  get bootstrapServers(): string {
    return this.file.bootstrapServers;
  }

  get adminUrls(): readonly string[] {
    return this.file.adminUrls;
  }

  get processes(): readonly ProcessSpec[] {
    return this.file.processes;
  }

  spec(name: string): ProcessSpec {
    const spec = this.file.processes.find((p) => p.name === name);
    if (spec === undefined) throw new Error(`no process named ${name} in ${this.dataDir}`);
    return spec;
  }

  /** Starts every process that is not running, controllers first. */
  async start(): Promise<void> {
    for (const spec of this.file.processes) {
      if (!this.children.has(spec.name)) this.startProcess(spec.name);
    }
  }

  startProcess(name: string): ChildProcess {
    const spec = this.spec(name);
    const log = openSync(spec.logFile, 'a');
    const [command, ...args] = spec.command;

    const child = spawn(command!, args, { cwd: spec.cwd, stdio: ['ignore', log, log] });
    closeSync(log);
    this.children.set(name, child);
    spec.pid = child.pid ?? null;
    this.save();

    child.on('exit', (code, signal) => {
      if (this.children.get(name) === child) this.children.delete(name);
      this.onExit?.(spec, code, signal);
    });
    return child;
  }

  isRunning(name: string): boolean {
    return this.children.has(name);
  }

  /** Sends a signal to one process; SIGKILL and SIGTERM wait until it has exited. */
  async signal(name: string, signal: NodeJS.Signals): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined) return;

    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') await exited;
  }

  /** Waits until every controller answers and every data node is registered and listening. */
  async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const dataNodes = this.file.processes.filter((p) => p.role === 'data-node');

    while (Date.now() < deadline) {
      const registered = await this.liveDataNodeIds();
      const listening = await Promise.all(dataNodes.map((p) => tcpAnswers(p.listeners.kafka!)));
      if (registered.length >= dataNodes.length && listening.every(Boolean)) return;
      await sleep(200);
    }
    throw new Error(`cluster in ${this.dataDir} not ready after ${timeoutMs} ms; see its logs`);
  }

  /** Node ids of unfenced data nodes as any answering controller reports them. */
  async liveDataNodeIds(): Promise<number[]> {
    for (const url of this.file.adminUrls) {
      try {
        const res = await fetch(`${url}/v1/data-nodes`, { signal: AbortSignal.timeout(2000) });
        if (!res.ok) continue;
        const body = (await res.json()) as { dataNodes?: { nodeId: number; fenced: boolean }[] };
        return (body.dataNodes ?? []).filter((n) => !n.fenced).map((n) => n.nodeId);
      } catch {
        // This controller is down or not serving yet; ask the next one.
      }
    }
    return [];
  }

  /** Stops every running process with SIGTERM, then SIGKILL for any still alive after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    const running = [...this.children.entries()];

    await Promise.all(
      running.map(async ([, child]) => {
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private save(): void {
    writeFileSync(join(this.dataDir, 'cluster.json'), JSON.stringify(this.file, null, 2) + '\n');
  }
}

function writeConfigs(dataDir: string, options: LocalClusterOptions): ClusterFile {
  const clusterId = randomUUID();
  const host = '127.0.0.1';
  const raftPort = options.raftPort ?? options.adminPort + 100;
  const logLevel = options.logLevel ?? 'info';

  const controllers = range(options.controllers).map((i) => ({
    id: i,
    host,
    adminPort: options.adminPort + i - 1,
    raftPort: raftPort + i - 1,
  }));
  const adminUrls = controllers.map((c) => `http://${host}:${c.adminPort}`);
  const processes: ProcessSpec[] = [];

  for (const c of controllers) {
    const config = {
      controllerId: c.id,
      clusterId,
      host,
      adminPort: c.adminPort,
      raftPort: c.raftPort,
      peers: controllers,
      logLevel,
      ...options.controllerConfig,
    };
    const listeners = { admin: `${host}:${c.adminPort}`, raft: `${host}:${c.raftPort}` };
    processes.push(processSpec(dataDir, 'controller', c.id, listeners, config));
  }

  for (const i of range(options.dataNodes)) {
    const kafkaPort = options.kafkaPort + i - 1;
    const config = {
      nodeId: i,
      host,
      kafkaPort,
      controllers: adminUrls,
      logLevel,
      ...options.dataNodeConfig,
    };
    processes.push(processSpec(dataDir, 'data-node', i, { kafka: `${host}:${kafkaPort}` }, config));
  }

  const bootstrapServers = processes
    .filter((p) => p.role === 'data-node')
    .map((p) => p.listeners.kafka)
    .join(',');
  return { clusterId, bootstrapServers, adminUrls, processes };
}

function processSpec(
  dataDir: string,
  role: 'controller' | 'data-node',
  id: number,
  listeners: Record<string, string>,
  config: Record<string, unknown>,
): ProcessSpec {
  const name = `${role}-${id}`;
  const dir = join(dataDir, name);
  mkdirSync(dir, { recursive: true });

  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ ...config, dataDir: join(dir, 'data') }, null, 2));

  return {
    name,
    role,
    id,
    pid: null,
    listeners,
    configFile,
    logFile: join(dir, 'process.log'),
    cwd: process.cwd(),
    command: [process.execPath, WEIR_BIN, role, '--config', configFile],
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function tcpAnswers(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((done) => {
    const socket = connect({ host, port: Number(port) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
