// State machine handlers for the cluster's identity and its data nodes: registration, fencing and
// unfencing, and the leader elections they cause. Liveness itself (who missed heartbeats) is
// decided by the leader controller; these handlers only apply the decisions, refusing any made
// for a registration that has since been replaced (an older broker epoch).
import type { DataNodeRecord } from '../../shared/cluster-metadata.ts';
import { eq } from 'drizzle-orm';
import { reject, type CommandOf, type CommandOutputs } from '../commands.ts';
import { readClusterId, readDataNode, readMeta, writeMeta } from '../db/queries.ts';
import { cluster, dataNodes } from '../db/schema.ts';
import { electLeader, NO_LEADER, removeReplica } from '../partition-change.ts';
import {
  eligibleNodes,
  uncleanElectionAllowed,
  updatePartitions,
  type ApplyContext,
} from './context.ts';

export function initCluster(
  ctx: ApplyContext,
  command: CommandOf<'initCluster'>,
): CommandOutputs['initCluster'] {
  const stored = readClusterId(ctx.tx);
  if (stored === command.clusterId) return { clusterId: stored };
  if (stored !== null) {
    reject('clusterIdMismatch', `cluster id is ${stored}; refusing ${command.clusterId}`);
  }

  ctx.tx
    .insert(cluster)
    .values({ id: 1, clusterId: command.clusterId, createdAtMs: ctx.now })
    .run();

  // Data nodes take version 0 for "no view yet": an initialised cluster's view starts at 1.
  writeMeta(ctx.tx, 'metadataVersion', readMeta(ctx.tx, 'metadataVersion') + 1);
  return { clusterId: command.clusterId };
}

/**
 * The broker epoch is the command's log index: it grows with every registration on every
 * controller alike. A node registering under a new incarnation is a restarted process that may
 * have lost what it had not flushed, so it first leaves ISRs and leaderships as if fenced, then
 * rejoins unfenced; leaderless partitions it can lead get it as leader (with a new leader epoch).
 */
export function registerDataNode(
  ctx: ApplyContext,
  command: CommandOf<'registerDataNode'>,
): CommandOutputs['registerDataNode'] {
  const previous = readDataNode(ctx.tx, command.nodeId);
  const restarted = previous !== undefined && previous.incarnationId !== command.incarnationId;

  const { type: _type, ...fields } = command;
  const record: DataNodeRecord = { ...fields, brokerEpoch: ctx.index, fenced: false };
  const row = { ...record, registeredAtMs: ctx.now };
  ctx.tx
    .insert(dataNodes)
    .values(row)
    .onConflictDoUpdate({ target: dataNodes.nodeId, set: row })
    .run();
  ctx.emit({ kind: 'data-node', dataNode: record });

  const eligible = eligibleNodes(ctx.tx);
  updatePartitions(ctx, (topic, p) => {
    const unclean = uncleanElectionAllowed(topic);
    const left = restarted ? removeReplica(p, command.nodeId, eligible, unclean) : p;
    return left.leader === NO_LEADER ? electLeader(left, eligible, unclean) : left;
  });
  return { brokerEpoch: ctx.index };
}

export function fenceDataNode(
  ctx: ApplyContext,
  command: CommandOf<'fenceDataNode'>,
): CommandOutputs['fenceDataNode'] {
  const node = currentRegistration(ctx, command.nodeId, command.brokerEpoch);
  if (node.fenced) return { changedPartitions: 0 };

  setFenced(ctx, node, true);
  const eligible = eligibleNodes(ctx.tx);
  const changedPartitions = updatePartitions(ctx, (topic, p) =>
    removeReplica(p, node.nodeId, eligible, uncleanElectionAllowed(topic)),
  );
  return { changedPartitions };
}

export function unfenceDataNode(
  ctx: ApplyContext,
  command: CommandOf<'unfenceDataNode'>,
): CommandOutputs['unfenceDataNode'] {
  const node = currentRegistration(ctx, command.nodeId, command.brokerEpoch);
  if (!node.fenced) return { changedPartitions: 0 };

  setFenced(ctx, node, false);
  const eligible = eligibleNodes(ctx.tx);
  const changedPartitions = updatePartitions(ctx, (topic, p) =>
    p.leader === NO_LEADER ? electLeader(p, eligible, uncleanElectionAllowed(topic)) : p,
  );
  return { changedPartitions };
}

/** The node's registration, refusing a command made for an older one. */
function currentRegistration(ctx: ApplyContext, nodeId: number, brokerEpoch: number) {
  const node = readDataNode(ctx.tx, nodeId);
  if (node === undefined) reject('unknownDataNode', `data node ${nodeId} is not registered`);
  if (node.brokerEpoch !== brokerEpoch) {
    reject(
      'staleBrokerEpoch',
      `data node ${nodeId} has broker epoch ${node.brokerEpoch}, not ${brokerEpoch}`,
    );
  }
  return node;
}

function setFenced(ctx: ApplyContext, node: DataNodeRecord, fenced: boolean): void {
  ctx.tx.update(dataNodes).set({ fenced }).where(eq(dataNodes.nodeId, node.nodeId)).run();
  ctx.emit({ kind: 'data-node', dataNode: { ...node, fenced } });
}
