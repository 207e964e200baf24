// The controller's state machine tables. Every row here is written by applying a committed command
// (control-plane/state-machine.ts), so two controllers that applied the same commands hold the same
// rows. Lists (replicas, ISR) and configs are JSON text; int64 offsets are decimal text so that no
// value above 2^53 loses precision on its way through JavaScript numbers.
import { sql } from 'drizzle-orm';
import { customType, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

const int64Text = customType<{ data: bigint; driverData: string }>({
  dataType: () => 'text',
  toDriver: (value) => value.toString(),
  fromDriver: (value) => BigInt(value),
});

function jsonText<T>(name: string) {
  return customType<{ data: T; driverData: string }>({
    dataType: () => 'text',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => JSON.parse(value) as T,
  })(name);
}

/** Scalars of the state machine, one row per key. */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: integer('value').notNull(),
});

/**
 * The command log of a single-member controller (LocalCommandLog): appended before applying, so a
 * restart replays what was appended but not yet applied. Raft keeps its own log instead.
 */
export const commandLog = sqliteTable('command_log', {
  index: integer('index').primaryKey(),
  /** The proposer's clock when it appended the entry: the `now` every replica applies with. */
  appendedAtMs: integer('appended_at_ms').notNull(),
  command: text('command').notNull(),
});

/** At most one row: the cluster id, set once by the first leader. */
export const cluster = sqliteTable('cluster', {
  id: integer('id').primaryKey(),
  clusterId: text('cluster_id').notNull(),
  createdAtMs: integer('created_at_ms').notNull(),
});

export const dataNodes = sqliteTable('data_nodes', {
  nodeId: integer('node_id').primaryKey(),
  host: text('host').notNull(),
  kafkaPort: integer('kafka_port').notNull(),
  rack: text('rack'),
  incarnationId: text('incarnation_id').notNull(),
  /** The log index of the node's latest registration: grows with every registration. */
  brokerEpoch: integer('broker_epoch').notNull(),
  fenced: integer('fenced', { mode: 'boolean' }).notNull(),
  registeredAtMs: integer('registered_at_ms').notNull(),
});

export const topics = sqliteTable('topics', {
  name: text('name').primaryKey(),
  topicId: text('topic_id').notNull().unique(),
  /** Explicitly set configs only, keys sorted. */
  configs: jsonText<Record<string, string>>('configs').notNull(),
  createdAtMs: integer('created_at_ms').notNull(),
});

export const partitions = sqliteTable(
  'partitions',
  {
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    replicas: jsonText<number[]>('replicas').notNull(),
    /** -1 when no replica can lead. */
    leader: integer('leader').notNull(),
    leaderEpoch: integer('leader_epoch').notNull(),
    isr: jsonText<number[]>('isr').notNull(),
    partitionEpoch: integer('partition_epoch').notNull(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
);

export const groupOffsets = sqliteTable(
  'group_offsets',
  {
    groupId: text('group_id').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    offset: int64Text('offset').notNull(),
    /** -1 when the committer did not know the leader epoch. */
    leaderEpoch: integer('leader_epoch').notNull(),
    metadata: text('metadata')
      .notNull()
      .default(sql`''`),
    commitTimeMs: integer('commit_time_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.topic, t.partition] })],
);

/**
 * When each group was last known to have members, for offset retention. A group's last activity
 * is the later of `lastActiveMs` and its latest offset commit. While `activeNodeId` is set, that
 * coordinator (under `activeBrokerEpoch`) last reported members in the group: the group counts as
 * active for as long as that node is live under that epoch and still coordinates the group.
 */
export const groupActivity = sqliteTable('group_activity', {
  groupId: text('group_id').primaryKey(),
  lastActiveMs: integer('last_active_ms').notNull(),
  activeNodeId: integer('active_node_id'),
  activeBrokerEpoch: integer('active_broker_epoch'),
});

/**
 * Per group, the last numbered commit applied from a group coordinator: the coordinator's node id
 * and broker epoch, and the sequence it gave the commit (growing with every commit it sends for
 * the group). A commit from the same coordinator incarnation with a lower sequence was sent
 * earlier and arrived late: it is refused, so the committed offset never moves back to it. A
 * commit from another incarnation replaces the row. `appliedMs` lets retention drop idle rows.
 */
export const groupCommitSequences = sqliteTable('group_commit_sequences', {
  groupId: text('group_id').primaryKey(),
  nodeId: integer('node_id').notNull(),
  brokerEpoch: integer('broker_epoch').notNull(),
  sequence: integer('sequence').notNull(),
  appliedMs: integer('applied_ms').notNull(),
});

/** Recent metadata changes, so data nodes can follow by version; older ones are pruned. */
export const metadataChanges = sqliteTable('metadata_changes', {
  version: integer('version').primaryKey(),
  change: text('change').notNull(),
});
