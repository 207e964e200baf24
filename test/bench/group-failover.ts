// How long a consumer group leaves a member's partitions unconsumed when the member goes away:
// a Weir cluster of 3 controllers and 3 data nodes, a 6-partition topic (RF 3) with a producer
// writing to every partition, and three kafkajs members in their own processes
// (../integration/group-churn-member.ts, committing each record). Each run either SIGKILLs a member
// (it never says goodbye: its kernel closes its sockets, and the coordinator removes it a grace
// after that, or when its session times out) or stops it with SIGTERM (kafkajs sends
// LeaveGroup), and measures the time from the signal until every partition the member owned was
// processed again by another member. The member is restarted and the group settles before the
// next run. Two clusters run one after the other: the first with the data nodes' default
// groupMemberConnectionLossGraceMs (or --grace), crashes and clean leaves; the second with the
// grace at 0 (connection closes ignored), crashes only. Prints every run, then median and worst
// per kind. Ports 19100-19149.
//   npx tsx test/bench/group-failover.ts [--runs N] [--session-timeout MS] [--heartbeat MS]
//     [--grace MS]
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { brokers, startTestCluster, stopTestCluster } from '../integration/cluster.ts';
import {
  groupKafka,
  MemberProcess,
  SteadyProducer,
  Timeline,
  until,
  wallNow,
} from '../integration/group-members.ts';
import { median } from './stats.ts';

const TOPIC = 'group-failover';
const GROUP = 'failover-members';
const PARTITIONS = 6;
const NAMES = ['a', 'b', 'c'];
const WAIT_MS = 90_000;

interface Options {
  runs: number;
  sessionTimeoutMs: number;
  heartbeatMs: number;
  /** The data nodes' groupMemberConnectionLossGraceMs in the first cluster; null: its default. */
  graceMs: number | null;
}

function options(): Options {
  const parsed = new Command('group-failover')
    .option('--runs <n>', 'runs of each kind (crash, clean leave)', '5')
    .option('--session-timeout <ms>', 'kafkajs sessionTimeout', '8000')
    .option('--heartbeat <ms>', 'kafkajs heartbeatInterval', '1000')
    .option('--grace <ms>', 'groupMemberConnectionLossGraceMs of the first cluster')
    .parse()
    .opts<{ runs: string; sessionTimeout: string; heartbeat: string; grace?: string }>();
  return {
    runs: Number(parsed.runs),
    sessionTimeoutMs: Number(parsed.sessionTimeout),
    heartbeatMs: Number(parsed.heartbeat),
    graceMs: parsed.grace === undefined ? null : Number(parsed.grace),
  };
}

type Kind = 'kill' | 'leave';

/** One cluster's ports, all in 19100-19149: Kafka, then admin, then raft (3 controllers). */
interface Ports {
  basePort: number;
  adminPort: number;
  raftPort: number;
}

const FEATURE_PORTS: Ports = { basePort: 19100, adminPort: 19110, raftPort: 19113 };
const DISABLED_PORTS: Ports = { basePort: 19130, adminPort: 19140, raftPort: 19143 };

class Group {
  readonly timeline = new Timeline();
  private readonly live = new Map<string, MemberProcess>();
  private incarnation = 0;

  constructor(
    private readonly dir: string,
    private readonly brokers: string[],
    private readonly opts: Options,
  ) {}

  start(name: string): MemberProcess {
    const m = new MemberProcess({
      dir: this.dir,
      name: `${name}.${++this.incarnation}`,
      groupId: GROUP,
      topic: TOPIC,
      brokers: this.brokers,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      heartbeatIntervalMs: this.opts.heartbeatMs,
    });
    this.live.set(name, m);
    this.timeline.watch(m.file);
    return m;
  }

  member(name: string): MemberProcess {
    return this.live.get(name)!;
  }

  /** The partitions of the member's last assignment. */
  partitionsOf(m: MemberProcess): number[] {
    this.timeline.poll();
    const joins = this.timeline.events.filter((e) => e.e === 'join' && e.member === m.name);
    const last = joins.at(-1);
    return last?.e === 'join' ? last.partitions : [];
  }

  /** Every live member committed, and every partition was committed, after `sinceMs`. */
  async settled(sinceMs: number): Promise<void> {
    await until(
      'the group settles',
      () => {
        this.timeline.poll();
        const committers = new Set<string>();
        for (const e of this.timeline.events) {
          if (e.e === 'committed' && e.t > sinceMs) committers.add(e.member);
        }
        const everyone = [...this.live.values()].every((m) => committers.has(m.name));
        const owned = NAMES.flatMap((n) => this.partitionsOf(this.member(n)));
        return everyone && new Set(owned).size === PARTITIONS;
      },
      WAIT_MS,
    );
  }

  /** Signals the member; resolves with the ms until all its partitions were processed again. */
  async takeOver(name: string, how: 'kill' | 'leave'): Promise<number> {
    const victim = this.member(name);
    const owned = this.partitionsOf(victim);
    const signalledMs = wallNow();
    await (how === 'kill' ? victim.kill() : victim.leave());

    const firstAgain = new Map<number, number>();
    await until(
      `partitions ${owned.join(',')} processed again`,
      () => {
        this.timeline.poll();
        for (const p of owned) {
          if (firstAgain.has(p)) continue;
          const t = this.timeline.firstAfter(
            signalledMs,
            (e) => e.e === 'processed' && e.p === p && e.member !== victim.name,
          );
          if (t !== null) firstAgain.set(p, t);
        }
        return firstAgain.size === owned.length;
      },
      WAIT_MS,
    );
    return Math.max(...firstAgain.values()) - signalledMs;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.live.values()].map((m) => m.leave()));
  }
}

function summary(label: string, values: number[]): string {
  const worst = Math.max(...values);
  const runs = values.map((v) => Math.round(v)).join(', ');
  return `${label}: median ${Math.round(median(values))} ms, worst ${Math.round(worst)} ms (${runs})`;
}

/**
 * Starts a cluster whose data nodes take `dataNodeConfig`, settles three members, then runs
 * `runs` rounds of `kinds` in turn; resolves with the figures of each kind.
 */
async function measure(
  opts: Options,
  ports: Ports,
  dataNodeConfig: Record<string, unknown>,
  kinds: Kind[],
): Promise<Map<Kind, number[]>> {
  const cluster = await startTestCluster({
    controllers: 3,
    ...ports,
    logLevel: 'warn',
    dataNodeConfig,
  });
  const dir = join(cluster.dataDir, 'members');
  mkdirSync(dir, { recursive: true });
  const group = new Group(dir, brokers(cluster), opts);
  const producer = new SteadyProducer(
    groupKafka(brokers(cluster), 'bench-producer'),
    TOPIC,
    PARTITIONS,
    200,
  );

  try {
    const response = await fetch(`${cluster.adminUrls[0]}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 }),
    });
    if (!response.ok) throw new Error(`topic not created: ${await response.text()}`);
    await producer.connect();
    await until('the topic takes writes', () => producer.sendRound(), WAIT_MS);
    producer.start();

    for (const name of NAMES) group.start(name);
    await group.settled(wallNow());

    const figures = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
    for (let run = 0; run < opts.runs * kinds.length; run++) {
      const name = NAMES[run % NAMES.length]!;
      const how = kinds[run % kinds.length]!;
      const ms = await group.takeOver(name, how);
      figures.get(how)!.push(ms);
      console.log(`${how} ${name}: its partitions processed again after ${Math.round(ms)} ms`);

      group.start(name);
      await group.settled(wallNow());
    }
    return figures;
  } finally {
    await group.stop();
    await producer.stop();
    await stopTestCluster(cluster);
  }
}

async function main(): Promise<void> {
  const opts = options();
  const grace = opts.graceMs === null ? {} : { groupMemberConnectionLossGraceMs: opts.graceMs };
  const graceLabel = opts.graceMs === null ? 'default' : `${opts.graceMs} ms`;

  console.log(`cluster 1: connection loss grace ${graceLabel}`);
  const withGrace = await measure(opts, FEATURE_PORTS, grace, ['kill', 'leave']);
  console.log('cluster 2: connection loss grace 0 (off)');
  const off = { groupMemberConnectionLossGraceMs: 0 };
  const withoutGrace = await measure(opts, DISABLED_PORTS, off, ['kill']);

  console.log(
    `kafkajs sessionTimeout ${opts.sessionTimeoutMs} ms, heartbeatInterval ${opts.heartbeatMs} ms`,
  );
  console.log(summary(`member SIGKILLed, grace ${graceLabel}`, withGrace.get('kill')!));
  console.log(summary('member SIGKILLed, grace 0 (off)', withoutGrace.get('kill')!));
  console.log(summary('member left (LeaveGroup)', withGrace.get('leave')!));
}

await main();
