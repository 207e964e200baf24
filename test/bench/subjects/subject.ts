// What the workloads need from a system under test, Weir or JetStream: create a log (a topic of
// one partition, or a stream), publish with every record acknowledged, read everything back from
// the start, and find and kill the leader of a log. The workloads (workloads.ts) hold the timing;
// a subject holds only the client calls and process control.
import type { Replication } from '../plan.ts';

export interface PublishStats {
  recordsAcked: number;
  bytesAcked: number;
  elapsedMs: number;
}

export interface ConsumeStats {
  records: number;
  bytes: number;
  /**
   * From the moment the consumer could fetch (group joined, subscription made) to the last
   * record: joining is a client's and coordinator's cost, not the read path's.
   */
  elapsedMs: number;
  /** From the call to the first record: subscribe, join, first fetch. */
  firstRecordMs: number;
}

export interface Subject {
  /** 'weir' or 'jetstream'. */
  readonly system: 'weir' | 'jetstream';
  readonly replication: Replication;

  createLog(name: string): Promise<void>;

  /**
   * Publishes `count` records of `recordBytes` as fast as the client allows, every one of them
   * acknowledged, stopping early at the deadline; answers what was acknowledged.
   */
  publishMany(
    name: string,
    recordBytes: number,
    count: number,
    deadlineMs: number,
  ): Promise<PublishStats>;

  /** Publishes one record and resolves once it is acknowledged; rejects if the client gave up. */
  publishOne(name: string, value: Buffer): Promise<void>;

  /**
   * publishOne while leaders are being killed: the same, possibly through a client whose retries
   * look for the new leader sooner.
   */
  publishOneThroughFailover(name: string, value: Buffer): Promise<void>;

  /** Reads the log from its start until `records` are read or the deadline passes. */
  consume(
    name: string,
    records: number,
    deadlineMs: number,
    onRecord?: (value: Buffer) => void,
  ): Promise<ConsumeStats>;

  /** Records the log holds now (its log end offset, or the stream's message count). */
  recordCount(name: string): Promise<number>;

  /** Name of the process that leads the log now. */
  leaderOf(name: string): Promise<string>;
  kill(processName: string): Promise<void>;
  restart(processName: string): Promise<void>;
  /** Resolves true once every replica of the log is caught up again after a restart. */
  waitFullyReplicated(name: string, timeoutMs: number): Promise<boolean>;

  /**
   * A sentence when the replicas of a log plainly do not hold what the leader acknowledged (a
   * replication factor in name only), null when they do or the subject cannot tell.
   */
  replicationWarning?(name: string): Promise<string | null>;

  close(): Promise<void>;
}
