// The internal API (/internal/v1) that data nodes call: registration and heartbeats, the metadata
// long poll, ISR changes from partition leaders, and consumer group offsets for the group
// coordinators. Refusals carry the Kafka error code the data node should act on or pass on.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerDeps } from '../app.ts';
import { unwrap } from '../commands.ts';
import { readGroupIds, readGroupOffsets } from '../db/queries.ts';
import {
  ActiveGroupsBody,
  ActiveGroupsResult,
  ChangeIsrBody,
  ChangeIsrParams,
  ChangeIsrResult,
  CommitOffsetsBody,
  CommitOffsetsResult,
  DeletedOffsets,
  DeleteOffsetsBody,
  GroupIds,
  GroupOffsets,
  GroupParam,
  HeartbeatBody,
  HeartbeatResult,
  json,
  MetadataAnswer,
  MetadataQuery,
  problems,
  RegisterBody,
  RegisterResult,
  StaleQuery,
  TopicFilterQuery,
} from './schemas.ts';

const register = createRoute({
  method: 'post',
  path: '/internal/v1/data-nodes/register',
  request: { body: { ...json(RegisterBody), required: true } },
  responses: {
    200: json(RegisterResult, 'Registered; heartbeats carry the broker epoch.'),
    ...problems(400, 503),
  },
});

const heartbeat = createRoute({
  method: 'post',
  path: '/internal/v1/data-nodes/heartbeat',
  request: { body: { ...json(HeartbeatBody), required: true } },
  responses: {
    200: json(HeartbeatResult, 'Session refreshed.'),
    ...problems(400, 404, 409, 503),
  },
});

const metadata = createRoute({
  method: 'get',
  path: '/internal/v1/metadata',
  request: { query: MetadataQuery },
  responses: {
    200: json(MetadataAnswer, 'Changes after `since`, a snapshot, or nothing new after waitMs.'),
    ...problems(400),
  },
});

const changeIsr = createRoute({
  method: 'post',
  path: '/internal/v1/topics/{topic}/partitions/{partition}/isr',
  request: { params: ChangeIsrParams, body: { ...json(ChangeIsrBody), required: true } },
  responses: {
    200: json(ChangeIsrResult, 'The partition after the change.'),
    ...problems(400, 404, 409, 503),
  },
});

const commitOffsets = createRoute({
  method: 'post',
  path: '/internal/v1/groups/{groupId}/offsets',
  request: { params: GroupParam, body: { ...json(CommitOffsetsBody), required: true } },
  responses: {
    200: json(CommitOffsetsResult, 'A Kafka error code per partition (0 when stored).'),
    ...problems(400, 503),
  },
});

const fetchOffsets = createRoute({
  method: 'get',
  path: '/internal/v1/groups/{groupId}/offsets',
  request: { params: GroupParam, query: TopicFilterQuery.extend(StaleQuery.shape) },
  responses: {
    200: json(GroupOffsets, 'Committed offsets; partitions without one are absent.'),
    ...problems(503),
  },
});

const deleteOffsets = createRoute({
  method: 'delete',
  path: '/internal/v1/groups/{groupId}/offsets',
  request: { params: GroupParam, query: TopicFilterQuery },
  responses: { 200: json(DeletedOffsets, 'Offsets deleted.'), ...problems(503) },
});

const deleteOffsetsAsCoordinator = createRoute({
  method: 'post',
  path: '/internal/v1/groups/{groupId}/offset-deletions',
  request: { params: GroupParam, body: { ...json(DeleteOffsetsBody), required: true } },
  responses: {
    200: json(DeletedOffsets, 'Offsets deleted.'),
    ...problems(400, 409, 503),
  },
});

const listGroups = createRoute({
  method: 'get',
  path: '/internal/v1/groups',
  request: { query: StaleQuery },
  responses: { 200: json(GroupIds, 'Groups with committed offsets.'), ...problems(503) },
});

const reportActiveGroups = createRoute({
  method: 'post',
  path: '/internal/v1/active-groups',
  request: { body: { ...json(ActiveGroupsBody), required: true } },
  responses: {
    200: json(ActiveGroupsResult, 'Recorded; offset retention counts from now for these.'),
    ...problems(400, 409, 503),
  },
});

export function registerInternalRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  const { log, liveness, feed } = deps;

  app.openapi(register, async (c) => c.json(await liveness.register(c.req.valid('json')), 200));

  app.openapi(heartbeat, async (c) => {
    const body = c.req.valid('json');
    const partitions = body.partitions.map((p) => ({ ...p, logEndOffset: BigInt(p.logEndOffset) }));
    return c.json(await liveness.heartbeat({ ...body, partitions }), 200);
  });

  app.openapi(metadata, async (c) => {
    const { since, waitMs } = c.req.valid('query');
    return c.json(await feed.wait(since, waitMs, c.req.raw.signal), 200);
  });

  app.openapi(changeIsr, async (c) => {
    const { topic, partition } = c.req.valid('param');
    const body = c.req.valid('json');

    const result = await log.propose({ type: 'changeIsr', topic, partition, ...body });
    return c.json({ ...unwrap(result), metadataVersion: result.metadataVersion }, 200);
  });

  app.openapi(commitOffsets, async (c) => {
    const { groupId } = c.req.valid('param');
    const { coordinator, sequence, offsets } = c.req.valid('json');
    const entries = offsets.map((o) => ({ ...o, metadata: o.metadata ?? '' }));

    const commit = { groupId, coordinator, sequence, offsets: entries };
    const { errorCodes, refusal } = await deps.offsetCommits.commit(commit);
    const results = offsets.map((o, i) => ({
      topic: o.topic,
      partition: o.partition,
      errorCode: errorCodes[i],
    }));
    if (refusal === null) return c.json({ results }, 200);

    deps.logger.warn({ group: groupId, coordinator, sequence, refusal }, 'offset commit refused');
    return c.json({ results, refusal }, 200);
  });

  app.openapi(fetchOffsets, async (c) => {
    const { groupId } = c.req.valid('param');
    const { topic, stale } = c.req.valid('query');
    const topics = topicFilter(topic);
    if (!stale) await log.readBarrier();

    const offsets = readGroupOffsets(deps.stateMachine.db, groupId, topics).map((o) => ({
      ...o,
      offset: o.offset.toString(),
    }));
    return c.json({ groupId, offsets }, 200);
  });

  app.openapi(deleteOffsets, async (c) => {
    const { groupId } = c.req.valid('param');
    const topics = topicFilter(c.req.valid('query').topic);

    const result = await log.propose({ type: 'deleteGroupOffsets', groupId, topics });
    return c.json(unwrap(result), 200);
  });

  registerGroupCoordinatorRoutes(app, deps);
}

/** What group coordinators send besides commits: deletions, activity, and the list of groups. */
function registerGroupCoordinatorRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  const { log } = deps;

  app.openapi(deleteOffsetsAsCoordinator, async (c) => {
    const { groupId } = c.req.valid('param');
    const { coordinator, partitions, sequence } = c.req.valid('json');

    const result = await log.propose({
      type: 'deleteGroupOffsets',
      groupId,
      topics: null,
      partitions,
      coordinator,
      sequence,
    });
    return c.json(unwrap(result), 200);
  });

  app.openapi(listGroups, async (c) => {
    if (!c.req.valid('query').stale) await log.readBarrier();
    return c.json({ groupIds: readGroupIds(deps.stateMachine.db) }, 200);
  });

  app.openapi(reportActiveGroups, async (c) => {
    const { coordinator, groupIds } = c.req.valid('json');
    const result = await log.propose({ type: 'reportActiveGroups', coordinator, groupIds });
    return c.json(unwrap(result), 200);
  });
}

function topicFilter(topic: z.infer<typeof TopicFilterQuery>['topic']): string[] | null {
  if (topic === undefined) return null;
  return Array.isArray(topic) ? topic : [topic];
}
