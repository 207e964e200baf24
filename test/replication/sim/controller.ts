// The controller as the replication protocol sees it, for one partition: the partition record
// (leader, leader epoch, ISR, partition epoch) and which data nodes are registered and unfenced.
// It follows the rules Weir's controller keeps: leaders come from the ISR and only from eligible
// nodes; every leader change bumps the leader epoch; every change bumps the partition epoch; a
// node that goes away (fenced, or back with a new incarnation) leaves the ISR unless it is the
// last member; an ISR change from a leader is applied only if every epoch it names is current.
import { ErrorCode } from '../../../shared/kafka-errors.ts';
import type { IsrChangeRequest } from '../../../data-node/replication/leader-state.ts';
import type { Prng } from './prng.ts';

export const STALE_BROKER_EPOCH = 77;
export const INELIGIBLE_REPLICA = 107;
export const INVALID_UPDATE_VERSION = 108;

export const NO_LEADER = -1;

export interface PartitionView {
  readonly replicas: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
}

export interface IsrAnswer {
  errorCode: number;
  isr: number[];
  partitionEpoch: number;
}

export class SimController {
  #record: PartitionView;
  /** Node id -> the incarnation the controller registered; a restarted node must register again. */
  readonly #registered = new Map<number, number>();
  readonly #fenced = new Set<number>();
  readonly #prng: Prng;
  /** An injected mistake: a restarted leader keeps its leader epoch (see SimBug). */
  readonly #resumeEpochs: boolean;

  constructor(replicas: readonly number[], prng: Prng, resumeEpochs = false) {
    this.#prng = prng;
    this.#resumeEpochs = resumeEpochs;
    this.#record = {
      replicas,
      leader: replicas[0],
      leaderEpoch: 0,
      isr: [...replicas],
      partitionEpoch: 0,
    };
    for (const id of replicas) this.#registered.set(id, 0);
  }

  get record(): PartitionView {
    return this.#record;
  }

  eligible(nodeId: number): boolean {
    return this.#registered.has(nodeId) && !this.#fenced.has(nodeId);
  }

  isFenced(nodeId: number): boolean {
    return this.#fenced.has(nodeId);
  }

  registeredIncarnation(nodeId: number): number | undefined {
    return this.#registered.get(nodeId);
  }

  /** The node missed its heartbeats: it may not lead, and it leaves the ISR. */
  fence(nodeId: number): void {
    this.#fenced.add(nodeId);
    this.#removeReplica(nodeId);
  }

  /** A node registers; with a new incarnation it may have lost what it had not flushed. */
  register(nodeId: number, incarnation: number): void {
    const restarted = this.#registered.get(nodeId) !== incarnation;
    this.#registered.set(nodeId, incarnation);
    this.#fenced.delete(nodeId);

    const resumes = this.#resumeEpochs && this.#record.leader === nodeId;
    if (restarted && !resumes) this.#removeReplica(nodeId);
    if (this.#record.leader === NO_LEADER) this.#electFrom(this.#record.isr);
  }

  /** Moves leadership to the first replica when it is in sync and eligible. */
  electPreferred(): boolean {
    const preferred = this.#record.replicas[0];
    const { leader, isr } = this.#record;
    if (leader === preferred || !isr.includes(preferred) || !this.eligible(preferred)) return false;

    this.#change(preferred, isr);
    return true;
  }

  /** Moves leadership to another eligible ISR member, as a controlled shutdown would. */
  moveLeader(): boolean {
    const { leader, isr } = this.#record;
    const others = isr.filter((id) => id !== leader && this.eligible(id));
    if (others.length === 0) return false;

    this.#change(this.#prng.pick(others), isr);
    return true;
  }

  /** A leader's ISR change, refused with an error code unless every epoch it names is current. */
  changeIsr(from: number, incarnation: number, request: IsrChangeRequest): IsrAnswer {
    const code = this.#checkIsrChange(from, incarnation, request);
    if (code !== ErrorCode.NONE) return this.#answer(code);

    const isr = this.#record.replicas.filter((id) => request.isr.includes(id));
    this.#change(this.#record.leader, isr);
    return this.#answer(ErrorCode.NONE);
  }

  #checkIsrChange(from: number, incarnation: number, request: IsrChangeRequest): number {
    const record = this.#record;
    if (this.#registered.get(from) !== incarnation || this.#fenced.has(from)) {
      return STALE_BROKER_EPOCH;
    }
    if (request.leaderEpoch !== record.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (from !== record.leader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (request.partitionEpoch !== record.partitionEpoch) return INVALID_UPDATE_VERSION;

    const joining = request.isr.filter((id) => !record.isr.includes(id));
    if (!request.isr.includes(from)) return ErrorCode.INVALID_REQUEST;
    return joining.every((id) => this.eligible(id)) ? ErrorCode.NONE : INELIGIBLE_REPLICA;
  }

  #answer(errorCode: number): IsrAnswer {
    return { errorCode, isr: [...this.#record.isr], partitionEpoch: this.#record.partitionEpoch };
  }

  #removeReplica(nodeId: number): void {
    const { isr, leader } = this.#record;
    const remaining = isr.length > 1 ? isr.filter((id) => id !== nodeId) : isr;
    if (leader !== nodeId && leader !== NO_LEADER) {
      this.#change(leader, remaining);
      return;
    }
    this.#electFrom(remaining, nodeId);
  }

  /** Any eligible ISR member may win; the choice is random so schedules cover all of them. */
  #electFrom(isr: readonly number[], excluded = NO_LEADER): void {
    const candidates = isr.filter((id) => id !== excluded && this.eligible(id));
    const leader = candidates.length === 0 ? NO_LEADER : this.#prng.pick(candidates);
    this.#change(leader, isr);
  }

  #change(leader: number, isr: readonly number[]): void {
    const record = this.#record;
    const leaderChanged = leader !== record.leader;
    const isrChanged =
      isr.length !== record.isr.length || isr.some((id) => !record.isr.includes(id));
    if (!leaderChanged && !isrChanged) return;

    this.#record = {
      ...record,
      leader,
      isr: [...isr],
      leaderEpoch: record.leaderEpoch + (leaderChanged ? 1 : 0),
      partitionEpoch: record.partitionEpoch + 1,
    };
  }
}
