// State machine handlers that serve partition replication on the data nodes: controlled shutdown
// of a data node (its leaderships move before it stops) and blocks of producer ids for idempotent
// producers. Like every handler, deterministic: the next producer id is state, kept in `meta`.
import { eq } from 'drizzle-orm';
import type { CommandOf, CommandOutputs } from '../commands.ts';
import { meta } from '../db/schema.ts';
import { fenceDataNode } from './cluster.ts';
import type { ApplyContext } from './context.ts';

const NEXT_PRODUCER_ID = 'nextProducerId';

/**
 * The node is fenced under its current registration, exactly as a missed session would fence it:
 * it leaves every ISR where others remain and its partitions get new leaders from the ISR, each
 * with a new leader epoch. It becomes eligible again only by registering (a restart) or by a
 * heartbeat under the same registration.
 */
export function shutdownDataNode(
  ctx: ApplyContext,
  command: CommandOf<'shutdownDataNode'>,
): CommandOutputs['shutdownDataNode'] {
  const { nodeId, brokerEpoch } = command;
  return fenceDataNode(ctx, { type: 'fenceDataNode', nodeId, brokerEpoch });
}

/** Ids are handed out in increasing blocks from 0 and never twice, across every node. */
export function allocateProducerIds(
  ctx: ApplyContext,
  command: CommandOf<'allocateProducerIds'>,
): CommandOutputs['allocateProducerIds'] {
  const row = ctx.tx.select().from(meta).where(eq(meta.key, NEXT_PRODUCER_ID)).get();
  const firstProducerId = row?.value ?? 0;
  const next = firstProducerId + command.count;

  ctx.tx
    .insert(meta)
    .values({ key: NEXT_PRODUCER_ID, value: next })
    .onConflictDoUpdate({ target: meta.key, set: { value: next } })
    .run();
  return { firstProducerId, count: command.count };
}
