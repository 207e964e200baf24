// What a data node sends the controllers about itself on the internal API, in one place for both
// sides: the controller's routes validate these bodies (control-plane/http/), the data node's
// controller client sends them (data-node/controller-client.ts). Offsets travel as decimal strings
// because JSON numbers cannot hold every int64.

/** A data node joining (or rejoining) the cluster; the answer names its broker epoch. */
export interface RegisterRequest {
  nodeId: number;
  host: string;
  kafkaPort: number;
  rack: string | null;
  /** A fresh id per process start: a restart is a new incarnation, with a new broker epoch. */
  incarnationId: string;
}

/** One partition replica as its data node reports it in a heartbeat. */
export interface ReplicaReportBody {
  topic: string;
  partition: number;
  /** Decimal int64. */
  logEndOffset: string;
  sizeBytes: number;
}

/** A heartbeat under the broker epoch of the node's current registration. */
export interface HeartbeatRequest<Report = ReplicaReportBody> {
  nodeId: number;
  brokerEpoch: number;
  partitions: Report[];
}

/** The presence request, held open by the leader controller for `holdMs`. */
export interface PresenceRequest {
  nodeId: number;
  brokerEpoch: number;
  /** How long to hold the request before answering; the node then opens the next one. */
  holdMs: number;
}
