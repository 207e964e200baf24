// Internal routes that serve partition replication on the data nodes: controlled shutdown (a data
// node about to stop asks for its leaderships to move) and blocks of producer ids for
// InitProducerId. ISR changes have their own route with the other partition routes.
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ControllerDeps } from '../app.ts';
import { unwrap } from '../commands.ts';
import { json, problems } from './schemas.ts';

/** Producer ids per block: a data node asks the controller once per this many producers. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

const NodeId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

const ShutdownBody = z
  .strictObject({ nodeId: NodeId, brokerEpoch: z.number().int().min(-1) })
  .openapi('ShutdownDataNode');

const ShutdownResult = z
  .object({ changedPartitions: z.number().int(), metadataVersion: z.number().int() })
  .openapi('ShutdownResult');

const ProducerIdsBody = z.strictObject({ nodeId: NodeId }).openapi('AllocateProducerIds');

const ProducerIdsResult = z
  .object({
    /** int64 in decimal, as offsets and ids travel in JSON. */
    firstProducerId: z.string(),
    count: z.number().int(),
  })
  .openapi('ProducerIdBlock');

const shutdown = createRoute({
  method: 'post',
  path: '/internal/v1/data-nodes/shutdown',
  request: { body: { ...json(ShutdownBody), required: true } },
  responses: {
    200: json(ShutdownResult, 'Leaderships moved; wait for metadataVersion to see it.'),
    ...problems(400, 404, 409, 503),
  },
});

const producerIds = createRoute({
  method: 'post',
  path: '/internal/v1/producer-ids',
  request: { body: { ...json(ProducerIdsBody), required: true } },
  responses: {
    200: json(
      ProducerIdsResult,
      'Ids [firstProducerId, firstProducerId + count), for this node only.',
    ),
    ...problems(400, 503),
  },
});

export function registerReplicationRoutes(app: OpenAPIHono, deps: ControllerDeps): void {
  const { log } = deps;

  app.openapi(shutdown, async (c) => {
    const { nodeId, brokerEpoch } = c.req.valid('json');
    const result = await log.propose({ type: 'shutdownDataNode', nodeId, brokerEpoch });
    const { changedPartitions } = unwrap(result);

    deps.logger.info({ nodeId, brokerEpoch, changedPartitions }, 'data node shutting down');
    return c.json({ changedPartitions, metadataVersion: result.metadataVersion }, 200);
  });

  app.openapi(producerIds, async (c) => {
    const { nodeId } = c.req.valid('json');
    const count = PRODUCER_ID_BLOCK_SIZE;
    const block = unwrap(await log.propose({ type: 'allocateProducerIds', nodeId, count }));
    return c.json({ firstProducerId: String(block.firstProducerId), count: block.count }, 200);
  });
}
