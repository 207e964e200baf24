// The presence request each data node keeps open at the leader controller. It carries nothing:
// what matters is when it ends. Answered after holdMs (the node then opens the next one), it
// says the node was there all along; cut from the node's side before its answer, it is the
// first sign that the node's process died (see DataNodeLiveness.presence).
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerDeps } from '../app.ts';
import { json, problems } from './schemas.ts';

/** Long enough that reopening costs nothing, short enough to pass through idle-socket reapers. */
const HOLD_MS_MAX = 60_000;

const PresenceBody = z
  .strictObject({
    nodeId: z.number().int().min(0),
    brokerEpoch: z.number().int().min(0),
    holdMs: z.number().int().min(0).max(HOLD_MS_MAX),
  })
  .openapi('PresenceRequest');

const PresenceResult = z.object({ heldMs: z.number() }).openapi('PresenceResult');

const presence = createRoute({
  method: 'post',
  path: '/internal/v1/data-nodes/presence',
  request: { body: { ...json(PresenceBody), required: true } },
  responses: {
    200: json(PresenceResult, 'Held for holdMs, or until this controller stopped leading.'),
    ...problems(400, 404, 409, 503),
  },
});

export function registerPresenceRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  app.openapi(presence, async (c) => {
    const held = await deps.liveness.presence(c.req.valid('json'), c.req.raw.signal);
    return c.json(held, 200);
  });
}
