// Durable Raft storage in its own SQLite file (apart from the state machine's database): one
// transaction per Ready, in WAL mode with synchronous=FULL, so a commit returns only after the WAL
// is fsynced. Everything a driver accumulated while the previous transaction ran goes into the
// next one: group commit falls out of the Ready cycle. The schema is created here rather than by
// drizzle migrations because it belongs to Raft, not to the controller's data model.
import Database from 'better-sqlite3';
import { controllerId, raftIndex, term } from '../../shared/ids.ts';
import { invariant } from '../../shared/assert.ts';
import { emptyState, type RaftStorage, type SaveBatch } from './storage.ts';
import type { ConfigChange, Entry, HardState, PersistedState, Snapshot } from './types.ts';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS raft_hard_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    term INTEGER NOT NULL,
    vote INTEGER,
    commit_index INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS raft_snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_index INTEGER NOT NULL,
    last_term INTEGER NOT NULL,
    voters TEXT NOT NULL,
    data BLOB NOT NULL
  );
  CREATE TABLE IF NOT EXISTS raft_entries (
    idx INTEGER PRIMARY KEY,
    term INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data BLOB,
    config TEXT
  );
`;

interface EntryRow {
  idx: number;
  term: number;
  kind: string;
  data: Buffer | null;
  config: string | null;
}

interface SnapshotRow {
  last_index: number;
  last_term: number;
  voters: string;
  data: Buffer;
}

interface HardStateRow {
  term: number;
  vote: number | null;
  commit_index: number;
}

export class SqliteRaftStorage implements RaftStorage {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly saveTransaction: (batch: SaveBatch) => void;
  private readonly compactTransaction: (snapshot: Snapshot) => void;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);

    this.statements = {
      hardState: this.db.prepare<[], HardStateRow>('SELECT * FROM raft_hard_state WHERE id = 1'),
      snapshot: this.db.prepare<[], SnapshotRow>('SELECT * FROM raft_snapshot WHERE id = 1'),
      entries: this.db.prepare<[], EntryRow>('SELECT * FROM raft_entries ORDER BY idx'),
      putHardState: this.db.prepare(
        'INSERT OR REPLACE INTO raft_hard_state (id, term, vote, commit_index) VALUES (1, ?, ?, ?)',
      ),
      putSnapshot: this.db.prepare(
        `INSERT OR REPLACE INTO raft_snapshot (id, last_index, last_term, voters, data)
         VALUES (1, ?, ?, ?, ?)`,
      ),
      putEntry: this.db.prepare(
        'INSERT INTO raft_entries (idx, term, kind, data, config) VALUES (?, ?, ?, ?, ?)',
      ),
      deleteFrom: this.db.prepare('DELETE FROM raft_entries WHERE idx >= ?'),
      deleteUpTo: this.db.prepare('DELETE FROM raft_entries WHERE idx <= ?'),
      deleteAll: this.db.prepare('DELETE FROM raft_entries'),
      lastIndex: this.db.prepare<[], { last: number | null }>(
        'SELECT max(idx) AS last FROM raft_entries',
      ),
    };
    this.saveTransaction = this.db.transaction((batch: SaveBatch) => this.write(batch));
    this.compactTransaction = this.db.transaction((snapshot: Snapshot) => this.trim(snapshot));
  }

  load(): PersistedState {
    const empty = emptyState();
    const hardRow = this.statements.hardState.get();
    const snapshotRow = this.statements.snapshot.get();

    const hardState: HardState = hardRow
      ? {
          term: term(hardRow.term),
          vote: hardRow.vote === null ? null : controllerId(hardRow.vote),
          commit: raftIndex(hardRow.commit_index),
        }
      : empty.hardState;
    const snapshot = snapshotRow ? decodeSnapshot(snapshotRow) : empty.snapshot;
    const entries = this.statements.entries.all().map(decodeEntry);
    return { hardState, snapshot, entries };
  }

  save(batch: SaveBatch): void {
    if (!batch.hardState && !batch.snapshot && batch.entries.length === 0) return;
    this.saveTransaction(batch);
  }

  compact(snapshot: Snapshot): void {
    this.compactTransaction(snapshot);
  }

  close(): void {
    this.db.close();
  }

  private write(batch: SaveBatch): void {
    if (batch.snapshot) {
      this.putSnapshot(batch.snapshot);
      this.statements.deleteAll.run();
    }

    if (batch.entries.length > 0) {
      this.statements.deleteFrom.run(batch.entries[0].index);
      for (const entry of batch.entries) this.statements.putEntry.run(...encodeEntry(entry));
    }

    const hard = batch.hardState;
    if (hard) this.statements.putHardState.run(hard.term, hard.vote, hard.commit);
  }

  private trim(snapshot: Snapshot): void {
    const stored = this.statements.snapshot.get();
    const last = this.statements.lastIndex.get()?.last ?? stored?.last_index ?? 0;
    invariant(snapshot.meta.index > (stored?.last_index ?? 0), 'compaction must move forward');
    invariant(snapshot.meta.index <= last, 'compaction beyond the stored log');

    this.putSnapshot(snapshot);
    this.statements.deleteUpTo.run(snapshot.meta.index);
  }

  private putSnapshot(snapshot: Snapshot): void {
    const { index, term: lastTerm, voters } = snapshot.meta;
    this.statements.putSnapshot.run(index, lastTerm, JSON.stringify(voters), snapshot.data);
  }
}

type EntryParams = [number, number, string, Uint8Array | null, string | null];

function encodeEntry(entry: Entry): EntryParams {
  const head = [entry.index, entry.term, entry.kind] as const;
  if (entry.kind === 'command') return [...head, entry.data, null];
  if (entry.kind === 'noop') return [...head, null, null];
  return [...head, null, JSON.stringify({ change: entry.change, voters: entry.voters })];
}

function decodeEntry(row: EntryRow): Entry {
  const header = { index: raftIndex(row.idx), term: term(row.term) };
  if (row.kind === 'command')
    return { ...header, kind: 'command', data: row.data ?? Buffer.alloc(0) };
  if (row.kind === 'noop') return { ...header, kind: 'noop' };

  invariant(row.kind === 'config' && row.config !== null, `unknown entry kind ${row.kind}`);
  const config = JSON.parse(row.config) as { change: ConfigChange; voters: number[] };
  return {
    ...header,
    kind: 'config',
    change: config.change,
    voters: config.voters.map(controllerId),
  };
}

function decodeSnapshot(row: SnapshotRow): Snapshot {
  const voters = (JSON.parse(row.voters) as number[]).map(controllerId);
  return {
    meta: { index: raftIndex(row.last_index), term: term(row.last_term), voters },
    data: row.data,
  };
}
