// How commands reach the state machine. Callers (HTTP handlers, the liveness monitor) propose a
// command and get its result once it is committed and applied. RaftCommandLog commits by quorum
// (raft-command-log.ts); LocalCommandLog, which in-process tests use, commits by appending to a
// durable table. Both apply through the same StateMachine, so swapping one for the other changes
// only how commands are committed.
import { ErrorCode, KafkaError } from '../shared/kafka-errors.ts';
import type { Command, CommandResult } from './commands.ts';

/** Where the current leader controller can be reached, as far as this controller knows. */
export interface LeaderHint {
  controllerId: number;
  /** Base URL of its admin API, e.g. http://10.0.0.1:9600. */
  adminUrl: string | null;
}

export interface CommandLog {
  /** Resolves after the command is committed and applied here; rejects with NotLeaderError. */
  propose<C extends Command>(command: C): Promise<CommandResult<C['type']>>;
  /**
   * Resolves once this controller has applied everything committed before the call, so that a
   * read made afterwards sees every acknowledged write; rejects with NotLeaderError.
   */
  readBarrier(): Promise<void>;
  isLeader(): boolean;
  /** Null while no leader is known. */
  leaderHint(): LeaderHint | null;
}

/** This controller cannot commit or serve a linearizable read; the leader (if known) can. */
export class NotLeaderError extends KafkaError {
  override name = 'NotLeaderError';

  constructor(readonly leader: LeaderHint | null) {
    const where =
      leader === null ? 'no leader is known' : `controller ${leader.controllerId} leads`;
    super(ErrorCode.NOT_CONTROLLER, `this controller is not the leader; ${where}`);
  }
}

/** One member of the quorum as GET /v1/quorum shows it. */
export interface QuorumMemberStatus {
  controllerId: number;
  adminUrl: string | null;
  /** Highest index the leader knows this member holds; null unless the leader answers. */
  matchIndex: number | null;
  /** Entries of the leader's log this member lacks; null unless the leader answers. */
  lagEntries: number | null;
}

/** The quorum as one controller sees it. */
export interface QuorumStatus {
  /** The controller that answers. */
  controllerId: number;
  role: 'leader' | 'follower' | 'pre-candidate' | 'candidate';
  term: number;
  leaderId: number | null;
  leaderAdminUrl: string | null;
  commitIndex: number;
  appliedIndex: number;
  /** Last index of this controller's log. */
  lastIndex: number;
  /** Last index folded into this controller's latest snapshot. */
  snapshotIndex: number;
  /** The voters, by id. */
  members: QuorumMemberStatus[];
}

/**
 * This controller's side of the quorum: its view, and the leader's end of forwarding. A follower
 * hands writes and read barriers to the leader over HTTP; the leader serves them with these
 * methods, which never forward again.
 */
export interface QuorumMember {
  status(): QuorumStatus;
  /** Commits here, as leader; rejects with NotLeaderError elsewhere. */
  proposeAsLeader(command: Command): Promise<CommandResult>;
  /**
   * Leader only: an index such that a controller that has applied it sees every write
   * acknowledged before the call (the ReadIndex of the Raft dissertation, section 6.4).
   */
  readIndexAsLeader(): Promise<number>;
}
