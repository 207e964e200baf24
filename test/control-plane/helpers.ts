// Shared by the control-plane tests: fresh in-memory databases, a way to apply commands in log
// order, and a dump of every state machine table for comparing two controllers.
import type { Command, CommandResult } from '../../control-plane/commands.ts';
import { openStateDb, type StateDb } from '../../control-plane/db/database.ts';
import { applyCommand } from '../../control-plane/state-machine.ts';

export function memoryDb(): StateDb {
  return openStateDb(':memory:').db;
}

/** Applies commands at consecutive indexes with a clock that advances by one ms per command. */
export class Applier {
  index = 0;

  constructor(
    readonly db: StateDb = memoryDb(),
    private nowMs = 1_700_000_000_000,
  ) {}

  apply<C extends Command>(command: C): CommandResult<C['type']> {
    this.index += 1;
    this.nowMs += 1;
    return applyCommand(this.db, this.index, command, this.nowMs);
  }

  /** Applies and expects success; returns the value. */
  ok<C extends Command>(command: C) {
    const result = this.apply(command);
    if (!result.ok) throw new Error(`${command.type} refused: ${result.rejection.message}`);
    return result.value;
  }
}

/** State machine tables and their primary keys. */
const STATE_TABLES: Record<string, string> = {
  meta: 'key',
  cluster: 'id',
  data_nodes: 'node_id',
  topics: 'name',
  partitions: 'topic, partition',
  group_offsets: 'group_id, topic, partition',
  group_activity: 'group_id',
  group_commit_sequences: 'group_id',
  metadata_changes: 'version',
};

/** Every row of every state machine table, in primary key order. */
export function dumpState(db: StateDb): Record<string, unknown[]> {
  const sqlite = db.$client;
  return Object.fromEntries(
    Object.entries(STATE_TABLES).map(([table, key]) => [
      table,
      sqlite.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all(),
    ]),
  );
}

export const TOPIC_IDS = [
  '00000000-0000-4000-8000-000000000001',
  '00000000-0000-4000-8000-000000000002',
  '00000000-0000-4000-8000-000000000003',
  '00000000-0000-4000-8000-000000000004',
];

export function register(nodeId: number, rack: string | null = null, incarnation = 'a') {
  return {
    type: 'registerDataNode' as const,
    nodeId,
    host: '127.0.0.1',
    kafkaPort: 9000 + nodeId,
    rack,
    incarnationId: `${incarnation}-${nodeId}`,
  };
}

export function createTopic(name: string, partitions: number, replicationFactor: number, n = 0) {
  return {
    type: 'createTopic' as const,
    name,
    topicId: TOPIC_IDS[n % TOPIC_IDS.length],
    partitions,
    replicationFactor,
    configs: {},
  };
}
