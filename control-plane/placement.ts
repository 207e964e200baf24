// Replica placement for new partitions: a pure function of the live data nodes and the current
// load, so every controller applying the same createTopic places replicas the same way.
//
// Round-robin with an offset, as Kafka does: partition p is led by node (start + p) of a ring of
// nodes, its followers are the nodes after the leader, skipping `shift` of them, and the shift
// grows each time the ring wraps so that the same neighbours do not always follow one leader. Kafka
// picks the start at random; here it is the node leading the fewest partitions, which spreads
// leaders across topics without randomness. When racks are set the ring alternates racks and each
// partition takes its replicas from as many racks as it can.
import { invariant } from '../shared/assert.ts';

export interface PlacementNode {
  nodeId: number;
  rack: string | null;
}

export interface PlacementRequest {
  /** Live (registered, unfenced) data nodes. */
  nodes: readonly PlacementNode[];
  partitionCount: number;
  replicationFactor: number;
  /** Partitions each node currently leads; missing nodes lead none. */
  leaderCounts: ReadonlyMap<number, number>;
  /** Varies the follower shift between topics; any integer, e.g. the number of topics. */
  shiftSeed: number;
}

/** Replica lists, leader first, for `partitionCount` new partitions in index order. */
export function placeReplicas(request: PlacementRequest): number[][] {
  const { nodes, replicationFactor } = request;
  invariant(replicationFactor >= 1, 'replication factor must be at least 1');
  invariant(nodes.length >= replicationFactor, 'fewer live nodes than the replication factor');

  const ring = rackAlternatingRing(nodes);
  const start = leastLoadedPosition(ring, request.leaderCounts);
  const placed: number[][] = [];

  for (let i = 0; i < request.partitionCount; i++) {
    const leaderAt = (start + i) % ring.length;
    const shift = followerShift(request.shiftSeed, i, ring.length);
    placed.push(replicasFor(ring, leaderAt, shift, replicationFactor));
  }
  return placed;
}

/**
 * Nodes ordered by id, then interleaved by rack (one of each rack in turn) so that neighbours on
 * the ring sit in different racks whenever possible. Nodes without a rack form one rack of their
 * own.
 */
export function rackAlternatingRing(nodes: readonly PlacementNode[]): PlacementNode[] {
  const byRack = new Map<string, PlacementNode[]>();
  const sorted = [...nodes].sort((a, b) => a.nodeId - b.nodeId);
  for (const node of sorted) {
    const rack = node.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), node]);
  }

  const racks = [...byRack.keys()].sort().map((rack) => byRack.get(rack)!);
  const ring: PlacementNode[] = [];
  for (let round = 0; ring.length < sorted.length; round++) {
    for (const members of racks) if (round < members.length) ring.push(members[round]);
  }
  return ring;
}

function leastLoadedPosition(
  ring: readonly PlacementNode[],
  leaderCounts: ReadonlyMap<number, number>,
) {
  let best = 0;
  for (let i = 1; i < ring.length; i++) {
    const load = leaderCounts.get(ring[i].nodeId) ?? 0;
    if (load < (leaderCounts.get(ring[best].nodeId) ?? 0)) best = i;
  }
  return best;
}

/** Grows by one each time the placed partitions have gone once round the ring. */
function followerShift(seed: number, placed: number, ringSize: number): number {
  if (ringSize <= 1) return 0;
  const wraps = Math.floor(placed / ringSize);
  return (((seed + wraps) % (ringSize - 1)) + (ringSize - 1)) % (ringSize - 1);
}

/**
 * The leader, then followers walking the ring from `shift` places after the leader. A follower in
 * a rack the partition does not use yet is taken before one in a rack it already uses.
 */
function replicasFor(
  ring: readonly PlacementNode[],
  leaderAt: number,
  shift: number,
  replicationFactor: number,
): number[] {
  const leader = ring[leaderAt];
  const candidates: PlacementNode[] = [];
  for (let step = 0; step < ring.length - 1; step++) {
    candidates.push(ring[(leaderAt + 1 + ((shift + step) % (ring.length - 1))) % ring.length]);
  }

  const chosen = [leader];
  const racksUsed = new Set([leader.rack ?? '']);
  while (chosen.length < replicationFactor) {
    const fresh = candidates.find((n) => !chosen.includes(n) && !racksUsed.has(n.rack ?? ''));
    const next = fresh ?? candidates.find((n) => !chosen.includes(n))!;
    chosen.push(next);
    racksUsed.add(next.rack ?? '');
  }
  return chosen.map((n) => n.nodeId);
}
