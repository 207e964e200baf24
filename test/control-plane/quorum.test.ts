// Three controllers in one process, each started as `weir controller` starts it, on real ports
// (19600-19699) and their own data directories, reached over HTTP like an operator or a data node
// reaches them. What they must show: a command is committed on every controller; any controller
// takes a write and forwards it to the leader; a read sees every write acknowledged before it,
// wherever it is served; losing the leader loses no committed topic or offset; a controller that
// fell behind the leader's compacted log catches up from a snapshot; and GET /v1/quorum tells who
// leads and how far behind each member is.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  controllerConfigSchema,
  startController,
  type RunningController,
} from '../../control-plane/main.ts';
import { silentLogger } from '../../shared/logger.ts';

const HOST = '127.0.0.1';

interface Member {
  id: number;
  dataDir: string;
  url: string;
  running: RunningController | null;
}

/** A JSON answer, loosely typed: the tests check its fields. */
type Answer = Record<string, unknown> & { status: number };

class Quorum {
  readonly members: Member[];

  constructor(
    private readonly basePort: number,
    size = 3,
    private readonly extra: Record<string, unknown> = {},
  ) {
    this.members = Array.from({ length: size }, (_, k) => ({
      id: k + 1,
      dataDir: mkdtempSync(join(tmpdir(), `weir-quorum-${k + 1}-`)),
      url: `http://${HOST}:${basePort + k + 1}`,
      running: null,
    }));
  }

  get peers() {
    return this.members.map((m) => ({
      id: m.id,
      host: HOST,
      adminPort: this.basePort + m.id,
      raftPort: this.basePort + 50 + m.id,
    }));
  }

  config(id: number, extra: Record<string, unknown> = {}) {
    return controllerConfigSchema.parse({
      controllerId: id,
      clusterId: 'quorum-test',
      dataDir: this.member(id).dataDir,
      host: HOST,
      adminPort: this.basePort + id,
      peers: this.peers,
      raftTickMs: 50,
      electionTimeoutMs: 500,
      dataNodeSessionTimeoutMs: 600_000,
      logLevel: 'silent',
      ...this.extra,
      ...extra,
    });
  }

  member(id: number): Member {
    return this.members.find((m) => m.id === id)!;
  }

  async start(id: number): Promise<void> {
    this.member(id).running = await startController(this.config(id), silentLogger);
  }

  async startAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.start(m.id)));
  }

  async stop(id: number): Promise<void> {
    const member = this.member(id);
    await member.running?.stop();
    member.running = null;
  }

  running(): Member[] {
    return this.members.filter((m) => m.running !== null);
  }

  /**
   * Waits until every running controller names the same leader, among them, and the leader has
   * applied the cluster id (data nodes cannot register before); returns the leader's id.
   */
  async leader(): Promise<number> {
    for (;;) {
      const views = await Promise.all(this.running().map((m) => get(`${m.url}/v1/quorum`)));
      const leaders = new Set(views.map((v) => v.leaderId));
      const [leaderId] = leaders;
      const agreed = leaders.size === 1 && typeof leaderId === 'number';
      if (agreed && this.running().some((m) => m.id === leaderId)) {
        const cluster = await get(`${this.member(leaderId).url}/v1/cluster?stale=true`);
        if (cluster.clusterId !== '') return leaderId;
      }
      await pause();
    }
  }

  async followers(): Promise<Member[]> {
    const leaderId = await this.leader();
    return this.running().filter((m) => m.id !== leaderId);
  }

  async cleanup(): Promise<void> {
    for (const m of this.members) await this.stop(m.id);
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
  }
}

/** Between two looks at the quorum while waiting for it to agree on a leader. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

async function call(method: string, url: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(url, init);
  return { ...((await res.json()) as Record<string, unknown>), status: res.status };
}

const get = (url: string) => call('GET', url);
const post = (url: string, body: unknown) => call('POST', url, body);

/** Registers data nodes 1..n through `url` (the leader) so that topics can be placed. */
async function registerDataNodes(url: string, n = 3): Promise<void> {
  for (let nodeId = 1; nodeId <= n; nodeId++) {
    const answer = await post(`${url}/internal/v1/data-nodes/register`, {
      nodeId,
      host: HOST,
      kafkaPort: 9000 + nodeId,
      rack: null,
      incarnationId: `incarnation-${nodeId}`,
    });
    expect(answer.status).toBe(200);
  }
}

async function commitOffset(url: string, group: string, topic: string, offset: string) {
  const answer = await post(`${url}/internal/v1/groups/${group}/offsets`, {
    coordinator: null,
    offsets: [{ topic, partition: 0, offset }],
  });
  expect(answer).toMatchObject({ status: 200, results: [{ errorCode: 0 }] });
}

async function topicNames(url: string, query = ''): Promise<string[]> {
  const answer = await get(`${url}/v1/topics${query}`);
  expect(answer.status).toBe(200);
  return (answer.topics as { name: string }[]).map((t) => t.name).sort();
}

async function offsetsOf(url: string, group: string): Promise<Record<string, string>> {
  const answer = await get(`${url}/internal/v1/groups/${group}/offsets`);
  expect(answer.status).toBe(200);
  const offsets = answer.offsets as { topic: string; offset: string }[];
  return Object.fromEntries(offsets.map((o) => [o.topic, o.offset]));
}

let quorum: Quorum | null = null;

afterEach(async () => {
  await quorum?.cleanup();
  quorum = null;
});

describe('a quorum of three controllers', () => {
  it('commits a command on every controller', async () => {
    quorum = new Quorum(19600);
    await quorum.startAll();
    const leader = quorum.member(await quorum.leader());
    await registerDataNodes(leader.url);

    const created = await post(`${leader.url}/v1/topics`, { name: 'everywhere', partitions: 2 });
    const seen = await Promise.all(quorum.members.map((m) => get(`${m.url}/v1/topics/everywhere`)));
    const clusters = await Promise.all(quorum.members.map((m) => get(`${m.url}/v1/cluster`)));

    expect(created.status).toBe(201);
    for (const answer of seen) {
      expect(answer).toMatchObject({ status: 200, topicId: created.topicId });
    }
    expect(new Set(clusters.map((c) => c.clusterId))).toEqual(new Set(['quorum-test']));
  });

  it('takes writes on a follower and forwards them to the leader', async () => {
    quorum = new Quorum(19610);
    await quorum.startAll();
    await registerDataNodes(quorum.member(await quorum.leader()).url);
    const [follower, other] = await quorum.followers();

    const created = await post(`${follower!.url}/v1/topics`, { name: 'forwarded' });
    const refused = await post(`${follower!.url}/v1/topics`, { name: 'forwarded' });
    await commitOffset(follower!.url, 'readers', 'forwarded', '42');
    const staleHere = await get(`${follower!.url}/v1/topics/forwarded?stale=true`);

    expect(created.status).toBe(201);
    expect(refused).toMatchObject({ status: 409, kafkaErrorCode: 36 });
    // The follower answered only once it had applied the write itself.
    expect(staleHere).toMatchObject({ status: 200, topicId: created.topicId });
    expect(await offsetsOf(other!.url, 'readers')).toEqual({ forwarded: '42' });
  });

  it('serves reads that see every acknowledged write, on any controller', async () => {
    quorum = new Quorum(19620);
    await quorum.startAll();
    const leader = quorum.member(await quorum.leader());
    await registerDataNodes(leader.url);
    const followers = await quorum.followers();

    const seen: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const writer = quorum.members[i % 3]!;
      const reader = followers[i % 2]!;
      const created = await post(`${writer.url}/v1/topics`, { name: `t${i}` });
      expect(created.status).toBe(201);
      seen.push(await topicNames(reader.url));
    }

    seen.forEach((names, i) => {
      expect(names).toEqual(expect.arrayContaining([`t${i}`]));
    });
  });

  it('keeps every committed topic and offset when the leader is lost, and takes it back', async () => {
    quorum = new Quorum(19630);
    await quorum.startAll();
    const first = await quorum.leader();
    await registerDataNodes(quorum.member(first).url);
    for (const name of ['a', 'b', 'c']) {
      expect((await post(`${quorum.member(first).url}/v1/topics`, { name })).status).toBe(201);
      await commitOffset(quorum.member(first).url, 'g', name, String(name.charCodeAt(0)));
    }

    await quorum.stop(first);
    const second = await quorum.leader();
    const after = await post(`${quorum.member(second).url}/v1/topics`, { name: 'after' });
    const survivors = quorum.running();
    const topics = await Promise.all(survivors.map((m) => topicNames(m.url)));
    const offsets = await Promise.all(survivors.map((m) => offsetsOf(m.url, 'g')));

    await quorum.start(first);
    await quorum.leader();
    const rejoined = quorum.member(first);
    const rejoinedTopics = await topicNames(rejoined.url);
    const rejoinedView = await get(`${rejoined.url}/v1/quorum`);

    expect(second).not.toBe(first);
    expect(after.status).toBe(201);
    for (const names of topics) expect(names).toEqual(['a', 'after', 'b', 'c']);
    for (const committed of offsets) expect(committed).toEqual({ a: '97', b: '98', c: '99' });
    expect(rejoinedTopics).toEqual(['a', 'after', 'b', 'c']);
    expect(rejoinedView).toMatchObject({ role: 'follower', leaderId: second });
  });

  it('serves stale reads and metadata without a leader, and refuses the rest with 503', async () => {
    quorum = new Quorum(19640);
    await quorum.startAll();
    const leader = quorum.member(await quorum.leader());
    await registerDataNodes(leader.url);
    expect((await post(`${leader.url}/v1/topics`, { name: 'kept' })).status).toBe(201);
    const [alone, gone] = await quorum.followers();
    await topicNames(alone!.url); // applied there before the others go
    await quorum.stop(leader.id);
    await quorum.stop(gone!.id);

    const linearizable = await get(`${alone!.url}/v1/topics`);
    const write = await post(`${alone!.url}/v1/topics`, { name: 'refused' });
    const stale = await topicNames(alone!.url, '?stale=true');
    const metadata = await get(`${alone!.url}/internal/v1/metadata?since=0`);

    expect(linearizable).toMatchObject({ status: 503, kafkaErrorCode: 41 });
    expect(write).toMatchObject({ status: 503, kafkaErrorCode: 41 });
    expect(stale).toEqual(['kept']);
    expect(metadata).toMatchObject({
      status: 200,
      snapshot: { topics: [expect.objectContaining({ name: 'kept' })] },
    });
  });

  it('brings a controller that missed compacted entries up to date with a snapshot', async () => {
    quorum = new Quorum(19650, 3, { raftSnapshotEveryEntries: 10 });
    await quorum.startAll();
    const leader = quorum.member(await quorum.leader());
    await registerDataNodes(leader.url);
    expect((await post(`${leader.url}/v1/topics`, { name: 'gone-by' })).status).toBe(201);
    const [behind] = await quorum.followers();
    await quorum.stop(behind!.id);

    for (let i = 0; i < 25; i++) await commitOffset(leader.url, 'busy', 'gone-by', String(i));
    expect((await post(`${leader.url}/v1/topics`, { name: 'late' })).status).toBe(201);
    await quorum.start(behind!.id);
    await quorum.leader();

    const topics = await topicNames(behind!.url);
    const view = await get(`${behind!.url}/v1/quorum`);
    expect(topics).toEqual(['gone-by', 'late']);
    expect(await offsetsOf(behind!.url, 'busy')).toEqual({ 'gone-by': '24' });
    expect(view.snapshotIndex as number).toBeGreaterThan(0);
  });

  it('shows members, leader, term, indexes and follower lag at GET /v1/quorum', async () => {
    quorum = new Quorum(19660);
    await quorum.startAll();
    const leaderId = await quorum.leader();
    const [follower] = await quorum.followers();

    const fromLeader = await get(`${quorum.member(leaderId).url}/v1/quorum`);
    const fromFollower = await get(`${follower!.url}/v1/quorum`);

    expect(fromLeader).toMatchObject({
      status: 200,
      controllerId: leaderId,
      role: 'leader',
      leaderId,
      leaderAdminUrl: quorum.member(leaderId).url,
    });
    expect(fromLeader.members).toEqual(
      quorum.members.map((m) => ({
        controllerId: m.id,
        adminUrl: m.url,
        matchIndex: expect.any(Number),
        lagEntries: expect.any(Number),
      })),
    );
    expect(fromFollower).toMatchObject({
      controllerId: follower!.id,
      role: 'follower',
      term: fromLeader.term,
      leaderId,
    });
    expect(fromFollower.members).toContainEqual(
      expect.objectContaining({ controllerId: leaderId, lagEntries: null }),
    );
  });

  it('refuses a data directory of another cluster before joining', async () => {
    quorum = new Quorum(19670, 3, { clusterId: 'blue' });
    await quorum.startAll();
    await quorum.leader();
    const [follower] = await quorum.followers();
    await get(`${follower!.url}/v1/cluster`); // the follower has applied the cluster id
    await quorum.stop(follower!.id);

    const attempt = startController(
      quorum.config(follower!.id, { clusterId: 'green' }),
      silentLogger,
    );

    await expect(attempt).rejects.toThrow(/belongs to cluster blue.*names cluster green/);
  });
});
