// The controllers' command log on Raft: a command is committed once a majority of the quorum holds
// it, then applied by every controller in index order (raft-state-machine.ts). Any controller
// takes any request. The leader proposes commands itself and serves linearizable reads with a
// ReadIndex round. A follower forwards a write to the leader's admin API (the internal route
// POST /internal/v1/quorum/commands), waits until it has applied the result itself, and answers as
// the leader would; for a linearizable read it asks the leader for a read index and waits until it
// has applied that far (Raft dissertation, section 6.4). While no leader is known, writes and
// reads fail with NotLeaderError, which the API answers with 503, and every client retries.
//
// Known shortcomings: a write forwarded to a leader that stops answering fails after
// `forwardTimeoutMs` without telling whether it was committed (retrying a topic creation may then
// answer that the topic exists); the leader end keeps RaftNode's own shortcoming that a proposal
// whose leader is deposed waits until its fate is known there.
import { z } from 'zod';
import { ErrorCode, KafkaError } from '../shared/kafka-errors.ts';
import type { Logger } from '../shared/logger.ts';
import {
  NotLeaderError,
  type CommandLog,
  type LeaderHint,
  type QuorumMember,
  type QuorumStatus,
} from './command-log.ts';
import { Command, type CommandResult } from './commands.ts';
import { ProposalDroppedError, RaftNotLeaderError, type RaftNode } from './raft/node.ts';
import type { RaftEvent } from './raft/types.ts';
import { encodeCommandEntry, type ControllerRaftMachine } from './raft-state-machine.ts';

export interface RaftCommandLogOptions {
  controllerId: number;
  raft: RaftNode;
  machine: ControllerRaftMachine;
  /** Admin URLs of the other controllers, by id. */
  peerAdminUrls: ReadonlyMap<number, string>;
  /** This controller's admin URL, once it listens. */
  adminUrl: () => string | null;
  /** Wall clock in ms: stamped on each entry as the `now` it is applied with. */
  clock: () => number;
  logger: Logger;
  /** Longest wait for the leader to answer a forwarded write or read, and to apply it here. */
  forwardTimeoutMs?: number;
}

/** Long enough for a commit under load; short enough that a client retries elsewhere soon. */
const FORWARD_TIMEOUT_MS = 5000;

export const ForwardedCommand = z.object({ command: Command });
export const ReadIndexAnswer = z.object({ index: z.number().int().min(0) });

/** What a forwarded write brings back: a CommandResult, checked only as far as this end reads. */
const ForwardedResult = z.looseObject({
  ok: z.boolean(),
  index: z.number().int().min(1),
  metadataVersion: z.number().int(),
});

const ProblemHint = z.looseObject({
  detail: z.string().optional(),
  leaderId: z.number().int().optional(),
  leaderAdminUrl: z.string().optional(),
});

/** This controller has not caught up with the leader in time to serve a read or a write. */
export class LaggingControllerError extends KafkaError {
  override name = 'LaggingControllerError';

  constructor(index: number) {
    super(
      ErrorCode.REQUEST_TIMED_OUT,
      `this controller has not applied index ${index} yet; retry, or ask the leader`,
    );
  }
}

export class RaftCommandLog implements CommandLog, QuorumMember {
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  /** In-flight forwards, told when another controller (or none) is known to lead. */
  private readonly leaderWatchers = new Set<(leaderId: number | null) => void>();
  private readonly forwardTimeoutMs: number;
  private readonly logger: Logger;
  private leading = false;
  private closed = false;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: RaftCommandLogOptions) {
    this.forwardTimeoutMs = options.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
    this.logger = options.logger;
    options.raft.onEvent((event) => this.onRaftEvent(event));
  }

  async propose<C extends Command>(command: C): Promise<CommandResult<C['type']>> {
    const parsed = Command.parse(command) as C;
    this.assertOpen();

    if (this.options.raft.isLeader()) return this.proposeHere(parsed);
    return (await this.forward(parsed)) as CommandResult<C['type']>;
  }

  async readBarrier(): Promise<void> {
    this.assertOpen();
    if (this.options.raft.isLeader()) return this.leaderReadBarrier();

    const leader = this.reachableLeader();
    const answer = await this.callLeader(leader, 'GET', '/internal/v1/quorum/read-index');
    const { index } = ReadIndexAnswer.parse(answer);
    await this.awaitApplied(index);
  }

  async proposeAsLeader(command: Command): Promise<CommandResult> {
    this.assertOpen();
    if (!this.options.raft.isLeader()) throw new NotLeaderError(this.leaderHint());
    return this.proposeHere(Command.parse(command));
  }

  async readIndexAsLeader(): Promise<number> {
    this.assertOpen();
    if (!this.options.raft.isLeader()) throw new NotLeaderError(this.leaderHint());

    await this.leaderReadBarrier();
    return this.options.machine.appliedIndex();
  }

  isLeader(): boolean {
    return !this.closed && this.options.raft.isLeader();
  }

  leaderHint(): LeaderHint | null {
    const id = this.options.raft.leaderId();
    if (id === null || this.closed) return null;
    return { controllerId: id, adminUrl: this.adminUrlOf(id) };
  }

  status(): QuorumStatus {
    const raft = this.options.raft.status();
    const leading = raft.role === 'leader';
    const progress = new Map(raft.progress.map((p) => [p.id as number, p.match as number]));

    const members = raft.voters.map((id) => {
      const matchIndex = !leading ? null : id === raft.id ? raft.lastIndex : progress.get(id);
      return {
        controllerId: id,
        adminUrl: this.adminUrlOf(id),
        matchIndex: matchIndex ?? null,
        lagEntries: matchIndex == null ? null : raft.lastIndex - matchIndex,
      };
    });
    return {
      controllerId: this.options.controllerId,
      role: raft.role,
      term: raft.term,
      leaderId: raft.leader,
      leaderAdminUrl: raft.leader === null ? null : this.adminUrlOf(raft.leader),
      commitIndex: raft.commitIndex,
      appliedIndex: raft.appliedIndex,
      lastIndex: raft.lastIndex,
      snapshotIndex: raft.snapshotIndex,
      members,
    };
  }

  /** Called with true when this controller starts leading, false when it stops. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  /** Resolves once this controller leads (at once if it does), or rejects when `signal` aborts. */
  whenLeading(signal?: AbortSignal): Promise<void> {
    if (this.isLeader()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);

    return new Promise((resolve, reject) => {
      const settle = (err?: unknown) => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => settle(signal?.reason ?? new Error('aborted'));
      const unsubscribe = this.onLeadershipChange((leading) => {
        if (leading) settle();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The term this controller leads in; null while it does not lead. */
  leaderTerm(): number | null {
    return this.isLeader() ? this.options.raft.status().term : null;
  }

  /** Refuses further requests and stops the Raft node (its transport and storage). */
  close(): void {
    this.closed = true;
    this.stopping ??= this.options.raft.stop();
  }

  /** Closes and resolves once the Raft node has stopped: nothing is applied afterwards. */
  async stop(): Promise<void> {
    this.close();
    await this.stopping;
  }

  // ---- the leader's end

  private async proposeHere<C extends Command>(command: C): Promise<CommandResult<C['type']>> {
    const data = encodeCommandEntry({ appendedAtMs: this.options.clock(), command });
    try {
      return (await this.options.raft.propose(data)) as CommandResult<C['type']>;
    } catch (err) {
      throw this.refusal(err);
    }
  }

  private async leaderReadBarrier(): Promise<void> {
    try {
      await this.options.raft.readBarrier();
    } catch (err) {
      throw this.refusal(err);
    }
  }

  // ---- a follower's end

  private async forward(command: Command): Promise<CommandResult> {
    const leader = this.reachableLeader();
    const answer = await this.callLeader(leader, 'POST', '/internal/v1/quorum/commands', {
      command,
    });

    const result = ForwardedResult.parse(answer) as unknown as CommandResult;
    await this.awaitApplied(result.index);
    return result;
  }

  /** The leader, when known and reachable over HTTP; else the refusal a client retries on. */
  private reachableLeader(): LeaderHint & { adminUrl: string } {
    const leader = this.leaderHint();
    const ownId = this.options.controllerId;
    if (leader === null || leader.adminUrl === null || leader.controllerId === ownId) {
      throw new NotLeaderError(leader);
    }
    return { controllerId: leader.controllerId, adminUrl: leader.adminUrl };
  }

  private async callLeader(
    leader: LeaderHint & { adminUrl: string },
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    // A leader that stopped answering is replaced within an election timeout; a forward to it is
    // abandoned then, rather than after the whole timeout, so that the client retries sooner.
    const deposed = new AbortController();
    const watch = (leaderId: number | null) => {
      if (leaderId !== leader.controllerId) deposed.abort();
    };
    this.leaderWatchers.add(watch);

    let response: Response;
    let answer: unknown;
    try {
      response = await fetch(leader.adminUrl + path, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(this.forwardTimeoutMs), deposed.signal]),
      });
      answer = await response.json().catch(() => ({}));
    } catch (err) {
      const fields = { leader: leader.controllerId, deposed: deposed.signal.aborted };
      this.logger.warn({ ...fields, err: String(err) }, 'forward to leader failed');
      throw new NotLeaderError(deposed.signal.aborted ? this.leaderHint() : leader);
    } finally {
      this.leaderWatchers.delete(watch);
    }

    if (response.ok) return answer;
    throw this.leaderRefusal(leader, response.status, answer);
  }

  /** A refusal from the leader: 503 means it no longer leads; anything else is unexpected. */
  private leaderRefusal(leader: LeaderHint, status: number, answer: unknown): Error {
    const problem = ProblemHint.safeParse(answer);
    const hint = problem.success ? problem.data : {};
    if (status !== 503) {
      const detail = hint.detail ?? `status ${status}`;
      return new Error(`leader ${leader.controllerId} refused a forwarded request: ${detail}`);
    }

    if (hint.leaderId === undefined) return new NotLeaderError(null);
    const adminUrl = hint.leaderAdminUrl ?? this.adminUrlOf(hint.leaderId);
    return new NotLeaderError({ controllerId: hint.leaderId, adminUrl });
  }

  private async awaitApplied(index: number): Promise<void> {
    const reached = await this.options.machine.waitForApplied(index, this.forwardTimeoutMs);
    if (!reached) throw new LaggingControllerError(index);
  }

  // ---- shared

  private refusal(err: unknown): unknown {
    if (err instanceof RaftNotLeaderError || err instanceof ProposalDroppedError) {
      return new NotLeaderError(this.leaderHint());
    }
    return err;
  }

  private adminUrlOf(id: number): string | null {
    if (id === this.options.controllerId) return this.options.adminUrl();
    return this.options.peerAdminUrls.get(id) ?? null;
  }

  private onRaftEvent(event: RaftEvent): void {
    if (event.type === 'config-changed') {
      this.logger.info({ voters: event.voters, index: event.index }, 'quorum voters changed');
      return;
    }

    for (const watch of this.leaderWatchers) watch(event.leader);

    const leading = event.role === 'leader';
    if (leading === this.leading) return;
    this.leading = leading;
    this.logger.info({ term: event.term, leader: event.leader, leading }, 'leadership changed');
    for (const listener of this.leadershipListeners) listener(leading);
  }

  private assertOpen(): void {
    if (this.closed) throw new NotLeaderError(null);
  }
}
