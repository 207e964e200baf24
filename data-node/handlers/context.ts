// What every Kafka API handler is given: the data node's state (metadata view, partitions, the
// controller client) and the request's own context, plus the shape a handler has. Handlers are
// plain objects registered in the dispatcher's table, one file per API.
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Encodable } from '../../shared/protocol/index.ts';
import type { ControllerClient } from '../controller-client.ts';
import type { DataNodeConfig } from '../config.ts';
import type { ProducerIdAllocator } from '../producer-ids.ts';
import type { ReplicaManager } from '../replica-manager.ts';
import type { ConnectionInfo } from '../server.ts';

export interface NodeContext {
  readonly nodeId: number;
  readonly config: DataNodeConfig;
  readonly replicas: ReplicaManager;
  readonly controller: ControllerClient;
  readonly logger: Logger;
  /** Serves InitProducerId; a node without one does not advertise the API. */
  readonly producerIds?: ProducerIdAllocator;
  /** The current metadata view (version 0 before the first one arrives). */
  metadata(): ClusterSnapshot;
  /** Resolves true once a metadata view satisfies `until`, false after `timeoutMs`. */
  awaitMetadata(until: (view: ClusterSnapshot) => boolean, timeoutMs: number): Promise<boolean>;
}

export interface RequestContext {
  readonly node: NodeContext;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly clientHost: string;
  readonly connection: ConnectionInfo;
}

/** Returned by a handler when Kafka sends no response (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no response');

/**
 * Thrown by a handler when Kafka closes the connection instead of answering, e.g. a failed
 * Produce with acks=0: the client learns of the failure only by the closed connection.
 */
export class CloseConnection extends Error {
  override name = 'CloseConnection';
}

export interface ApiHandler<Req, Res> {
  readonly apiKey: number;
  /** Versions served, when narrower than those advertised; others get UNSUPPORTED_VERSION. */
  readonly servedVersions?: { min: number; max: number };
  handle(request: Req, ctx: RequestContext): Promise<Encodable<Res> | typeof NO_RESPONSE>;
  /**
   * The answer that reports `code` in every error field of the response: used for versions not
   * served and for failures that escape the handler.
   */
  errorResponse(request: Req, code: number, message: string): Encodable<Res>;
}
