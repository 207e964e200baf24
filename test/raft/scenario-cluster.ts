// A hand-driven cluster of Raft cores for the scenario scripts: nothing moves unless a command
// says so. Readies are handled at once (persist, queue messages, apply), messages wait in a queue
// until `deliver`, and every command returns the lines of trace it produced.
import { controllerId, raftIndex, type ControllerId } from '../../shared/ids.ts';
import { RaftCore } from '../../control-plane/raft/core.ts';
import { createPrng } from '../../control-plane/raft/prng.ts';
import { bootstrapState, emptyState, MemoryStorage } from '../../control-plane/raft/storage.ts';
import type { Entry, Message, RaftEvent } from '../../control-plane/raft/types.ts';

interface ScenarioNode {
  readonly id: ControllerId;
  readonly storage: MemoryStorage;
  core: RaftCore | null;
  /** What the state machine applied, as text, in order. */
  applied: string[];
}

/** Options of `cluster VOTERS [name=value...]`, passed on to every core. */
export interface ScenarioOptions {
  electionTicks?: number;
  checkQuorum?: boolean;
  maxEntriesPerAppend?: number;
}

export class ScenarioCluster {
  private readonly nodes = new Map<ControllerId, ScenarioNode>();
  private queue: Message[] = [];
  private readonly isolated = new Set<ControllerId>();
  private readonly options: ScenarioOptions;
  private out: string[] = [];

  constructor(voters: number, options: ScenarioOptions = {}) {
    this.options = options;
    const ids = Array.from({ length: voters }, (_, k) => controllerId(k + 1));
    for (const id of ids) this.addNode(id, new MemoryStorage(bootstrapState(ids)));
  }

  /** Runs one command and returns its trace. */
  run(command: string, args: string[]): string[] {
    this.out = [];
    const handler = this.commands[command];
    if (handler === undefined) throw new Error(`unknown command ${command}`);
    handler(args);
    this.processReadies();
    return this.out;
  }

  private readonly commands: Record<string, (args: string[]) => void> = {
    'add-node': ([id]) => this.addNode(controllerId(Number(id)), new MemoryStorage(emptyState())),
    campaign: ([id]) => this.core(id).campaign(),
    tick: ([id, count]) => {
      for (let k = 0; k < Number(count ?? 1); k++) this.core(id).tick();
    },
    propose: ([id, data]) => {
      const result = this.core(id).propose(new TextEncoder().encode(data));
      this.print(`${id}: ${result.ok ? `proposed ${result.index}@${result.term}` : result.reason}`);
    },
    'add-voter': ([id, voter]) => this.change(id, 'add-voter', voter),
    'remove-voter': ([id, voter]) => this.change(id, 'remove-voter', voter),
    read: ([id, requestId]) => {
      const result = this.core(id).readIndex(Number(requestId));
      if (!result.ok) this.print(`${id}: read ${requestId} refused, ${result.reason}`);
    },
    deliver: ([to]) => this.deliver(to === undefined ? undefined : controllerId(Number(to))),
    stabilize: () => {
      while (this.queue.length > 0) this.deliver(undefined);
    },
    drop: ([from, to]) => {
      const dropped = this.queue.filter((m) => m.from === Number(from) && m.to === Number(to));
      this.queue = this.queue.filter((m) => !dropped.includes(m));
      for (const m of dropped) this.print(`${formatMessage(m)} (dropped)`);
    },
    isolate: (ids) => ids.forEach((id) => this.isolated.add(controllerId(Number(id)))),
    heal: () => this.isolated.clear(),
    crash: ([id]) => {
      this.node(id).core = null;
      this.queue = this.queue.filter((m) => m.to !== Number(id));
    },
    restart: ([id]) => this.restart(this.node(id)),
    compact: ([id, index]) => {
      const node = this.node(id);
      const data = new TextEncoder().encode(JSON.stringify(node.applied));
      const snapshot = this.core(id).compact(raftIndex(Number(index)), data);
      node.storage.compact(snapshot);
      this.print(`${id}: compacted to ${index}`);
    },
    status: (ids) => {
      const chosen = ids.length > 0 ? ids.map(Number) : [...this.nodes.keys()];
      for (const id of chosen) this.print(this.describe(this.node(String(id))));
    },
    log: ([id]) => {
      const log = this.core(id).raftLog;
      const meta = log.snapshot.meta;
      const entries = [];
      for (let i = log.firstIndex; i <= log.lastIndex; i++)
        entries.push(formatEntry(log.entryAt(raftIndex(i))!));
      this.print(`${id}: snapshot ${meta.index}@${meta.term} entries ${entries.join(' ') || '-'}`);
    },
  };

  private addNode(id: ControllerId, storage: MemoryStorage): void {
    const node: ScenarioNode = { id, storage, core: null, applied: [] };
    this.nodes.set(id, node);
    this.restart(node);
  }

  private restart(node: ScenarioNode): void {
    const state = node.storage.load();
    node.applied = state.snapshot.data.length > 0 ? JSON.parse(decode(state.snapshot.data)) : [];
    const random = createPrng(node.id).next;
    node.core = new RaftCore({ id: node.id, random, ...this.options }, state);
  }

  private change(id: string, type: 'add-voter' | 'remove-voter', voter: string): void {
    const result = this.core(id).proposeConfigChange({ type, id: controllerId(Number(voter)) });
    this.print(
      `${id}: ${result.ok ? `proposed ${type} ${voter} at ${result.index}` : result.reason}`,
    );
  }

  /** Delivers the messages queued now (to one node, or to all), in the order they were sent. */
  private deliver(to: ControllerId | undefined): void {
    const batch = this.queue.filter((m) => to === undefined || m.to === to);
    this.queue = this.queue.filter((m) => !batch.includes(m));

    for (const m of batch) {
      const target = this.nodes.get(m.to);
      const cut = this.isolated.has(m.from) !== this.isolated.has(m.to);
      if (cut || target?.core == null) {
        this.print(`${formatMessage(m)} (dropped)`);
        continue;
      }
      this.print(formatMessage(m));
      target.core.step(m);
      this.processReadies();
    }
  }

  private processReadies(): void {
    for (const node of this.nodes.values()) {
      while (node.core?.hasReady()) this.handleReady(node, node.core);
    }
  }

  private handleReady(node: ScenarioNode, core: RaftCore): void {
    const ready = core.ready();
    node.storage.save(ready);
    this.queue.push(...ready.messages);

    for (const event of ready.events) this.print(`${node.id}: ${formatEvent(event)}`);
    if (ready.snapshot) {
      node.applied = JSON.parse(decode(ready.snapshot.data));
      this.print(`${node.id}: installed snapshot ${ready.snapshot.meta.index}`);
    }
    for (const entry of ready.committedEntries) this.apply(node, entry);
    for (const read of ready.readStates)
      this.print(`${node.id}: read ${read.requestId} at ${read.index}`);
    for (const id of ready.abortedReads) this.print(`${node.id}: read ${id} aborted`);
    core.advance(ready);
  }

  private apply(node: ScenarioNode, entry: Entry): void {
    if (entry.kind !== 'command') return;
    const text = decode(entry.data);
    node.applied.push(text);
    this.print(`${node.id}: applied ${entry.index}@${entry.term} ${text}`);
  }

  private describe(node: ScenarioNode): string {
    if (node.core === null) return `${node.id}: down`;
    const s = node.core.status();
    const lead = s.leader ?? '-';
    return (
      `${s.id}: ${s.role} term=${s.term} leader=${lead} commit=${s.commitIndex} ` +
      `applied=${s.appliedIndex} last=${s.lastIndex} voters=${s.voters.join(',')}`
    );
  }

  private node(id: string): ScenarioNode {
    const node = this.nodes.get(controllerId(Number(id)));
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private core(id: string): RaftCore {
    const core = this.node(id).core;
    if (core === null) throw new Error(`node ${id} is down`);
    return core;
  }

  private print(line: string): void {
    this.out.push(line);
  }
}

const decode = (data: Uint8Array): string => new TextDecoder().decode(data);

export function formatEntry(entry: Entry): string {
  const head = `${entry.index}@${entry.term}`;
  if (entry.kind === 'command') return `${head}:${decode(entry.data)}`;
  if (entry.kind === 'noop') return `${head}:noop`;
  return `${head}:voters=${entry.voters.join(',')}`;
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'PreVote':
    case 'RequestVote':
      return `${head} last=${m.lastLogIndex}@${m.lastLogTerm}`;
    case 'PreVoteResponse':
    case 'RequestVoteResponse':
      return `${head} ${m.granted ? 'granted' : 'refused'}`;
    case 'AppendEntries': {
      const entries = m.entries.map(formatEntry).join(' ');
      return `${head} prev=${m.prevLogIndex}@${m.prevLogTerm} commit=${m.commitIndex} [${entries}]`;
    }
    case 'AppendEntriesResponse':
      return m.success
        ? `${head} match=${m.matchIndex}`
        : `${head} refused prev=${m.rejectedIndex} hint=${m.hintIndex}@${m.hintTerm}`;
    case 'Heartbeat':
      return `${head} commit=${m.commitIndex} read=${m.readRound}`;
    case 'HeartbeatResponse':
      return `${head} read=${m.readRound}`;
    case 'InstallSnapshot':
      return `${head} snapshot=${m.snapshot.meta.index}@${m.snapshot.meta.term}`;
  }
}

function formatEvent(event: RaftEvent): string {
  if (event.type === 'config-changed') {
    return `voters ${event.voters.join(',') || '-'} (entry ${event.index})`;
  }
  return `became ${event.role} term=${event.term} leader=${event.leader ?? '-'}`;
}
