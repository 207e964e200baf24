// Topic names and topic configs, validated the same way by the controller (which stores them) and
// the data node (which forwards CreateTopics and applies configs to its logs). Configs travel and
// are stored as Kafka does: only the keys set explicitly, as strings; readers get typed values with
// defaults filled in through `effectiveTopicConfig`. What a config means for a log is the data
// node's business; this module only knows which keys exist, what values they accept, and defaults.
// Known shortcoming: every value Kafka accepts is accepted (compaction, every codec), whether or
// not the data node implements it yet; a client is not told when a config has no effect.
import { z } from 'zod';
import { ErrorCode, KafkaError } from './kafka-errors.ts';

export const TOPIC_NAME_LENGTH_MAX = 249;

const TOPIC_NAME_CHARS = /^[a-zA-Z0-9._-]+$/;

/** Why a topic name is not acceptable to Kafka, or null when it is. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `topic name is ${name.length} characters long; at most ${TOPIC_NAME_LENGTH_MAX} allowed`;
  }
  if (!TOPIC_NAME_CHARS.test(name)) {
    return `topic name "${name}" may contain only ASCII letters, digits, '.', '_' and '-'`;
  }
  return null;
}

/** Throws INVALID_TOPIC_EXCEPTION when the name breaks Kafka's rules. */
export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
}

/**
 * Kafka turns '.' into '_' in metric names, so two topics differing only there would share
 * metrics; it refuses the second one. Names with the same key collide.
 */
export function topicCollisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

/** The existing topic that `name` would collide with (other than itself), if any. */
export function findCollidingTopic(name: string, existing: Iterable<string>): string | undefined {
  const key = topicCollisionKey(name);
  for (const other of existing) {
    if (other !== name && topicCollisionKey(other) === key) return other;
  }
  return undefined;
}

/** A config value that is not acceptable; carries the config's name for the client's message. */
export class TopicConfigError extends KafkaError {
  override name = 'TopicConfigError';

  constructor(
    readonly configName: string,
    message: string,
  ) {
    super(ErrorCode.INVALID_CONFIG, message);
  }
}

// Value parsers. Kafka configs are strings on the wire; each parser turns one into a typed value
// or reports what it expected. Longs beyond 2^53 (Kafka's "Long.MAX_VALUE means never") are kept
// as Number.MAX_SAFE_INTEGER: no millisecond or byte count that large is ever reached.
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const LONG_MAX_TEXT = INT64_MAX.toString();

function integerValue(min: number, max: 'int' | 'long') {
  const limit = max === 'int' ? BigInt(INT32_MAX) : INT64_MAX;
  const lowest = max === 'int' ? -(2n ** 31n) : INT64_MIN;

  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    const value = /^-?\d+$/.test(text) ? BigInt(text) : null;
    if (value === null || value < lowest || value > limit) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a ${max === 'int' ? '32' : '64'}-bit integer`,
      });
      return z.NEVER;
    }
    if (value < BigInt(min)) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${min}` });
      return z.NEVER;
    }
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  });
}

const intValue = (min: number) => integerValue(min, 'int');
const longValue = (min: number) => integerValue(min, 'long');

function ratioValue() {
  return z.string().transform((raw, ctx) => {
    const value = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
      ctx.addIssue({ code: 'custom', message: 'must be a number between 0 and 1' });
      return z.NEVER;
    }
    return value;
  });
}

function booleanValue() {
  return z.string().transform((raw, ctx) => {
    const text = raw.trim().toLowerCase();
    if (text !== 'true' && text !== 'false') {
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    }
    return text === 'true';
  });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    if (!values.includes(text)) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return text as T[number];
  });
}

function listOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((raw, ctx) => {
    const items = raw.split(',').map((item) => item.trim());
    if (items.length === 0 || items.some((item) => !values.includes(item))) {
      ctx.addIssue({ code: 'custom', message: `must be a list of ${values.join(', ')}` });
      return z.NEVER;
    }
    return [...new Set(items)] as T[number][];
  });
}

interface Definition {
  /** The Kafka config name. */
  name: string;
  /** Parses the string form into the typed value. */
  schema: z.ZodType<unknown, string>;
  /** The default, in string form, as DescribeConfigs shows it. */
  defaultValue: string;
  doc: string;
}

const WEEK_MS = '604800000';

const definitions = {
  cleanupPolicy: {
    name: 'cleanup.policy',
    schema: listOf(['delete', 'compact']),
    defaultValue: 'delete',
    doc: 'what happens to old segments: deleted by retention, compacted by key, or both',
  },
  compressionType: {
    name: 'compression.type',
    schema: oneOf(['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer']),
    defaultValue: 'producer',
    doc: 'codec of stored batches; "producer" keeps whatever the producer used',
  },
  deleteRetentionMs: {
    name: 'delete.retention.ms',
    schema: longValue(0),
    defaultValue: '86400000',
    doc: 'how long tombstones stay in a compacted topic',
  },
  fileDeleteDelayMs: {
    name: 'file.delete.delay.ms',
    schema: longValue(0),
    defaultValue: '60000',
    doc: 'delay between removing a segment from the log and deleting its files',
  },
  flushMessages: {
    name: 'flush.messages',
    schema: longValue(1),
    defaultValue: LONG_MAX_TEXT,
    doc: 'force an fsync after this many messages',
  },
  flushMs: {
    name: 'flush.ms',
    schema: longValue(0),
    defaultValue: LONG_MAX_TEXT,
    doc: 'force an fsync after this much time',
  },
  indexIntervalBytes: {
    name: 'index.interval.bytes',
    schema: intValue(0),
    defaultValue: '4096',
    doc: 'bytes of log between two entries of the offset index',
  },
  maxCompactionLagMs: {
    name: 'max.compaction.lag.ms',
    schema: longValue(1),
    defaultValue: LONG_MAX_TEXT,
    doc: 'longest time a record stays ineligible for compaction',
  },
  maxMessageBytes: {
    name: 'max.message.bytes',
    schema: intValue(0),
    defaultValue: '1048588',
    doc: 'largest record batch the topic accepts, after compression',
  },
  messageTimestampAfterMaxMs: {
    name: 'message.timestamp.after.max.ms',
    schema: longValue(0),
    defaultValue: LONG_MAX_TEXT,
    doc: 'how far in the future a CreateTime timestamp may be',
  },
  messageTimestampBeforeMaxMs: {
    name: 'message.timestamp.before.max.ms',
    schema: longValue(0),
    defaultValue: LONG_MAX_TEXT,
    doc: 'how far in the past a CreateTime timestamp may be',
  },
  messageTimestampType: {
    name: 'message.timestamp.type',
    schema: oneOf(['CreateTime', 'LogAppendTime']),
    defaultValue: 'CreateTime',
    doc: "whose clock stamps records: the producer's or the leader's at append",
  },
  minCleanableDirtyRatio: {
    name: 'min.cleanable.dirty.ratio',
    schema: ratioValue(),
    defaultValue: '0.5',
    doc: 'share of the log not yet compacted that triggers compaction',
  },
  minCompactionLagMs: {
    name: 'min.compaction.lag.ms',
    schema: longValue(0),
    defaultValue: '0',
    doc: 'shortest time a record stays uncompacted',
  },
  minInsyncReplicas: {
    name: 'min.insync.replicas',
    schema: intValue(1),
    defaultValue: '2',
    doc: 'in-sync replicas an acks=all produce needs; capped at the replication factor if unset',
  },
  preallocate: {
    name: 'preallocate',
    schema: booleanValue(),
    defaultValue: 'false',
    doc: 'preallocate segment files when they are created',
  },
  retentionBytes: {
    name: 'retention.bytes',
    schema: longValue(-1),
    defaultValue: '-1',
    doc: 'size a partition log may reach before old segments are deleted; -1 for no limit',
  },
  retentionMs: {
    name: 'retention.ms',
    schema: longValue(-1),
    defaultValue: WEEK_MS,
    doc: 'age after which segments are deleted; -1 for no limit',
  },
  segmentBytes: {
    name: 'segment.bytes',
    schema: intValue(14),
    defaultValue: '1073741824',
    doc: 'size at which a segment is closed and a new one started',
  },
  segmentIndexBytes: {
    name: 'segment.index.bytes',
    schema: intValue(4),
    defaultValue: '10485760',
    doc: 'size of the offset index of a segment',
  },
  segmentJitterMs: {
    name: 'segment.jitter.ms',
    schema: longValue(0),
    defaultValue: '0',
    doc: 'random jitter subtracted from segment.ms',
  },
  segmentMs: {
    name: 'segment.ms',
    schema: longValue(1),
    defaultValue: WEEK_MS,
    doc: 'age at which a segment is closed even if not full',
  },
  uncleanLeaderElectionEnable: {
    name: 'unclean.leader.election.enable',
    schema: booleanValue(),
    defaultValue: 'false',
    doc: 'allow a replica outside the ISR to lead when no ISR member can (may lose records)',
  },
} as const satisfies Record<string, Definition>;

type Definitions = typeof definitions;
type ConfigKey = keyof Definitions;

/** Effective configs of a topic, typed, defaults filled in. */
export type TopicConfig = { -readonly [K in ConfigKey]: z.output<Definitions[K]['schema']> };

const byName = new Map<string, { key: ConfigKey } & Definition>(
  (Object.keys(definitions) as ConfigKey[]).map((key) => [
    definitions[key].name,
    { key, ...definitions[key] },
  ]),
);

/** The known topic configs, in name order: what DescribeConfigs lists for a topic. */
export const topicConfigNames: readonly string[] = [...byName.keys()].sort();

export function isTopicConfigName(name: string): boolean {
  return byName.has(name);
}

export function topicConfigDefault(name: string): string | undefined {
  return byName.get(name)?.defaultValue;
}

/**
 * Validates configs as a client sent them and returns what to store: known keys only, values
 * trimmed, null values (Kafka's "use the default") dropped, keys in name order.
 */
export function validateTopicConfigs(
  configs: Readonly<Record<string, string | null | undefined>>,
): Record<string, string> {
  const valid: Record<string, string> = {};

  for (const name of Object.keys(configs).sort()) {
    const raw = configs[name];
    const definition = byName.get(name);
    if (definition === undefined) {
      throw new TopicConfigError(name, `unknown topic config ${name}`);
    }
    if (raw === null || raw === undefined) continue;

    parseValue(definition, raw);
    valid[name] = raw.trim();
  }
  return valid;
}

function parseValue(definition: Definition, raw: string): unknown {
  const parsed = definition.schema.safeParse(raw);
  if (parsed.success) return parsed.data;

  const reason = parsed.error.issues[0]?.message ?? 'invalid value';
  throw new TopicConfigError(
    definition.name,
    `invalid value "${raw}" for topic config ${definition.name}: ${reason}`,
  );
}

/**
 * Typed configs with defaults filled in. Stored configs were validated when set; an invalid or
 * unknown one here is a bug on the writing side and throws TopicConfigError.
 *
 * `replicationFactor`, when given, caps the default of min.insync.replicas: Weir's default of 2
 * would otherwise refuse every acks=all produce to a topic with a single replica.
 */
export function effectiveTopicConfig(
  configs: Readonly<Record<string, string>>,
  replicationFactor?: number,
): TopicConfig {
  const effective: Record<string, unknown> = {};

  for (const [name, definition] of byName) {
    const raw = configs[name] ?? defaultFor(name, replicationFactor);
    effective[definition.key] = parseValue(definition, raw);
  }
  for (const name of Object.keys(configs)) {
    if (!byName.has(name)) throw new TopicConfigError(name, `unknown topic config ${name}`);
  }
  return effective as TopicConfig;
}

function defaultFor(name: string, replicationFactor: number | undefined): string {
  const defaultValue = byName.get(name)!.defaultValue;
  if (name !== 'min.insync.replicas' || replicationFactor === undefined) return defaultValue;

  return String(Math.max(1, Math.min(Number(defaultValue), replicationFactor)));
}

export interface TopicConfigEntry {
  name: string;
  value: string;
  /** True when the topic does not set this config and the default applies. */
  isDefault: boolean;
  doc: string;
}

/** Every known config of a topic in string form, as DescribeConfigs and CreateTopics v5+ show. */
export function describeTopicConfigs(
  configs: Readonly<Record<string, string>>,
  replicationFactor?: number,
): TopicConfigEntry[] {
  return topicConfigNames.map((name) => {
    const set = configs[name];
    return {
      name,
      value: set ?? defaultFor(name, replicationFactor),
      isDefault: set === undefined,
      doc: byName.get(name)!.doc,
    };
  });
}
