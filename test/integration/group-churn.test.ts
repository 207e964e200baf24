// A consumer group under churn and failure, with real processes: three controllers, three data
// nodes, a 12-partition topic (RF 3) pre-filled and still being produced to, and kafkajs members
// each in its own process (group-churn-member.ts), committing every record after processing it.
// Meanwhile the test adds a fourth member and has it leave cleanly, SIGKILLs members and restarts
// them, and SIGKILLs the data node coordinating the group, then restarts it. Once the group has
// consumed to the end it checks Kafka's consumer group promise from the members' reports:
//   - every record in the log (so every acknowledged one) was processed at least once, and the
//     final committed offset of every partition is its log end;
//   - no record below an acknowledged commit was processed again after that acknowledgement, by
//     any member (the old owner, or whoever owned the partition next).
// It waits on conditions of the group's progress, never on fixed times, and prints how long each
// step took (not asserted). WEIR_CHURN_KEEP=1 keeps the cluster's directory and the reports.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { brokers, startTestCluster, stopTestCluster } from './cluster.ts';
import {
  coordinatorOf,
  groupKafka,
  MemberProcess,
  SteadyProducer,
  Timeline,
  until,
  wallNow,
  type MemberReport,
} from './group-members.ts';

const TOPIC = 'churn';
const GROUP = 'churners';
const PARTITIONS = 12;
const PREFILL_ROUNDS = 30;
const STEP_TIMEOUT_MS = 60_000;
/**
 * Between rounds of one record per partition. Every record costs a commit through the
 * controllers' Raft log (about 100 ms at the median on a loaded 2-core machine), so faster
 * production makes the members lag and the test slow, without testing more.
 */
const PRODUCE_PAUSE_MS = 400;

let cluster: LocalCluster | undefined;
let admin: Admin | undefined;
let failed = false;
const members: MemberProcess[] = [];

beforeAll(async () => {
  cluster = await startTestCluster({
    controllers: 3,
    basePort: 19150,
    adminPort: 19200,
    raftPort: 19203,
    dataNodeConfig: { heartbeatIntervalMs: 250 },
  });
  admin = groupKafka(brokers(cluster), 'churn-admin').admin();
  await admin.connect();
});

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill()));
  await admin?.disconnect();
  const keep = failed || process.env.WEIR_CHURN_KEEP === '1';
  await stopTestCluster(cluster, { keep });
  if (keep) console.error(`member reports in ${cluster?.dataDir}/members`);
});

async function createTopic(): Promise<void> {
  const response = await fetch(`${cluster!.adminUrls[0]}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 }),
  });
  expect(response.ok, await response.text()).toBe(true);

  await until(
    'every partition has a leader',
    async () => {
      const metadata = await admin!.fetchTopicMetadata({ topics: [TOPIC] }).catch(() => null);
      const partitions = metadata?.topics[0]?.partitions ?? [];
      return partitions.length === PARTITIONS && partitions.every((p) => p.leader >= 0);
    },
    STEP_TIMEOUT_MS,
  );
}

async function logEnds(): Promise<bigint[]> {
  const offsets = await admin!.fetchTopicOffsets(TOPIC);
  return offsets.sort((a, b) => a.partition - b.partition).map((p) => BigInt(p.high));
}

async function committedOffsets(): Promise<bigint[]> {
  const [topic] = await admin!.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return topic!.partitions.sort((a, b) => a.partition - b.partition).map((p) => BigInt(p.offset));
}

/**
 * What the reports show against the promises; empty when they hold. `ends` are the log end
 * offsets once production stopped, `committed` the group's final committed offsets.
 */
function churnProblems(
  events: readonly MemberReport[],
  ends: readonly bigint[],
  committed: readonly bigint[],
  acked: ReadonlyMap<number, readonly bigint[]>,
): string[] {
  const problems: string[] = [];
  const processed = new Set<string>();
  for (const e of events) if (e.e === 'processed') processed.add(`${e.p}:${e.o}`);

  ends.forEach((end, p) => {
    if (committed[p] !== end)
      problems.push(`partition ${p}: committed ${committed[p]}, end ${end}`);
    for (let o = 0n; o < end; o++) {
      if (!processed.has(`${p}:${o}`)) problems.push(`partition ${p}: offset ${o} never processed`);
    }
    for (const o of acked.get(p) ?? []) {
      if (o >= end) problems.push(`partition ${p}: acknowledged offset ${o} beyond the end ${end}`);
    }
  });

  // In report order: the highest acknowledged commit so far, per partition.
  const highest = new Map<number, { offset: bigint; member: string; t: number }>();
  for (const e of events) {
    if (e.e === 'committed') {
      const offset = BigInt(e.o);
      if (offset > (highest.get(e.p)?.offset ?? -1n)) highest.set(e.p, { ...e, offset });
    }
    if (e.e !== 'processed') continue;

    const commit = highest.get(e.p);
    if (commit !== undefined && BigInt(e.o) < commit.offset) {
      problems.push(
        `partition ${e.p}: offset ${e.o} processed by ${e.member} at ${e.t.toFixed(1)}, after ` +
          `${commit.member}'s commit of ${commit.offset} was acknowledged at ${commit.t.toFixed(1)}`,
      );
    }
  }
  return problems;
}

describe('a consumer group under churn', () => {
  it('processes every record, and none again below an acknowledged commit', async () => {
    failed = true;
    const dir = join(cluster!.dataDir, 'members');
    mkdirSync(dir, { recursive: true });
    const timeline = new Timeline();
    const incarnations = new Map<string, number>();

    const live = new Map<string, MemberProcess>();
    const restartedOnTheirOwn: string[] = [];
    const startMember = (name: string): MemberProcess => {
      const n = (incarnations.get(name) ?? 0) + 1;
      incarnations.set(name, n);
      const m = new MemberProcess({
        dir,
        name: `${name}.${n}`,
        groupId: GROUP,
        topic: TOPIC,
        brokers: brokers(cluster!),
      });
      members.push(m);
      live.set(name, m);
      timeline.watch(m.file);

      // A member process that dies by itself is restarted, as a supervisor would; see its log.
      void m.exited.then(() => {
        if (m.stoppedByTest || !failed) return;
        restartedOnTheirOwn.push(m.name);
        startMember(name);
      });
      return m;
    };
    const member = (name: string) => live.get(name)!;
    const steps: string[] = [];
    const timed = async (what: string, waiting: Promise<void>) => {
      const startedMs = Date.now();
      await waiting;
      steps.push(`${what}: ${Date.now() - startedMs} ms`);
    };
    const progress = (what: string, sinceMs: number) =>
      timed(
        what,
        until(
          what,
          () => {
            timeline.poll();
            return timeline.committedSince(sinceMs).size === PARTITIONS;
          },
          STEP_TIMEOUT_MS,
          () => [...timeline.committedSince(sinceMs)].sort((a, b) => a - b),
        ),
      );
    const committedBy = (m: MemberProcess, what: string) =>
      timed(
        what,
        until(
          what,
          () => {
            timeline.poll();
            return (
              timeline.firstAfter(0, (e) => e.e === 'committed' && e.member === m.name) !== null
            );
          },
          STEP_TIMEOUT_MS,
        ),
      );

    await createTopic();
    const producer = new SteadyProducer(
      groupKafka(brokers(cluster!), 'churn-producer'),
      TOPIC,
      PARTITIONS,
      PRODUCE_PAUSE_MS,
    );
    await producer.connect();
    for (let i = 0; i < PREFILL_ROUNDS; i++) expect(await producer.sendRound()).toBe(true);
    producer.start();

    // Three members share the partitions.
    const started = wallNow();
    for (const name of ['a', 'b', 'c']) startMember(name);
    await progress('three members consume every partition', started);
    for (const name of ['a', 'b', 'c']) await committedBy(member(name), `${name} commits`);

    // A fourth joins, then leaves cleanly.
    const d = startMember('d');
    await committedBy(d, 'the fourth member commits');
    await d.leave();
    await progress('every partition consumed after the clean leave', wallNow());

    // A member crashes; the others take over its partitions; it comes back.
    await member('a').kill();
    await progress('every partition consumed after a crash', wallNow());
    await committedBy(startMember('a'), 'the restarted member commits');

    // A member crashes and comes back at once, before its session expires.
    await member('b').kill();
    await committedBy(startMember('b'), 'the member restarted at once commits');
    await progress('every partition consumed after a quick restart', wallNow());

    // The data node coordinating the group crashes, and later comes back.
    const coordinator = await coordinatorOf(brokers(cluster!), GROUP);
    const node = `data-node-${coordinator}`;
    await cluster!.signal(node, 'SIGKILL');
    await progress(`every partition consumed without coordinator ${coordinator}`, wallNow());
    cluster!.startProcess(node);
    await until(
      `${node} registered again`,
      async () => (await cluster!.liveDataNodeIds()).includes(coordinator),
      STEP_TIMEOUT_MS,
    );
    await progress('every partition consumed with the node back', wallNow());

    // Production stops; the group consumes to the end.
    await producer.stop();
    const ends = await logEnds();
    await until(
      'the group committed the end of every partition',
      async () => (await committedOffsets()).every((o, p) => o === ends[p]),
      STEP_TIMEOUT_MS,
      async () => ({ ends: ends.map(String), committed: (await committedOffsets()).map(String) }),
    );
    const committed = await committedOffsets();
    await Promise.all(['a', 'b', 'c'].map((name) => member(name).leave()));
    timeline.poll();

    const events = timeline.events;
    const processedCount = events.filter((e) => e.e === 'processed').length;
    const total = ends.reduce((sum, end) => sum + end, 0n);
    const crashes = events.filter((e) => e.e === 'crash');
    console.log(`steps:\n  ${steps.join('\n  ')}`);
    console.log(
      `records ${total}, processed ${processedCount} times, ` +
        `producer failures ${producer.failures}, kafkajs consumer crashes ${crashes.length}, ` +
        `member processes that exited by themselves: ${restartedOnTheirOwn.join(', ') || 'none'}`,
    );

    expect(churnProblems(events, ends, committed, producer.acked)).toEqual([]);
    failed = false;
  }, 240_000);
});
