// How long a consumer group leaves a member's partitions unconsumed when the member goes away:
// a Weir cluster of 3 controllers and 3 data nodes, a 6-partition topic (RF 3) with a producer
// writing to every partition, and three kafkajs members in their own processes
// (../integration/group-churn-member.ts, committing each record). Each run either SIGKILLs a member
// (it never says goodbye: the group notices when its session times out) or stops it with SIGTERM
// (kafkajs sends LeaveGroup), and measures the time from the signal until every partition the
// member owned was processed again by another member. The member is restarted and the group
// settles before the next run. Prints every run, then median and worst per kind.
//   npx tsx test/bench/group-failover.ts [--runs N] [--session-timeout MS] [--heartbeat MS]
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
}

function options(): Options {
  const parsed = new Command('group-failover')
    .option('--runs <n>', 'runs of each kind (crash, clean leave)', '5')
    .option('--session-timeout <ms>', 'kafkajs sessionTimeout', '8000')
    .option('--heartbeat <ms>', 'kafkajs heartbeatInterval', '1000')
    .parse()
    .opts<{ runs: string; sessionTimeout: string; heartbeat: string }>();
  return {
    runs: Number(parsed.runs),
    sessionTimeoutMs: Number(parsed.sessionTimeout),
    heartbeatMs: Number(parsed.heartbeat),
  };
}

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

async function main(): Promise<void> {
  const opts = options();
  const cluster = await startTestCluster({
    controllers: 3,
    basePort: 19160,
    adminPort: 19210,
    raftPort: 19213,
    logLevel: 'warn',
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

    const crashes: number[] = [];
    const leaves: number[] = [];
    for (let run = 0; run < opts.runs * 2; run++) {
      const name = NAMES[run % NAMES.length]!;
      const how = run % 2 === 0 ? 'kill' : 'leave';
      const ms = await group.takeOver(name, how);
      (how === 'kill' ? crashes : leaves).push(ms);
      console.log(`${how} ${name}: its partitions processed again after ${Math.round(ms)} ms`);

      group.start(name);
      await group.settled(wallNow());
    }

    console.log(
      `kafkajs sessionTimeout ${opts.sessionTimeoutMs} ms, heartbeatInterval ${opts.heartbeatMs} ms`,
    );
    console.log(summary('member SIGKILLed', crashes));
    console.log(summary('member left (LeaveGroup)', leaves));
  } finally {
    await group.stop();
    await producer.stop();
    await stopTestCluster(cluster);
  }
}

await main();
