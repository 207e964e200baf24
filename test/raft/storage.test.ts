// One conformance suite for Raft storage, run against the in-memory twin and the SQLite adapter:
// what is saved comes back after a reopen, later entries replace earlier ones from their index,
// snapshots replace or trim the log. Then the SQLite state machine snapshot helpers.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controllerId, raftIndex, term } from '../../shared/ids.ts';
import {
  captureDatabase,
  installDatabaseImage,
  openDatabaseImage,
} from '../../control-plane/raft/sqlite-snapshot.ts';
import { SqliteRaftStorage } from '../../control-plane/raft/sqlite-storage.ts';
import {
  bootstrapState,
  emptyState,
  isEmptyState,
  MemoryStorage,
  type RaftStorage,
} from '../../control-plane/raft/storage.ts';
import type { Entry, Snapshot } from '../../control-plane/raft/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'weir-raft-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface StorageUnderTest {
  readonly name: string;
  open(): RaftStorage;
  /** The same storage after a crash: a new handle on what was durable. */
  reopen(storage: RaftStorage): RaftStorage;
}

let files = 0;
const paths = new WeakMap<RaftStorage, string>();

function openSqlite(path: string): RaftStorage {
  const storage = new SqliteRaftStorage(path);
  paths.set(storage, path);
  return storage;
}

const adapters: StorageUnderTest[] = [
  { name: 'MemoryStorage', open: () => new MemoryStorage(), reopen: (s) => s },
  {
    name: 'SqliteRaftStorage',
    open: () => openSqlite(join(dir, `raft-${++files}.db`)),
    reopen: (s) => {
      s.close();
      return openSqlite(paths.get(s)!);
    },
  },
];

const voters = [controllerId(1), controllerId(2), controllerId(3)];

function command(index: number, t: number, text: string): Entry {
  return { kind: 'command', index: raftIndex(index), term: term(t), data: Buffer.from(text) };
}

function snapshot(index: number, t: number, data: string): Snapshot {
  return { meta: { index: raftIndex(index), term: term(t), voters }, data: Buffer.from(data) };
}

function texts(entries: readonly Entry[]): string[] {
  return entries.map(
    (e) => `${e.index}@${e.term}:${e.kind === 'command' ? Buffer.from(e.data) : e.kind}`,
  );
}

describe.each(adapters)('$name', (adapter) => {
  it('starts empty', () => {
    const storage = adapter.open();

    expect(isEmptyState(storage.load())).toBe(true);
    expect(storage.load()).toEqual(emptyState());
    storage.close();
  });

  it('keeps a founder bootstrap, config entries included, across a reopen', () => {
    let storage = adapter.open();
    const founder = bootstrapState(voters);
    storage.save({ hardState: founder.hardState, snapshot: null, entries: founder.entries });

    storage = adapter.reopen(storage);

    expect(storage.load()).toEqual(founder);
    storage.close();
  });

  it('keeps hard state, votes and commands byte for byte', () => {
    let storage = adapter.open();
    const hardState = { term: term(7), vote: controllerId(2), commit: raftIndex(2) };
    const noop: Entry = { kind: 'noop', index: raftIndex(2), term: term(7) };
    storage.save({ hardState, snapshot: null, entries: [command(1, 7, 'a'), noop] });

    storage = adapter.reopen(storage);
    const state = storage.load();

    expect(state.hardState).toEqual(hardState);
    expect(texts(state.entries)).toEqual(['1@7:a', '2@7:noop']);
    storage.close();
  });

  it('replaces everything from the index of the first entry saved', () => {
    let storage = adapter.open();
    storage.save({
      hardState: null,
      snapshot: null,
      entries: [1, 2, 3, 4].map((i) => command(i, 1, `x${i}`)),
    });
    storage.save({ hardState: null, snapshot: null, entries: [command(3, 2, 'y3')] });

    storage = adapter.reopen(storage);

    expect(texts(storage.load().entries)).toEqual(['1@1:x1', '2@1:x2', '3@2:y3']);
    storage.close();
  });

  it('installs a snapshot from the leader in place of the whole log', () => {
    let storage = adapter.open();
    storage.save({
      hardState: null,
      snapshot: null,
      entries: [1, 2, 3].map((i) => command(i, 1, `x${i}`)),
    });
    storage.save({
      hardState: null,
      snapshot: snapshot(10, 3, 'image'),
      entries: [command(11, 3, 'z')],
    });

    storage = adapter.reopen(storage);
    const state = storage.load();

    expect(state.snapshot.meta).toEqual({ index: 10, term: 3, voters });
    expect(Buffer.from(state.snapshot.data).toString()).toBe('image');
    expect(texts(state.entries)).toEqual(['11@3:z']);
    storage.close();
  });

  it('compacts: the snapshot covers a prefix and later entries stay', () => {
    let storage = adapter.open();
    storage.save({
      hardState: null,
      snapshot: null,
      entries: [1, 2, 3, 4].map((i) => command(i, 1, `x${i}`)),
    });
    storage.compact(snapshot(2, 1, 'upto2'));

    storage = adapter.reopen(storage);
    const state = storage.load();

    expect(state.snapshot.meta.index).toBe(2);
    expect(texts(state.entries)).toEqual(['3@1:x3', '4@1:x4']);
    expect(() => storage.compact(snapshot(9, 1, 'beyond'))).toThrow(/beyond the stored log/);
    storage.close();
  });
});

describe('SQLite state machine snapshots', () => {
  function database(path: string): Database.Database {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER)');
    return db;
  }

  it('carries a database image to another file and into memory', () => {
    const source = database(join(dir, 'source.db'));
    source.prepare('INSERT INTO topics VALUES (?, ?)').run('orders', 6);
    const image = captureDatabase(source);
    source.close();

    const target = join(dir, 'target.db');
    const stale = database(target);
    stale.prepare('INSERT INTO topics VALUES (?, ?)').run('stale', 1);
    stale.close();
    installDatabaseImage(target, image);

    const installed = new Database(target);
    expect(installed.prepare('SELECT * FROM topics').all()).toEqual([
      { name: 'orders', partitions: 6 },
    ]);
    installed.close();

    const inMemory = openDatabaseImage(image);
    expect(inMemory.prepare('SELECT count(*) AS n FROM topics').get()).toEqual({ n: 1 });
    inMemory.close();
  });
});
