// Failing the leader controller of a real cluster and timing the repair, for the failover test and
// for test/bench/controller-failover.ts. One run: commit a topic and a group offset through the
// leader, take the leader away (SIGKILL; SIGSTOP; or SIGKILL and an immediate restart), time how
// long until some other controller accepts a write (POST /v1/topics answers 201), bring the old
// leader back (restart; SIGCONT; already restarting) and time until it serves that write as a
// follower, then read every topic and offset committed so far from every controller.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster, ProcessSpec } from '../../infra/local-cluster.ts';

export type FailoverKind = 'kill' | 'pause' | 'restart';

export interface FailoverRun {
  kind: FailoverKind;
  oldLeader: number;
  newLeader: number;
  /** From the signal to the first write another controller accepted. */
  writeAcceptedMs: number;
  /** From the old leader's return (restart or SIGCONT) until it served that write as a follower. */
  rejoinedMs: number;
  /** Committed topics or offsets some controller no longer shows. */
  lost: string[];
}

/** What was committed across runs: topics and, per topic, the offset group `failover` holds. */
export class Ledger {
  readonly offsets = new Map<string, string>();
}

/** Between two attempts while waiting for the quorum; also the resolution of the timings. */
const POLL_MS = 25;
const REQUEST_TIMEOUT_MS = 1000;
const GROUP = 'failover';

export async function failLeader(
  cluster: LocalCluster,
  kind: FailoverKind,
  run: number,
  ledger: Ledger,
): Promise<FailoverRun> {
  const oldLeader = await leaderOf(controllers(cluster));
  await commit(oldLeader, `before-${run}`, String(run), ledger);

  const name = oldLeader.name;
  const signalledAt = performance.now();
  await cluster.signal(name, kind === 'pause' ? 'SIGSTOP' : 'SIGKILL');
  if (kind === 'restart') cluster.startProcess(name);

  const survivors = controllers(cluster).filter((c) => c.name !== name);
  const after = `after-${run}`;
  await firstAcceptedWrite(survivors, after);
  const writeAcceptedMs = performance.now() - signalledAt;
  ledger.offsets.set(after, '');

  const returnedAt = kind === 'restart' ? signalledAt : performance.now();
  if (kind === 'kill') cluster.startProcess(name);
  if (kind === 'pause') await cluster.signal(name, 'SIGCONT');
  await servesTopic(oldLeader, after);
  const rejoinedMs = performance.now() - returnedAt;

  const newLeader = await leaderOf(controllers(cluster));
  const lost = await lostCommits(cluster, ledger);
  return {
    kind,
    oldLeader: oldLeader.id,
    newLeader: newLeader.id,
    writeAcceptedMs,
    rejoinedMs,
    lost,
  };
}

function controllers(cluster: LocalCluster): ProcessSpec[] {
  return cluster.processes.filter((p) => p.role === 'controller');
}

function adminUrl(spec: ProcessSpec): string {
  return `http://${spec.listeners.admin}`;
}

async function request(
  spec: ProcessSpec,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  try {
    const res = await fetch(adminUrl(spec) + path, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** The controller every one of `candidates` that answers names as leader. */
async function leaderOf(candidates: ProcessSpec[]): Promise<ProcessSpec> {
  for (;;) {
    const views = await Promise.all(candidates.map((c) => request(c, 'GET', '/v1/quorum')));
    const named = new Set(views.filter((v) => v.status === 200).map((v) => v.body.leaderId));
    const [leaderId] = named;
    const leader = candidates.find((c) => c.id === leaderId);
    if (named.size === 1 && leader !== undefined && views.every((v) => v.status === 200)) {
      return leader;
    }
    await sleep(POLL_MS);
  }
}

async function commit(
  leader: ProcessSpec,
  topic: string,
  offset: string,
  ledger: Ledger,
): Promise<void> {
  const created = await request(leader, 'POST', '/v1/topics', {
    name: topic,
    replicationFactor: 1,
  });
  if (created.status !== 201) throw new Error(`cannot create ${topic}: ${JSON.stringify(created)}`);

  const committed = await request(leader, 'POST', `/internal/v1/groups/${GROUP}/offsets`, {
    coordinator: null,
    offsets: [{ topic, partition: 0, offset }],
  });
  const codes = (committed.body.results as { errorCode: number }[] | undefined) ?? [];
  if (committed.status !== 200 || codes[0]?.errorCode !== 0) {
    throw new Error(`cannot commit an offset of ${topic}: ${JSON.stringify(committed)}`);
  }
  ledger.offsets.set(topic, offset);
}

/**
 * Posts the topic to each survivor in turn until one accepts it. A 409 means an earlier attempt
 * that timed out on the client was committed after all: the quorum accepted the write.
 */
async function firstAcceptedWrite(survivors: ProcessSpec[], topic: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const target = survivors[attempt % survivors.length]!;
    const body = { name: topic, replicationFactor: 1 };
    const answer = await request(target, 'POST', '/v1/topics', body);
    if (answer.status === 201 || answer.status === 409) return;
    await sleep(POLL_MS);
  }
}

/** Waits until `spec` serves a linearizable read that shows `topic`. */
async function servesTopic(spec: ProcessSpec, topic: string): Promise<void> {
  for (;;) {
    const answer = await request(spec, 'GET', `/v1/topics/${topic}`);
    if (answer.status === 200) return;
    await sleep(POLL_MS);
  }
}

/** Every committed topic and offset, read on every controller; what is missing is named. */
async function lostCommits(cluster: LocalCluster, ledger: Ledger): Promise<string[]> {
  const lost: string[] = [];
  for (const spec of controllers(cluster)) {
    const topics = await readOk(spec, '/v1/topics');
    const names = new Set((topics.topics as { name: string }[]).map((t) => t.name));
    const offsets = await readOk(spec, `/internal/v1/groups/${GROUP}/offsets`);
    const held = new Map(
      (offsets.offsets as { topic: string; offset: string }[]).map((o) => [o.topic, o.offset]),
    );

    for (const [topic, offset] of ledger.offsets) {
      if (!names.has(topic)) lost.push(`${spec.name}: topic ${topic}`);
      if (offset !== '' && held.get(topic) !== offset) {
        lost.push(`${spec.name}: offset ${offset} of ${topic} (holds ${held.get(topic)})`);
      }
    }
  }
  return lost;
}

/** A read that must succeed: the quorum is whole again when this runs. */
async function readOk(spec: ProcessSpec, path: string): Promise<Record<string, unknown>> {
  for (;;) {
    const answer = await request(spec, 'GET', path);
    if (answer.status === 200) return answer.body;
    await sleep(POLL_MS);
  }
}
