// Data node liveness as the leader controller sees it: when each node last heartbeated under its
// current broker epoch, whether its presence connection (a request it keeps open to the leader)
// is still up, and what it last reported about its partitions. This is memory only and
// lives on the leader; the decision it leads to (fence a node) enters the log as a command, so
// followers never judge liveness by their own clocks. Time is passed in (a monotonic clock in
// ms), which keeps this class free of timers and easy to test.
//
// Known shortcoming: the reported log end offsets are not kept anywhere else, so after a
// controller restart (or a change of leader) the admin API shows none until each data node has
// heartbeated again.
import type { DataNodeRecord } from '../shared/cluster-metadata.ts';
import { partitionKey } from '../shared/ids.ts';

export interface PartitionReport {
  topic: string;
  partition: number;
  logEndOffset: bigint;
  sizeBytes: number;
}

interface Session {
  brokerEpoch: number;
  lastHeartbeatMs: number;
  /** Wall-clock time of the last heartbeat, for people reading the admin API. */
  lastHeartbeatAtMs: number | null;
  /** Presence connections open now under this broker epoch. */
  presenceOpen: number;
  /**
   * When the last presence connection closed without an answer (the node's process died, or it
   * cut the request), null while one is open or a heartbeat came since.
   */
  presenceLostMs: number | null;
}

export interface ReplicaReport {
  nodeId: number;
  logEndOffset: bigint;
  sizeBytes: number;
}

export class DataNodeSessions {
  private readonly sessions = new Map<number, Session>();
  /** partitionKey -> nodeId -> latest report from that replica. */
  private readonly reports = new Map<string, Map<number, ReplicaReport>>();

  /** A registration or heartbeat under `brokerEpoch` at monotonic time `nowMs`. */
  heartbeat(nodeId: number, brokerEpoch: number, nowMs: number, wallMs: number | null): void {
    const session = this.sessions.get(nodeId);
    const presenceOpen = session?.brokerEpoch === brokerEpoch ? session.presenceOpen : 0;
    this.sessions.set(nodeId, {
      brokerEpoch,
      lastHeartbeatMs: nowMs,
      lastHeartbeatAtMs: wallMs,
      presenceOpen,
      presenceLostMs: null,
    });
  }

  /** The node opened a presence connection: it counts as a heartbeat. */
  presenceOpened(nodeId: number, brokerEpoch: number, nowMs: number, wallMs: number): void {
    this.heartbeat(nodeId, brokerEpoch, nowMs, wallMs);
    this.sessions.get(nodeId)!.presenceOpen += 1;
  }

  /**
   * A presence connection ended: answered (`lost` false) or closed by the other side before its
   * answer (`lost` true). Losing the last one open starts a short grace, not a full session.
   */
  presenceClosed(nodeId: number, brokerEpoch: number, lost: boolean, nowMs: number): void {
    const session = this.sessions.get(nodeId);
    if (session === undefined || session.brokerEpoch !== brokerEpoch) return;

    session.presenceOpen = Math.max(0, session.presenceOpen - 1);
    if (lost && session.presenceOpen === 0) session.presenceLostMs = nowMs;
  }

  /** Replaces what `nodeId` reported before: partitions it no longer hosts drop out. */
  report(nodeId: number, partitions: readonly PartitionReport[]): void {
    for (const byNode of this.reports.values()) byNode.delete(nodeId);

    for (const { topic, partition, logEndOffset, sizeBytes } of partitions) {
      const key = partitionKey(topic, partition);
      const byNode = this.reports.get(key) ?? new Map<number, ReplicaReport>();
      byNode.set(nodeId, { nodeId, logEndOffset, sizeBytes });
      this.reports.set(key, byNode);
    }
  }

  /** What each replica of a partition last reported, by node id. */
  replicaReports(topic: string, partition: number): ReadonlyMap<number, ReplicaReport> {
    return this.reports.get(partitionKey(topic, partition)) ?? new Map();
  }

  /** Presence connections `nodeId` holds open here under `brokerEpoch`. */
  presenceOpen(nodeId: number, brokerEpoch: number): number {
    const session = this.sessions.get(nodeId);
    return session?.brokerEpoch === brokerEpoch ? session.presenceOpen : 0;
  }

  /** Whether the node's last presence connection was cut and it has not shown itself since. */
  presenceLost(nodeId: number): boolean {
    return (this.sessions.get(nodeId)?.presenceLostMs ?? null) !== null;
  }

  lastHeartbeatAt(nodeId: number): number | null {
    return this.sessions.get(nodeId)?.lastHeartbeatAtMs ?? null;
  }

  /**
   * Starts a fresh session for every node, as a controller does when it becomes leader: it has
   * not watched them before, so each gets a full timeout to heartbeat to it.
   */
  restartAll(nodes: readonly DataNodeRecord[], nowMs: number): void {
    const known = new Set(nodes.map((n) => n.nodeId));
    for (const nodeId of [...this.sessions.keys()]) {
      if (!known.has(nodeId)) this.sessions.delete(nodeId);
    }

    // Presence connections still open here stay counted; only the clocks start again.
    for (const node of nodes) this.heartbeat(node.nodeId, node.brokerEpoch, nowMs, null);
  }

  /**
   * Unfenced nodes whose session under their current broker epoch has lapsed: silent for
   * `timeoutMs`, or silent for `presenceGraceMs` since their presence connection was lost. A node
   * this controller has no session for (registered elsewhere, or under another epoch) starts one.
   */
  expired(
    nodes: readonly DataNodeRecord[],
    nowMs: number,
    timeoutMs: number,
    presenceGraceMs: number = timeoutMs,
  ): DataNodeRecord[] {
    const lapsed: DataNodeRecord[] = [];

    for (const node of nodes) {
      if (node.fenced) continue;
      const session = this.sessions.get(node.nodeId);
      if (session === undefined || session.brokerEpoch !== node.brokerEpoch) {
        this.heartbeat(node.nodeId, node.brokerEpoch, nowMs, null);
      } else if (nowMs - session.lastHeartbeatMs > timeoutMs) {
        lapsed.push(node);
      } else if (
        session.presenceLostMs !== null &&
        nowMs - session.presenceLostMs >= presenceGraceMs
      ) {
        lapsed.push(node);
      }
    }
    return lapsed;
  }
}
