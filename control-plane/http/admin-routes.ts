// The admin API (/v1): health, cluster, data nodes, topics and leader elections. Writes become
// commands proposed through the command log (or dry runs with validateOnly=true); reads pass a
// read barrier first, so that they see every write acknowledged before them, unless the caller
// asks for a stale read (?stale=true) from this controller's applied state.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { PartitionRecord, TopicRecord } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import type { ControllerDeps } from '../app.ts';
import { reject, unwrap, type Command, type CommandResult } from '../commands.ts';
import { readClusterId, readDataNodes, readTopic, readTopics } from '../db/queries.ts';
import { refuseInvalid } from './problem.ts';
import {
  ClusterView,
  CreatePartitionsBody,
  CreateTopicBody,
  DataNodeView,
  ElectLeadersBody,
  ElectLeadersResult,
  Health,
  json,
  problems,
  StaleQuery,
  TopicNameParam,
  TopicSummary,
  TopicView,
  ValidateOnlyQuery,
} from './schemas.ts';

/** Replication factor of a topic created without one: 3, or fewer when fewer nodes are live. */
const DEFAULT_REPLICATION_FACTOR = 3;

/** Kafka codes for CreateTopics fields that fail their schema (as Kafka answers CreateTopics). */
const CREATE_TOPIC_FIELD_CODES = {
  name: ErrorCode.INVALID_TOPIC_EXCEPTION,
  partitions: ErrorCode.INVALID_PARTITIONS,
  replicationFactor: ErrorCode.INVALID_REPLICATION_FACTOR,
  configs: ErrorCode.INVALID_CONFIG,
};

const health = createRoute({
  method: 'get',
  path: '/v1/health',
  responses: { 200: json(Health, 'The controller is up.') },
});

const getCluster = createRoute({
  method: 'get',
  path: '/v1/cluster',
  request: { query: StaleQuery },
  responses: { 200: json(ClusterView, 'Cluster id and metadata version.'), ...problems(503) },
});

const listDataNodes = createRoute({
  method: 'get',
  path: '/v1/data-nodes',
  request: { query: StaleQuery },
  responses: {
    200: json(z.object({ dataNodes: z.array(DataNodeView) }), 'Registered data nodes.'),
    ...problems(503),
  },
});

const createTopic = createRoute({
  method: 'post',
  path: '/v1/topics',
  request: {
    query: ValidateOnlyQuery,
    body: { ...json(CreateTopicBody), required: true },
  },
  responses: {
    201: json(TopicView, 'Created.'),
    200: json(TopicView, 'Valid (validateOnly); nothing created.'),
    ...problems(400, 409, 503),
  },
});

const listTopics = createRoute({
  method: 'get',
  path: '/v1/topics',
  request: { query: StaleQuery },
  responses: {
    200: json(z.object({ topics: z.array(TopicSummary) }), 'Topics by name.'),
    ...problems(503),
  },
});

const describeTopic = createRoute({
  method: 'get',
  path: '/v1/topics/{name}',
  request: { params: TopicNameParam, query: StaleQuery },
  responses: { 200: json(TopicView, 'The topic.'), ...problems(404, 503) },
});

const deleteTopic = createRoute({
  method: 'delete',
  path: '/v1/topics/{name}',
  request: { params: TopicNameParam },
  responses: {
    200: json(
      z.object({ name: z.string(), topicId: z.string(), metadataVersion: z.number().int() }),
      'Deleted, with the committed offsets of groups for it.',
    ),
    ...problems(404, 503),
  },
});

const createPartitions = createRoute({
  method: 'post',
  path: '/v1/topics/{name}/partitions',
  request: {
    params: TopicNameParam,
    query: ValidateOnlyQuery,
    body: { ...json(CreatePartitionsBody), required: true },
  },
  responses: {
    200: json(TopicView, 'The topic with its new partitions.'),
    ...problems(400, 404, 503),
  },
});

const electLeaders = createRoute({
  method: 'post',
  path: '/v1/leader-elections',
  request: { body: { ...json(ElectLeadersBody), required: true } },
  responses: { 200: json(ElectLeadersResult, 'Outcome per partition.'), ...problems(400, 503) },
});

export function registerAdminRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  const { log, stateMachine } = deps;
  const { db } = stateMachine;

  /** Proposes the command, or only checks it against the current state. */
  const run = <C extends Command>(command: C, validateOnly: boolean) =>
    validateOnly
      ? Promise.resolve(stateMachine.dryRun(command, deps.wallMs()))
      : log.propose(command);

  app.openapi(health, (c) =>
    c.json({ status: 'ok' as const, controllerId: deps.controllerId, leader: log.isLeader() }, 200),
  );

  /** Waits for the read barrier unless the caller settles for this controller's applied state. */
  const readBarrier = async (stale: boolean) => {
    if (!stale) await log.readBarrier();
  };

  app.openapi(getCluster, async (c) => {
    await readBarrier(c.req.valid('query').stale);
    return c.json(
      {
        clusterId: readClusterId(db) ?? '',
        metadataVersion: stateMachine.metadataVersion,
        appliedIndex: stateMachine.appliedIndex,
        controllerId: deps.controllerId,
        leader: log.isLeader(),
      },
      200,
    );
  });

  app.openapi(listDataNodes, async (c) => {
    await readBarrier(c.req.valid('query').stale);
    const dataNodes = readDataNodes(db).map((node) => {
      const at = deps.sessions.lastHeartbeatAt(node.nodeId);
      return { ...node, lastHeartbeatAt: at === null ? null : new Date(at).toISOString() };
    });
    return c.json({ dataNodes }, 200);
  });

  app.openapi(
    createTopic,
    async (c) => {
      const { validateOnly } = c.req.valid('query');
      const body = c.req.valid('json');
      const command = {
        type: 'createTopic' as const,
        name: body.name,
        topicId: deps.newTopicId(),
        partitions: body.partitions,
        replicationFactor: body.replicationFactor ?? defaultReplicationFactor(deps),
        configs: withoutNulls(body.configs),
      };

      const result = await run(command, validateOnly);
      return c.json(topicView(deps, unwrap(result), result), validateOnly ? 200 : 201);
    },
    refuseInvalid(CREATE_TOPIC_FIELD_CODES),
  );

  app.openapi(listTopics, async (c) => {
    await readBarrier(c.req.valid('query').stale);
    const topics = readTopics(db).map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitions: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
    }));
    return c.json({ topics }, 200);
  });

  app.openapi(describeTopic, async (c) => {
    const { name } = c.req.valid('param');
    await readBarrier(c.req.valid('query').stale);

    const topic = readTopic(db, name) ?? reject('unknownTopic', `topic ${name} does not exist`);
    return c.json(topicView(deps, topic, { metadataVersion: stateMachine.metadataVersion }), 200);
  });

  app.openapi(deleteTopic, async (c) => {
    const { name } = c.req.valid('param');
    const result = await log.propose({ type: 'deleteTopic', name });
    const { topicId } = unwrap(result);
    return c.json({ name, topicId, metadataVersion: result.metadataVersion }, 200);
  });

  app.openapi(
    createPartitions,
    async (c) => {
      const { name } = c.req.valid('param');
      const { validateOnly } = c.req.valid('query');
      const { count } = c.req.valid('json');

      const result = await run({ type: 'createPartitions', topic: name, count }, validateOnly);
      return c.json(topicView(deps, unwrap(result), result), 200);
    },
    refuseInvalid({ count: ErrorCode.INVALID_PARTITIONS }),
  );

  app.openapi(electLeaders, async (c) => {
    const body = c.req.valid('json');
    const result = await log.propose({ type: 'electLeaders', ...body });
    return c.json({ ...unwrap(result), metadataVersion: result.metadataVersion }, 200);
  });
}

function defaultReplicationFactor(deps: ControllerDeps): number {
  const live = readDataNodes(deps.stateMachine.db).filter((n) => !n.fenced).length;
  return Math.max(1, Math.min(DEFAULT_REPLICATION_FACTOR, live));
}

function withoutNulls(configs: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(configs).filter((entry): entry is [string, string] => entry[1] !== null),
  );
}

/** A topic as the admin API shows it, with log end offsets the data nodes last reported. */
function topicView(
  deps: ControllerDeps,
  topic: TopicRecord,
  outcome: Pick<CommandResult, 'metadataVersion'>,
): z.infer<typeof TopicView> {
  return {
    name: topic.name,
    topicId: topic.topicId,
    replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
    configs: topic.configs,
    partitions: topic.partitions.map((p) => partitionView(deps, topic.name, p)),
    metadataVersion: outcome.metadataVersion,
  };
}

function partitionView(deps: ControllerDeps, topic: string, p: PartitionRecord) {
  const reports = deps.sessions.replicaReports(topic, p.partition);
  const replicaLogEndOffsets: Record<string, string> = {};
  for (const [nodeId, report] of reports) {
    replicaLogEndOffsets[String(nodeId)] = report.logEndOffset.toString();
  }

  const leaderReport = reports.get(p.leader);
  const logEndOffset = leaderReport === undefined ? null : leaderReport.logEndOffset.toString();
  return { ...p, logEndOffset, replicaLogEndOffsets };
}
