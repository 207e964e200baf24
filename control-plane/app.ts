// The controller's HTTP API as a Hono app, built from its dependencies so that tests drive it with
// `app.request()` and main.ts serves it on a socket. Two route sets share one port: the admin API
// (/v1, for operators and for data nodes forwarding Kafka admin requests) and the internal API
// (/internal/v1, for data nodes). Errors leave as application/problem+json; the OpenAPI document
// is at /openapi.json.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../shared/logger.ts';
import type { CommandLog, QuorumMember } from './command-log.ts';
import type { DataNodeLiveness } from './data-node-liveness.ts';
import type { DataNodeSessions } from './data-node-sessions.ts';
import { registerAdminRoutes } from './http/admin-routes.ts';
import { registerInternalRoutes } from './http/internal-routes.ts';
import { registerPresenceRoutes } from './http/presence-routes.ts';
import { registerQuorumRoutes } from './http/quorum-routes.ts';
import { registerReplicationRoutes } from './http/replication-routes.ts';
import { problemFor, problemResponse, refuseInvalid } from './http/problem.ts';
import type { MetadataFeed } from './metadata-feed.ts';
import type { OffsetCommitBatcher } from './offset-commits.ts';
import type { StateMachine } from './state-machine.ts';

/** Largest request body; an offset commit of a few thousand partitions fits. */
const BODY_BYTES_MAX = 4 * 1024 * 1024;

export interface ControllerDeps {
  controllerId: number;
  stateMachine: StateMachine;
  log: CommandLog;
  /** This controller's side of the quorum: GET /v1/quorum and the leader's end of forwarding. */
  quorum: QuorumMember;
  feed: MetadataFeed;
  liveness: DataNodeLiveness;
  sessions: DataNodeSessions;
  offsetCommits: OffsetCommitBatcher;
  /** Wall clock in ms: stamps dry runs of commands. */
  wallMs: () => number;
  /** A new topic id (UUID); the proposer fills it into createTopic. */
  newTopicId: () => string;
  logger: Logger;
}

export type ControllerApp = OpenAPIHono;

export function buildApp(deps: ControllerDeps): ControllerApp {
  const app = new OpenAPIHono({ defaultHook: refuseInvalid() });

  app.use(
    '*',
    bodyLimit({
      maxSize: BODY_BYTES_MAX,
      onError: () =>
        problemResponse({
          type: 'urn:weir:problem:too-large',
          title: 'request too large',
          status: 413,
          detail: `request bodies are limited to ${BODY_BYTES_MAX} bytes`,
        }),
    }),
  );

  registerAdminRoutes(app, deps);
  registerInternalRoutes(app, deps);
  registerPresenceRoutes(app, deps);
  registerReplicationRoutes(app, deps);
  registerQuorumRoutes(app, deps);

  app.doc('/openapi.json', {
    openapi: '3.0.0',
    info: {
      title: 'Weir controller',
      version: '1',
      description: 'Admin API (/v1) and the internal API data nodes use (/internal/v1).',
    },
  });

  app.notFound((c) =>
    problemResponse({
      type: 'urn:weir:problem:not-found',
      title: 'not found',
      status: 404,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    }),
  );
  app.onError((err) => problemResponse(problemFor(err, deps.logger)));
  return app;
}
