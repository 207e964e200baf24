// zod schemas of the controller's HTTP bodies: they validate requests and, through
// @hono/zod-openapi, describe the API in the OpenAPI document at /openapi.json. Shapes only: rules
// that depend on cluster state (a topic exists, enough data nodes) are the state machine's.
import { z } from '@hono/zod-openapi';
import { ClusterSnapshot, MetadataChange, PartitionRecord } from '../../shared/cluster-metadata.ts';
import { Int64String } from '../commands.ts';

const INT32_MAX = 2 ** 31 - 1;
const NodeId = z.number().int().min(0).max(INT32_MAX);
const Epoch = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const PartitionIndex = z.number().int().min(0).max(INT32_MAX);

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    field: z.string().optional().openapi({ description: 'The request field at fault.' }),
    kafkaErrorCode: z.number().int().optional().openapi({
      description: 'The Kafka protocol error code a data node should answer its client with.',
    }),
    leaderId: z.number().int().optional(),
    leaderAdminUrl: z.string().optional(),
  })
  .openapi('Problem');

export const ValidateOnlyQuery = z.object({
  validateOnly: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .openapi({ description: 'Check the request against the cluster without applying it.' }),
});

export const StaleQuery = z.object({
  stale: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .openapi({
      description:
        "Answer from this controller's applied state without checking with the leader: " +
        'faster, and served without a leader, but it may miss the latest writes.',
    }),
});

export const TopicNameParam = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'orders' }),
});

export const CreateTopicBody = z
  .strictObject({
    name: z.string().openapi({ example: 'orders' }),
    partitions: z.number().int().min(1).max(INT32_MAX).default(1),
    replicationFactor: z.number().int().min(1).max(32_767).optional().openapi({
      description: 'Defaults to 3, or the number of live data nodes when fewer.',
    }),
    configs: z
      .record(z.string(), z.string().nullable())
      .default({})
      .openapi({ example: { 'retention.ms': '86400000' } }),
  })
  .openapi('CreateTopic');

export const CreatePartitionsBody = z
  .strictObject({ count: z.number().int().min(1).max(INT32_MAX) })
  .openapi('CreatePartitions');

export const PartitionView = PartitionRecord.extend({
  logEndOffset: z.string().nullable().openapi({
    description: "The leader's log end offset as it last reported; null if it has not.",
  }),
  replicaLogEndOffsets: z.record(z.string(), z.string()).openapi({
    description: 'Log end offset each replica last reported, by node id.',
  }),
}).openapi('Partition');

export const TopicView = z
  .object({
    name: z.string(),
    topicId: z.string(),
    replicationFactor: z.number().int(),
    configs: z.record(z.string(), z.string()),
    partitions: z.array(PartitionView),
    metadataVersion: z.number().int(),
  })
  .openapi('Topic');

export const TopicSummary = z
  .object({
    name: z.string(),
    topicId: z.string(),
    partitions: z.number().int(),
    replicationFactor: z.number().int(),
  })
  .openapi('TopicSummary');

export const DataNodeView = z
  .object({
    nodeId: z.number().int(),
    host: z.string(),
    kafkaPort: z.number().int(),
    rack: z.string().nullable(),
    incarnationId: z.string(),
    brokerEpoch: z.number().int(),
    fenced: z.boolean(),
    lastHeartbeatAt: z.string().nullable().openapi({
      description:
        'When the leader controller last heard from it (ISO 8601); null if not since it led.',
    }),
  })
  .openapi('DataNode');

export const ClusterView = z
  .object({
    clusterId: z.string(),
    metadataVersion: z.number().int(),
    appliedIndex: z.number().int(),
    controllerId: z.number().int(),
    leader: z.boolean(),
  })
  .openapi('Cluster');

export const Health = z
  .object({ status: z.literal('ok'), controllerId: z.number().int(), leader: z.boolean() })
  .openapi('Health');

export const ElectLeadersBody = z
  .strictObject({
    election: z.enum(['preferred', 'unclean']),
    partitions: z
      .array(z.strictObject({ topic: z.string(), partition: PartitionIndex }))
      .nullable()
      .default(null)
      .openapi({ description: 'Null for all partitions.' }),
  })
  .openapi('ElectLeaders');

export const ElectLeadersResult = z
  .object({
    results: z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        errorCode: z.number().int(),
        leader: z.number().int(),
      }),
    ),
    metadataVersion: z.number().int(),
  })
  .openapi('ElectLeadersResult');

// Internal API: data nodes.

export const RegisterBody = z
  .strictObject({
    nodeId: NodeId,
    host: z.string().min(1),
    kafkaPort: z.number().int().min(1).max(65535),
    rack: z.string().min(1).nullable().default(null),
    incarnationId: z.string().min(1),
  })
  .openapi('RegisterDataNode');

export const RegisterResult = z
  .object({ brokerEpoch: z.number().int(), clusterId: z.string() })
  .openapi('Registration');

export const HeartbeatBody = z
  .strictObject({
    nodeId: NodeId,
    brokerEpoch: Epoch,
    partitions: z
      .array(
        z.object({
          topic: z.string(),
          partition: PartitionIndex,
          logEndOffset: Int64String,
          sizeBytes: z.number().int().min(0),
        }),
      )
      .default([]),
  })
  .openapi('Heartbeat');

export const HeartbeatResult = z
  .object({ fenced: z.boolean(), metadataVersion: z.number().int() })
  .openapi('HeartbeatResult');

/** The longest a metadata poll is held; data nodes ask for 10 s by default. */
const METADATA_WAIT_MS_MAX = 60_000;

export const MetadataQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  /** At most a minute: a longer wait would overflow the timer and answer at once. */
  waitMs: z.coerce.number().int().min(0).max(METADATA_WAIT_MS_MAX).default(0),
});

export const MetadataAnswer = z
  .object({
    version: z.number().int(),
    snapshot: ClusterSnapshot.optional(),
    changes: z.array(MetadataChange).optional(),
  })
  .openapi('MetadataResponse');

export const ChangeIsrParams = z.object({
  topic: z.string().openapi({ param: { name: 'topic', in: 'path' } }),
  partition: z.coerce
    .number()
    .int()
    .min(0)
    .openapi({ param: { name: 'partition', in: 'path' } }),
});

export const ChangeIsrBody = z
  .strictObject({
    nodeId: NodeId,
    brokerEpoch: Epoch,
    leaderEpoch: Epoch,
    partitionEpoch: Epoch,
    isr: z.array(NodeId).min(1),
  })
  .openapi('ChangeIsr');

export const ChangeIsrResult = PartitionRecord.extend({
  metadataVersion: z.number().int(),
}).openapi('PartitionState');

export const GroupParam = z.object({
  groupId: z.string().openapi({ param: { name: 'groupId', in: 'path' } }),
});

/** The number a coordinator gives each offset write (commit or deletion) it sends. */
const WriteSequence = z
  .number()
  .int()
  .min(0)
  .max(Number.MAX_SAFE_INTEGER)
  .optional()
  .openapi({
    description:
      'Grows with every commit or deletion the coordinator sends for the group. One older than ' +
      'the last applied from the same coordinator is refused (REQUEST_TIMED_OUT).',
  });

export const CommitOffsetsBody = z
  .strictObject({
    coordinator: z
      .strictObject({ nodeId: NodeId, brokerEpoch: Epoch })
      .nullable()
      .default(null)
      .openapi({
        description: 'The committing coordinator; refused (NOT_COORDINATOR) once it is stale.',
      }),
    sequence: WriteSequence,
    offsets: z.array(
      z.strictObject({
        topic: z.string(),
        partition: PartitionIndex,
        offset: Int64String,
        leaderEpoch: Epoch.default(-1),
        metadata: z.string().nullable().default(''),
      }),
    ),
  })
  .openapi('CommitOffsets');

export const CommitOffsetsResult = z
  .object({
    results: z.array(
      z.object({ topic: z.string(), partition: z.number().int(), errorCode: z.number().int() }),
    ),
    refusal: z
      .string()
      .optional()
      .openapi({ description: 'Why the whole commit was refused, when it was.' }),
  })
  .openapi('CommitOffsetsResult');

export const TopicFilterQuery = z.object({
  topic: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: 'Repeat to name several topics; absent for all.' }),
});

export const GroupOffsets = z
  .object({
    groupId: z.string(),
    offsets: z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        offset: z.string(),
        leaderEpoch: z.number().int(),
        metadata: z.string(),
        commitTimeMs: z.number().int(),
      }),
    ),
  })
  .openapi('GroupOffsets');

export const DeletedOffsets = z.object({ deleted: z.number().int() }).openapi('DeletedOffsets');

const CoordinatorRef = z.strictObject({ nodeId: NodeId, brokerEpoch: Epoch }).openapi({
  description:
    'The data node sending, under its current broker epoch; refused (NOT_COORDINATOR) unless ' +
    'it is live and coordinates the group in the committed state.',
});

export const DeleteOffsetsBody = z
  .strictObject({
    coordinator: CoordinatorRef,
    sequence: WriteSequence,
    partitions: z
      .array(z.strictObject({ topic: z.string(), partition: PartitionIndex }))
      .nullable()
      .openapi({ description: 'The partitions whose offsets go; null for every one.' }),
  })
  .openapi('DeleteOffsets');

export const GroupIds = z
  .object({ groupIds: z.array(z.string()) })
  .openapi('GroupIds', { description: 'Groups that have committed offsets, sorted.' });

export const ActiveGroupsBody = z
  .strictObject({
    coordinator: CoordinatorRef,
    groupIds: z.array(z.string()).openapi({
      description: 'Every group with members on this coordinator now; the others it had are empty.',
    }),
  })
  .openapi('ActiveGroups');

export const ActiveGroupsResult = z
  .object({ active: z.number().int() })
  .openapi('ActiveGroupsResult');

const ERROR_DESCRIPTIONS = {
  400: 'The request is not valid (problem+json names the field and Kafka error code).',
  404: 'No such topic, partition or data node.',
  409: 'The request conflicts with the current state (exists already, stale epoch).',
  503: 'This controller cannot serve now (not the leader); try another.',
} as const;

/** Problem responses for a route's OpenAPI description. */
export function problems<S extends keyof typeof ERROR_DESCRIPTIONS>(...statuses: S[]) {
  const content = { 'application/problem+json': { schema: Problem } };
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status], content }]),
  ) as unknown as Record<S, { description: string; content: typeof content }>;
}

/** A JSON body for a route's request or response. */
export function json<T extends z.ZodType>(schema: T, description = '') {
  return { description, content: { 'application/json': { schema } } };
}
