// Snapshots of a SQLite state machine for Raft: the database image from better-sqlite3's
// `serialize()` is the snapshot's data, and installing one writes that image in place of the
// database file, or copies its rows into an open database. The state machine decides when to take
// one; Raft only carries the bytes.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Tables that describe the local schema rather than the replicated state: never replaced. */
const LOCAL_TABLES = new Set(['__drizzle_migrations']);

/** A consistent image of the whole database, as its file would hold it. */
export function captureDatabase(db: Database.Database): Uint8Array {
  return db.serialize();
}

/**
 * Replaces the database file at `path` with `image`, durably: written beside it, fsynced, then
 * renamed over it. The caller closes its connection first and reopens afterwards. A leftover WAL
 * of the old database must not be replayed onto the new one, so it is removed before the rename.
 */
export function installDatabaseImage(path: string, image: Uint8Array): void {
  const temporary = `${path}.installing`;
  writeDurably(temporary, image);

  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  renameSync(temporary, path);
  fsyncDirectory(dirname(path));
}

/** Opens an image as a private in-memory database (for reading a snapshot, or in tests). */
export function openDatabaseImage(image: Uint8Array): Database.Database {
  // An in-memory database cannot use a WAL.
  return new Database(asRollbackJournal(image));
}

/**
 * Replaces the rows of every table of the open database `db` with those of `image`, in one
 * transaction. Unlike installDatabaseImage, the connection stays open, so every holder of it (and
 * of statements prepared on it) keeps working. Tables and columns are matched by name; the schema
 * is left as it is, which suits an image taken by the same version of the code. A table the image
 * lacks ends up empty.
 */
export function restoreDatabaseImage(db: Database.Database, image: Uint8Array): void {
  const scratch = join(db.memory ? tmpdir() : dirname(db.name), `restore-${randomUUID()}.sqlite`);
  writeFileSync(scratch, asRollbackJournal(image));

  db.prepare('ATTACH DATABASE ? AS image').run(scratch);
  try {
    db.transaction(() => copyTables(db))();
  } finally {
    db.exec('DETACH DATABASE image');
    rmSync(scratch, { force: true });
    rmSync(`${scratch}-journal`, { force: true });
  }
}

function copyTables(db: Database.Database): void {
  db.pragma('defer_foreign_keys = ON');
  const imageTables = new Set(tableNames(db, 'image'));

  for (const table of tableNames(db, 'main')) {
    db.exec(`DELETE FROM main."${table}"`);
    if (!imageTables.has(table)) continue;

    const imageColumns = new Set(columnNames(db, 'image', table));
    const columns = columnNames(db, 'main', table)
      .filter((c) => imageColumns.has(c))
      .map((c) => `"${c}"`)
      .join(', ');
    db.exec(`INSERT INTO main."${table}" (${columns}) SELECT ${columns} FROM image."${table}"`);
  }
}

function tableNames(db: Database.Database, schema: string): string[] {
  const rows = db
    .prepare(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table'`)
    .all() as { name: string }[];
  return rows.map((r) => r.name).filter((n) => !n.startsWith('sqlite_') && !LOCAL_TABLES.has(n));
}

function columnNames(db: Database.Database, schema: string, table: string): string[] {
  const rows = db.prepare('SELECT name FROM pragma_table_info(?, ?)').all(table, schema) as {
    name: string;
  }[];
  return rows.map((r) => r.name);
}

/**
 * An image of a WAL-mode file says so in its header (bytes 18 and 19); a copy marked as a
 * rollback-journal database opens anywhere, in memory or beside another database.
 */
function asRollbackJournal(image: Uint8Array): Buffer {
  const copy = Buffer.from(image);
  if (copy.length > 19) {
    copy[18] = 1;
    copy[19] = 1;
  }
  return copy;
}

function writeDurably(path: string, data: Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
