// Three Raft nodes in one process over real TCP (ports 19700-19709) with SQLite storage: what a
// controller sees through the driver. A leader is elected, commands commit and apply everywhere,
// reads wait for the leader's confirmation, the cluster survives losing its leader, a restarted
// node recovers from its own storage, and one that fell behind a compaction gets a snapshot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { controllerId, type ControllerId } from '../../shared/ids.ts';
import { silentLogger } from '../../shared/logger.ts';
import {
  RaftNode,
  RaftNotLeaderError,
  type RaftStateMachine,
} from '../../control-plane/raft/node.ts';
import { SqliteRaftStorage } from '../../control-plane/raft/sqlite-storage.ts';
import { TcpTransport, type PeerAddress } from '../../control-plane/raft/transport.ts';
import type { Entry, Snapshot } from '../../control-plane/raft/types.ts';

const BASE_PORT = 19700;
const HOST = '127.0.0.1';

/** Wakes waiters whenever any node or state machine reports a change. */
class Changes {
  private waiters: (() => void)[] = [];

  poke(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/** A list of applied command texts; its snapshot is that list as JSON. */
class ListMachine implements RaftStateMachine {
  applied = 0;
  items: string[] = [];
  restores = 0;

  constructor(private readonly changes: Changes) {}

  appliedIndex(): number {
    return this.applied;
  }

  apply(entry: Entry): unknown {
    this.applied = entry.index;
    if (entry.kind === 'command') this.items.push(Buffer.from(entry.data).toString());
    this.changes.poke();
    return this.items.length;
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify({ applied: this.applied, items: this.items }));
  }

  restore(snapshot: Snapshot): void {
    const state = JSON.parse(Buffer.from(snapshot.data).toString());
    this.applied = state.applied;
    this.items = state.items;
    this.restores += 1;
    this.changes.poke();
  }
}

interface Member {
  readonly id: ControllerId;
  node: RaftNode | null;
  machine: ListMachine;
  readonly dir: string;
}

class TestCluster {
  readonly changes = new Changes();
  readonly members = new Map<ControllerId, Member>();
  private readonly peers = new Map<ControllerId, PeerAddress>();

  constructor(
    size: number,
    private readonly snapshotEveryEntries = 10_000,
  ) {
    for (let k = 1; k <= size; k++) {
      const id = controllerId(k);
      this.peers.set(id, { host: HOST, port: BASE_PORT + k });
      const dir = mkdtempSync(join(tmpdir(), `weir-raft-node-${k}-`));
      this.members.set(id, { id, node: null, machine: new ListMachine(this.changes), dir });
    }
  }

  async start(id: ControllerId): Promise<void> {
    const member = this.members.get(id)!;
    const transport = await TcpTransport.listen({
      id,
      host: HOST,
      port: this.peers.get(id)!.port,
      peers: this.peers,
      logger: silentLogger,
      reconnectDelayMs: 20,
    });
    member.node = RaftNode.start({
      id,
      storage: new SqliteRaftStorage(join(member.dir, 'raft.db')),
      transport,
      stateMachine: member.machine,
      logger: silentLogger,
      bootstrap: [...this.members.keys()],
      tickMs: 20,
      snapshotEveryEntries: this.snapshotEveryEntries,
    });
    member.node.onEvent(() => this.changes.poke());
  }

  async stop(id: ControllerId): Promise<void> {
    const member = this.members.get(id)!;
    await member.node?.stop();
    member.node = null;
    // The state machine here lives in memory: a stopped process loses it and rebuilds it.
    member.machine = new ListMachine(this.changes);
  }

  async leader(): Promise<Member> {
    let found: Member | undefined;
    await this.changes.until(() => {
      found = [...this.members.values()].find((m) => m.node?.isLeader());
      return found !== undefined;
    });
    return found!;
  }

  async allApplied(items: string[]): Promise<void> {
    await this.changes.until(() =>
      [...this.members.values()].every((m) => m.node === null || sameItems(m.machine.items, items)),
    );
  }

  async close(): Promise<void> {
    for (const member of this.members.values()) {
      await member.node?.stop();
      rmSync(member.dir, { recursive: true, force: true });
    }
  }
}

function sameItems(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, k) => item === b[k]);
}

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function startCluster(snapshotEveryEntries?: number): Promise<TestCluster> {
  cluster = new TestCluster(3, snapshotEveryEntries);
  for (const id of cluster.members.keys()) await cluster.start(id);
  return cluster;
}

describe('RaftNode over TCP', () => {
  it('elects a leader that commits commands on every member', async () => {
    const c = await startCluster();
    const leader = await c.leader();

    const results = [];
    for (const item of ['a', 'b', 'c']) results.push(await leader.node!.propose(Buffer.from(item)));

    expect(results).toEqual([1, 2, 3]);
    await c.allApplied(['a', 'b', 'c']);
    const status = leader.node!.status();
    expect(status.voters).toEqual([1, 2, 3]);
    expect(status.commitIndex).toBe(status.lastIndex);
  });

  it('refuses proposals and reads at a follower, naming the leader', async () => {
    const c = await startCluster();
    const leader = await c.leader();
    await leader.node!.propose(Buffer.from('x'));
    const follower = [...c.members.values()].find((m) => m !== leader)!;
    await c.changes.until(() => follower.node!.leaderId() === leader.id);

    const proposal = follower.node!.propose(Buffer.from('y'));
    await expect(proposal).rejects.toBeInstanceOf(RaftNotLeaderError);
    await expect(proposal).rejects.toMatchObject({ leader: leader.id });
    await expect(follower.node!.readBarrier()).rejects.toBeInstanceOf(RaftNotLeaderError);
  });

  it('serves a read barrier after every acknowledged write is applied', async () => {
    const c = await startCluster();
    const leader = await c.leader();
    const writes = ['a', 'b', 'c'].map((item) => leader.node!.propose(Buffer.from(item)));
    await Promise.all(writes);

    await leader.node!.readBarrier();

    expect(leader.machine.items).toEqual(['a', 'b', 'c']);
  });

  it('keeps committing without its leader; the old leader catches up on restart', async () => {
    const c = await startCluster();
    const first = await c.leader();
    await first.node!.propose(Buffer.from('before'));
    await c.stop(first.id);

    const second = await c.leader();
    expect(second.id).not.toBe(first.id);
    await second.node!.propose(Buffer.from('after'));

    await c.start(first.id);
    await c.allApplied(['before', 'after']);
    expect(first.node!.isLeader()).toBe(false);
  });

  it('sends a snapshot to a member that missed compacted entries', async () => {
    const c = await startCluster(4);
    const leader = await c.leader();
    const lagging = [...c.members.values()].find((m) => m !== leader)!;
    await c.stop(lagging.id);

    const items = Array.from({ length: 12 }, (_, k) => `item-${k}`);
    for (const item of items) await leader.node!.propose(Buffer.from(item));
    expect(leader.node!.status().snapshotIndex).toBeGreaterThan(0);

    await c.start(lagging.id);

    await c.allApplied(items);
    expect(lagging.machine.restores).toBe(1);
  });
});
