// Opens the controller's SQLite database and brings its schema up to date with the migrations
// that drizzle-kit generated into migrations/. WAL with synchronous=FULL: a command that was
// acknowledged (a committed offset, a created topic) survives a crash of the machine.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

export type StateDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** Either a tables handle or an open transaction: the state machine writes through both alike. */
export type StateTx = Parameters<Parameters<StateDb['transaction']>[0]>[0] | StateDb;

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface OpenedDb {
  db: StateDb;
  close(): void;
}

/** Opens (creating if needed) the database at `path`; ':memory:' gives a private in-memory one. */
export function openStateDb(path: string): OpenedDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });

  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');

  const db = drizzle({ client: sqlite, schema });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });

  return { db, close: () => sqlite.close() };
}
