// Snapshots of a SQLite state machine for Raft: the database image from better-sqlite3's
// `serialize()` is the snapshot's data, and installing one writes that image in place of the
// database file. The state machine decides when to take one; Raft only carries the bytes.
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

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
  // An image of a WAL-mode file says so in its header (bytes 18 and 19), and an in-memory
  // database cannot use a WAL; marking it as a rollback-journal database lets it open.
  const copy = Buffer.from(image);
  if (copy.length > 19) {
    copy[18] = 1;
    copy[19] = 1;
  }
  return new Database(copy);
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
