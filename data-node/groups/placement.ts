// Which data node coordinates a consumer group: a pure function of the group id and the live
// (unfenced) data nodes in a metadata view, so that every node holding the same view agrees
// without asking anyone, and the controller, applying its log, reaches the same answer over its
// own state (control-plane/apply/offsets.ts refuses commits from any other node). A node asked
// about a group it does not coordinate answers NOT_COORDINATOR, and the client looks again with
// FindCoordinator.
//
// Rendezvous (highest random weight) hashing: every live node gets a weight for the group, and
// the heaviest wins. A node that joins takes only the groups where it now weighs most; a node
// that leaves hands each of its groups to the runner-up; every other group stays where it was.
//
// Known shortcoming: two nodes whose metadata views differ may both believe they coordinate a
// group for a moment. Only one of them is the coordinator in the controller's committed state,
// so only its commits are stored; members of the other see NOT_COORDINATOR and look again.
import type { ClusterSnapshot, DataNodeRecord } from '../../shared/cluster-metadata.ts';

/** What placement reads of a metadata view: its data nodes and whether each is fenced. */
export type PlacementView = Pick<ClusterSnapshot, 'dataNodes'>;

/** The coordinator of `groupId` in this view, or null when no data node is live. */
export function coordinatorFor(groupId: string, view: PlacementView): DataNodeRecord | null {
  const key = Buffer.from(groupId, 'utf8');
  let best: DataNodeRecord | null = null;
  let bestWeight = -1;

  for (const node of view.dataNodes) {
    if (node.fenced) continue;

    // Ties (one in 2^32 per pair) go to the lower node id, whatever the order of the list.
    const weight = placementWeight(key, node.nodeId);
    const tieWon = weight === bestWeight && best !== null && node.nodeId < best.nodeId;
    if (weight > bestWeight || tieWon) [best, bestWeight] = [node, weight];
  }
  return best;
}

/**
 * The weight of node `nodeId` for the group whose UTF-8 id is `groupKey`, as an unsigned 32-bit
 * integer. Stable across processes, versions and platforms, and part of the cluster's contract:
 * data nodes and controllers must compute the same value. Definition: 32-bit FNV-1a over the
 * group id's bytes, a zero byte, then the node id as 4 big-endian bytes; then MurmurHash3's
 * 32-bit finalizer, so that ids differing only in the last bytes still get unrelated weights.
 */
export function placementWeight(groupKey: Uint8Array, nodeId: number): number {
  let hash = 0x811c9dc5;
  const mix = (byte: number) => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  };

  for (const byte of groupKey) mix(byte);
  mix(0);
  for (const shift of [24, 16, 8, 0]) mix((nodeId >>> shift) & 0xff);

  return finalize(hash);
}

/** MurmurHash3's fmix32: every input bit affects every output bit. */
function finalize(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
