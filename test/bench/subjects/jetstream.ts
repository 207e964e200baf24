// NATS JetStream as the benchmarks' point of comparison: Debian's nats-server, one server for
// replication 1 and a cluster of three on loopback for replication 3, file storage in temporary
// directories, and the nats.js client. JetStream keeps its defaults: a PubAck means a majority of
// the stream's replicas hold the message in their files (written, not fsynced; the server syncs
// files every two minutes by default).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { jetStreamWindow, type BenchPlan, type Replication } from '../plan.ts';
import { waitFor } from '../processes.ts';
import { nowMs } from '../stats.ts';
import { runWindowed } from '../window.ts';
import type { ConsumeStats, PublishStats, Subject } from './subject.ts';

const NATS_SERVER = 'nats-server';

interface ServerSpec {
  name: string;
  clientPort: number;
  configFile: string;
}

/** Installs Debian's nats-server when it is missing; answers its version line. */
export function ensureNatsServer(): string {
  const probe = spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return probe.stdout.trim();

  const install = spawnSync('apt-get', ['install', '-y', '-qq', 'nats-server'], {
    stdio: 'ignore',
  });
  if (install.status !== 0)
    throw new Error('nats-server is missing and apt-get could not install it');
  return spawnSync(NATS_SERVER, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export class JetStreamSubject implements Subject {
  readonly system = 'jetstream' as const;
  private readonly processes = new Map<string, ChildProcess>();

  private constructor(
    readonly replication: Replication,
    private readonly plan: BenchPlan,
    private readonly dir: string,
    private readonly servers: ServerSpec[],
    private nc: NatsConnection | null = null,
    private js: JetStreamClient | null = null,
    private jsm: JetStreamManager | null = null,
  ) {}

  static async start(replication: Replication, plan: BenchPlan): Promise<JetStreamSubject> {
    const dir = mkdtempSync(join(tmpdir(), 'weir-bench-nats-'));
    const servers = writeServerConfigs(dir, replication, plan);
    const subject = new JetStreamSubject(replication, plan, dir, servers);

    for (const server of servers) subject.startServer(server);
    await subject.connectClient();
    return subject;
  }

  async createLog(name: string): Promise<void> {
    const config = {
      name,
      subjects: [name],
      storage: StorageType.File,
      num_replicas: this.replication,
    };
    // A new cluster answers "no suitable peers" until its meta group has a leader.
    const created = await waitFor(
      async () => (await this.jsm!.streams.add(config), true),
      30_000,
      250,
    );
    if (!created) throw new Error(`JetStream did not create stream ${name}`);
  }

  async publishMany(
    name: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
  ): Promise<PublishStats> {
    const payload = Buffer.alloc(recordBytes, 0x4a);
    const started = nowMs();

    const outcome = await runWindowed({
      window: jetStreamWindow(this.plan, recordBytes),
      start: async () => void (await this.js!.publish(name, payload)),
      shouldStop: (n) => n >= count || nowMs() - started >= deadlineMs,
    });
    const elapsedMs = nowMs() - started;

    if (outcome.failed > 0) throw new Error(`${outcome.failed} JetStream publishes failed`);
    return {
      recordsAcked: outcome.succeeded,
      bytesAcked: outcome.succeeded * recordBytes,
      elapsedMs,
    };
  }

  publishOneThroughFailover(name: string, value: Buffer): Promise<void> {
    return this.publishOne(name, value);
  }

  async publishOne(name: string, value: Buffer): Promise<void> {
    await this.js!.publish(name, value, { timeout: 2_000 });
  }

  async consume(
    name: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats> {
    const called = nowMs();
    const consumer = await this.js!.consumers.get(name);
    const messages = await consumer.consume({ max_messages: 4_096 });
    const ready = nowMs();
    const timer = setTimeout(() => void messages.stop(), deadlineMs);

    let first = Number.NaN;
    let count = 0;
    let bytes = 0;
    for await (const m of messages) {
      if (count === 0) first = nowMs();
      count++;
      bytes += m.data.length;
      onRecord?.(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length));
      if (count >= records) break;
    }
    const last = nowMs();

    clearTimeout(timer);
    await messages.close();
    return { records: count, bytes, elapsedMs: last - ready, firstRecordMs: first - called };
  }

  async recordCount(name: string): Promise<number> {
    return (await this.jsm!.streams.info(name)).state.messages;
  }

  async leaderOf(name: string): Promise<string> {
    const info = await this.jsm!.streams.info(name);
    return info.cluster?.leader ?? this.servers[0]!.name;
  }

  async kill(processName: string): Promise<void> {
    const child = this.processes.get(processName);
    if (child === undefined) return;
    this.processes.delete(processName);
    if (child.exitCode !== null || child.signalCode !== null) return;

    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async restart(processName: string): Promise<void> {
    const server = this.servers.find((s) => s.name === processName)!;
    this.startServer(server);
    await waitFor(() => this.nc !== null && !this.nc.isClosed(), 10_000);
  }

  async waitFullyReplicated(name: string, timeoutMs: number): Promise<boolean> {
    return waitFor(
      async () => {
        const cluster = (await this.jsm!.streams.info(name)).cluster;
        const replicas = cluster?.replicas ?? [];
        return (
          cluster?.leader !== undefined &&
          replicas.length === this.replication - 1 &&
          replicas.every((r) => r.current && !r.offline)
        );
      },
      timeoutMs,
      250,
    );
  }

  async close(): Promise<void> {
    await this.nc?.close().catch(() => {});
    for (const name of [...this.processes.keys()]) await this.kill(name);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private startServer(server: ServerSpec): void {
    const child = spawn(NATS_SERVER, ['-c', server.configFile], { stdio: 'ignore' });
    this.processes.set(server.name, child);
  }

  private async connectClient(): Promise<void> {
    const servers = this.servers.map((s) => `127.0.0.1:${s.clientPort}`);
    const ready = await waitFor(async () => {
      this.nc = await connect({
        servers,
        reconnectTimeWait: 100,
        reconnectJitter: 0,
        maxReconnectAttempts: -1,
      });
      return true;
    }, 20_000);
    if (!ready) throw new Error(`nats-server did not answer on ${servers.join(',')}`);

    this.jsm = await this.nc!.jetstreamManager({ checkAPI: false });
    this.js = this.nc!.jetstream();
    await waitFor(async () => (await this.jsm!.getAccountInfo(), true), 30_000, 250);
  }
}

function writeServerConfigs(dir: string, replication: Replication, plan: BenchPlan): ServerSpec[] {
  const count = replication === 3 ? 3 : 1;
  const { natsSingle, natsCluster } = plan.ports;
  const routes = Array.from(
    { length: count },
    (_, i) => `nats-route://127.0.0.1:${natsCluster.route + i}`,
  );

  return Array.from({ length: count }, (_, i) => {
    const name = `n${i + 1}`;
    const clientPort = replication === 3 ? natsCluster.client + i : natsSingle;
    const storeDir = join(dir, name);
    mkdirSync(storeDir, { recursive: true });

    const lines = [
      `server_name: ${name}`,
      `listen: "127.0.0.1:${clientPort}"`,
      `log_file: "${join(dir, `${name}.log`)}"`,
      `jetstream { store_dir: "${storeDir}" }`,
    ];
    if (replication === 3) {
      lines.push(
        `cluster { name: weir-bench, listen: "127.0.0.1:${natsCluster.route + i}", ` +
          `routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`,
      );
    }

    const configFile = join(dir, `${name}.conf`);
    writeFileSync(configFile, lines.join('\n') + '\n');
    return { name, clientPort, configFile };
  });
}
