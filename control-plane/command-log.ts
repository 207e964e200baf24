// How commands reach the state machine. Callers (HTTP handlers, the liveness monitor) propose a
// command and get its result once it is committed and applied. The single-member LocalCommandLog
// commits by appending to a durable table; the Raft log will commit by quorum. Both apply through
// the same StateMachine, so swapping one for the other changes only how commands are committed.
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
