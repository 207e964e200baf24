// The vocabulary of Weir's Raft: log entries, the state that must survive a crash, snapshots,
// the messages controllers exchange, and the Ready batch the core hands to its driver. Plain data
// only, so the same values travel through the simulator, the storage adapters and the transport.
import type { ControllerId, RaftIndex, Term } from '../../shared/ids.ts';

export type { ControllerId, RaftIndex, Term };

/** A membership change: one voter added or removed at a time (Raft dissertation, section 4.1). */
export type ConfigChange =
  | { readonly type: 'add-voter'; readonly id: ControllerId }
  | { readonly type: 'remove-voter'; readonly id: ControllerId };

interface EntryHeader {
  readonly index: RaftIndex;
  readonly term: Term;
}

/**
 * One slot of the replicated log. `command` carries the state machine's bytes; `noop` is what a new
 * leader appends to commit its term; `config` carries the voter set that holds from this entry on.
 */
export type Entry =
  | (EntryHeader & { readonly kind: 'command'; readonly data: Uint8Array })
  | (EntryHeader & { readonly kind: 'noop' })
  | (EntryHeader & {
      readonly kind: 'config';
      /** What changed; `bootstrap` marks the voter set a new cluster starts with. */
      readonly change: ConfigChange | { readonly type: 'bootstrap' };
      /** The whole voter set after the change, sorted, so no entry needs its predecessors. */
      readonly voters: readonly ControllerId[];
    });

/** What Raft requires on stable storage before a message that depends on it leaves the node. */
export interface HardState {
  readonly term: Term;
  /** The candidate this node voted for in `term`, or null. */
  readonly vote: ControllerId | null;
  /** Highest index known committed; persisted only to re-apply faster after a restart. */
  readonly commit: RaftIndex;
}

export interface SnapshotMeta {
  /** Last index the snapshot covers; the log continues at index + 1. */
  readonly index: RaftIndex;
  /** Term of the entry at `index`. */
  readonly term: Term;
  /** Voter set in force at `index`. */
  readonly voters: readonly ControllerId[];
}

/** A state machine image at `meta.index`; `data` is opaque to Raft. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** What a node finds in storage when it starts. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  /** Entries after `snapshot.meta.index`, contiguous. */
  readonly entries: readonly Entry[];
}

interface MessageHeader {
  readonly from: ControllerId;
  readonly to: ControllerId;
  /** Sender's term; a pre-vote request carries the term the sender would campaign in. */
  readonly term: Term;
}

export type Message =
  | (MessageHeader & {
      readonly type: 'PreVote' | 'RequestVote';
      readonly lastLogIndex: RaftIndex;
      readonly lastLogTerm: Term;
    })
  | (MessageHeader & {
      readonly type: 'PreVoteResponse' | 'RequestVoteResponse';
      readonly granted: boolean;
    })
  | (MessageHeader & {
      readonly type: 'AppendEntries';
      readonly prevLogIndex: RaftIndex;
      readonly prevLogTerm: Term;
      readonly entries: readonly Entry[];
      readonly commitIndex: RaftIndex;
    })
  | (MessageHeader & {
      readonly type: 'AppendEntriesResponse';
      readonly success: true;
      /** The follower's log matches the leader's up to here. */
      readonly matchIndex: RaftIndex;
    })
  | (MessageHeader & {
      readonly type: 'AppendEntriesResponse';
      readonly success: false;
      /** prevLogIndex of the refused request, so the leader can tell a stale refusal. */
      readonly rejectedIndex: RaftIndex;
      /** Last follower index whose term is <= the request's prevLogTerm: where to probe next. */
      readonly hintIndex: RaftIndex;
      readonly hintTerm: Term;
    })
  | (MessageHeader & {
      readonly type: 'Heartbeat';
      /** min(commit index, what the follower is known to hold): safe for it to commit. */
      readonly commitIndex: RaftIndex;
      /** Latest ReadIndex round; echoed so the leader knows which reads this confirms. */
      readonly readRound: number;
    })
  | (MessageHeader & { readonly type: 'HeartbeatResponse'; readonly readRound: number })
  | (MessageHeader & { readonly type: 'InstallSnapshot'; readonly snapshot: Snapshot });

export type MessageType = Message['type'];

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** A linearizable read that may proceed once the state machine has applied `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: RaftIndex;
}

/** Typed events for drivers and tests; the same facts are logged. */
export type RaftEvent =
  | {
      readonly type: 'role-changed';
      readonly role: Role;
      readonly term: Term;
      readonly leader: ControllerId | null;
    }
  | {
      readonly type: 'config-changed';
      readonly voters: readonly ControllerId[];
      readonly index: RaftIndex;
    };

/**
 * One batch of work for the driver, handled in this order: persist `snapshot`, `entries` and
 * `hardState` durably and atomically; then send `messages`; then install `snapshot` into the state
 * machine and apply `committedEntries`; serve `readStates` once applied; finally call `advance`.
 * Sending before persisting would let a vote or an acknowledgement outlive a crash that lost it.
 */
export interface Ready {
  readonly hardState: HardState | null;
  /** Entries to append; an entry at index i replaces whatever storage holds from i on. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole log and the state machine. */
  readonly snapshot: Snapshot | null;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** ReadIndex requests that can no longer complete here (leadership lost). */
  readonly abortedReads: readonly number[];
  readonly events: readonly RaftEvent[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: RaftIndex; readonly term: Term }
  | {
      readonly ok: false;
      readonly reason: 'not-leader' | 'config-change-pending' | 'invalid-config-change';
      readonly leader: ControllerId | null;
    };
