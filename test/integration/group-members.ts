// What the group churn test and the group failover benchmark share: consumer group members as
// child processes (group-churn-member.ts) with their report files read back as one timeline, a
// producer that keeps writing to every partition, and FindCoordinator as a client asks it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey } from '../../shared/protocol/index.ts';
import { RawKafkaClient } from '../data-node/raw-client.ts';
import { performance } from 'node:perf_hooks';

/** One line of a member's report file. */
export type MemberReport =
  | { e: 'start'; member: string; t: number }
  | { e: 'join'; member: string; t: number; partitions: number[] }
  | { e: 'processed'; member: string; t: number; p: number; o: string; v: string; gen: number }
  | { e: 'committed'; member: string; t: number; p: number; o: string; gen: number }
  | { e: 'crash'; member: string; t: number; error: string; restart: boolean };

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

const MEMBER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'group-churn-member.ts');

export interface MemberOptions {
  dir: string;
  name: string;
  groupId: string;
  topic: string;
  brokers: string[];
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/** One group member process; `file` is its report, `<file>.log` what it printed. */
export class MemberProcess {
  readonly file: string;
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Set when the test stops the member; an exit without it is the member's own doing. */
  private stopping = false;

  constructor(readonly options: MemberOptions) {
    const { dir, name, groupId, topic, brokers } = options;
    this.file = join(dir, `${name}.jsonl`);
    const log = openSync(`${this.file}.log`, 'a');
    const env = {
      ...process.env,
      WEIR_MEMBER_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 8000),
      WEIR_MEMBER_HEARTBEAT_MS: String(options.heartbeatIntervalMs ?? 1000),
    };
    const args = ['--import', 'tsx', MEMBER_SCRIPT, this.file, name, groupId, topic];
    this.child = spawn(process.execPath, [...args, brokers.join(',')], {
      stdio: ['ignore', log, log],
      env,
    });
    closeSync(log);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get name(): string {
    return this.options.name;
  }

  get stoppedByTest(): boolean {
    return this.stopping;
  }

  /** SIGKILL: the member vanishes without leaving; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the member leaves the group (LeaveGroup) and exits. */
  async leave(): Promise<void> {
    this.stopping = true;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** Every member's report lines, read as they grow, in one list ordered by report time. */
export class Timeline {
  readonly events: MemberReport[] = [];
  private readonly positions = new Map<string, { bytes: number; partial: string }>();

  watch(file: string): void {
    if (!this.positions.has(file)) this.positions.set(file, { bytes: 0, partial: '' });
  }

  /** Reads what the watched files gained since the last call. */
  poll(): void {
    const fresh: MemberReport[] = [];
    for (const [file, position] of this.positions) {
      if (!existsSync(file)) continue;
      const size = statSync(file).size;
      if (size <= position.bytes) continue;

      const buffer = Buffer.alloc(size - position.bytes);
      const fd = openSync(file, 'r');
      readSync(fd, buffer, 0, buffer.length, position.bytes);
      closeSync(fd);
      position.bytes = size;

      const lines = (position.partial + buffer.toString('utf8')).split('\n');
      position.partial = lines.pop()!;
      for (const line of lines) if (line !== '') fresh.push(JSON.parse(line) as MemberReport);
    }
    this.events.push(...fresh);
    if (fresh.length > 0) this.events.sort((a, b) => a.t - b.t);
  }

  /** The partitions with a commit acknowledged after `sinceMs` (wall clock, ms). */
  committedSince(sinceMs: number): Set<number> {
    const partitions = new Set<number>();
    for (let i = this.events.length - 1; i >= 0 && this.events[i]!.t > sinceMs; i--) {
      const event = this.events[i]!;
      if (event.e === 'committed') partitions.add(event.p);
    }
    return partitions;
  }

  /** When the first event matching `match` after `sinceMs` was reported, or null. */
  firstAfter(sinceMs: number, match: (event: MemberReport) => boolean): number | null {
    return this.events.find((e) => e.t > sinceMs && match(e))?.t ?? null;
  }
}

/** Writes one record to every partition per send, acks=all, remembering what was acknowledged. */
export class SteadyProducer {
  /** Per partition, the acknowledged offsets. */
  readonly acked = new Map<number, bigint[]>();
  failures = 0;
  private producer: Producer;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private sequence = 0;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly pauseMs: number,
  ) {
    this.producer = kafka.producer({ allowAutoTopicCreation: false });
    for (let p = 0; p < partitions; p++) this.acked.set(p, []);
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** One round: a record to each partition; false when the send failed. */
  async sendRound(): Promise<boolean> {
    const n = this.sequence++;
    const messages = Array.from({ length: this.partitions }, (_, partition) => ({
      partition,
      value: `p${partition}-${n}`,
    }));
    try {
      const results = await this.producer.send({ topic: this.topic, acks: -1, messages });
      for (const r of results) this.acked.get(r.partition)!.push(BigInt(r.baseOffset!));
      return true;
    } catch {
      // Unknown outcome: the records may be in the log; the checks read the log's end instead.
      this.failures++;
      return false;
    }
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.sendRound();
        await pause(this.pauseMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.producer.disconnect();
  }
}

export function groupKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** The node id of the group's coordinator, asked of any broker that answers. */
export async function coordinatorOf(brokers: string[], groupId: string): Promise<number> {
  for (const broker of brokers) {
    const [host, port] = broker.split(':');
    try {
      const client = await RawKafkaClient.connect(Number(port), host);
      const found = await client.send(ApiKey.FindCoordinator, 2, { key: groupId, keyType: 0 });
      client.close();
      if (found.errorCode === 0) return found.nodeId;
    } catch {
      // That broker is down; ask the next.
    }
  }
  throw new Error(`no broker names a coordinator for ${groupId}`);
}

/** Waits for a condition; throws with `state()` after `timeoutMs`. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  state: () => unknown = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting: ${what} ${JSON.stringify(await state())}`);
    }
    await pause(100);
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
