// Which data node coordinates a consumer group: a pure function of the group id and the live
// (unfenced) data nodes in a metadata view, so that every node holding the same view agrees
// without asking anyone. A node asked about a group it does not coordinate answers
// NOT_COORDINATOR, and the client looks again with FindCoordinator.
//
// Known shortcoming: the choice is the hash modulo the number of live nodes, so a node joining or
// leaving moves most groups to another coordinator at once; each moved group loses its in-memory
// membership and rebalances. Rendezvous hashing would move only the groups of the node that
// changed. Two nodes whose metadata views differ may also both believe they coordinate a group
// for a moment, and the controller does not check which node stores a group's offsets, so a
// member of the stale coordinator can still commit during that window.
import type { ClusterSnapshot, DataNodeRecord } from '../../shared/cluster-metadata.ts';

/** The coordinator of `groupId` in this view, or null when no data node is live. */
export function coordinatorFor(groupId: string, snapshot: ClusterSnapshot): DataNodeRecord | null {
  const live = snapshot.dataNodes.filter((n) => !n.fenced).sort((a, b) => a.nodeId - b.nodeId);
  if (live.length === 0) return null;

  return live[groupHash(groupId) % live.length];
}

/** 32-bit FNV-1a over the UTF-8 bytes: stable across processes, versions and platforms. */
export function groupHash(groupId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(groupId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
