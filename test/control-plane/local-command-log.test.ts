// The single-member command log: what it acknowledged survives a restart, entries appended but
// not applied before a crash are applied at the next start, and a closed log takes no commands.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError } from '../../control-plane/command-log.ts';
import { openStateDb } from '../../control-plane/db/database.ts';
import { readMeta, readTopic } from '../../control-plane/db/queries.ts';
import { commandLog } from '../../control-plane/db/schema.ts';
import { LocalCommandLog } from '../../control-plane/local-command-log.ts';
import { StateMachine } from '../../control-plane/state-machine.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createTopic, dumpState, register } from './helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openLog(path: string) {
  const opened = openStateDb(path);
  const stateMachine = new StateMachine(opened.db);
  const log = new LocalCommandLog(stateMachine, {
    controllerId: 1,
    adminUrl: () => null,
    clock: () => 1_700_000_000_000,
    logger: silentLogger,
  });
  return { ...opened, stateMachine, log };
}

function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'weir-command-log-'));
  dirs.push(dir);
  return join(dir, 'controller.sqlite');
}

describe('LocalCommandLog', () => {
  it('keeps what it acknowledged across a restart', async () => {
    const path = dbPath();
    const first = openLog(path);
    await first.log.propose(register(1));
    await first.log.propose(createTopic('t', 1, 1));
    const before = dumpState(first.db);
    first.close();

    const second = openLog(path);

    expect(dumpState(second.db)).toEqual(before);
    expect(readTopic(second.db, 't')?.partitions).toHaveLength(1);
    const next = await second.log.propose(register(2));
    expect(next.index).toBe(3);
    second.close();
  });

  it('applies at start the entries appended but not applied before a crash', () => {
    const path = dbPath();
    const first = openLog(path);
    first.db
      .insert(commandLog)
      .values([
        { index: 1, appendedAtMs: 5, command: JSON.stringify(register(1)) },
        { index: 2, appendedAtMs: 6, command: JSON.stringify(createTopic('t', 1, 1)) },
      ])
      .run();
    first.close();

    const second = openLog(path);

    expect(readMeta(second.db, 'appliedIndex')).toBe(2);
    expect(readTopic(second.db, 't')).toBeDefined();
    second.close();
  });

  it('refuses malformed commands before they reach the log', async () => {
    const { log, db, close } = openLog(':memory:');
    const malformed = { ...register(1), kafkaPort: 70_000 };

    await expect(log.propose(malformed)).rejects.toThrow(/kafkaPort/);

    expect(db.select().from(commandLog).all()).toEqual([]);
    close();
  });

  it('takes no commands once closed', async () => {
    const { log, close } = openLog(':memory:');
    log.close();

    await expect(log.propose(register(1))).rejects.toBeInstanceOf(NotLeaderError);
    expect(log.isLeader()).toBe(false);
    close();
  });
});
