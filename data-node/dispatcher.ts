// The one place that branches on the API key. For each request frame it decodes the header,
// finds the handler, checks the version, decodes the body, runs the handler and encodes the
// answer, and turns every failure into a verdict for the server: an error response where Kafka
// gives one, a closed connection where it does not (malformed bytes, an unknown API key, a
// version the codec cannot read). Nothing thrown here reaches the socket layer.
//
// Ordering: up to the handler call there is no await once the node is open, so handlers start in
// the order the frames arrived; the produce handler relies on that to keep appends in order.
import { ErrorCode, KafkaError, errorName } from '../shared/kafka-errors.ts';
import type { Logger } from '../shared/logger.ts';
import {
  ApiKey,
  SUPPORTED_VERSIONS,
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponse,
  type RequestHeader,
  type VersionBounds,
} from '../shared/protocol/index.ts';
import { advertisedRanges, apiVersionsHandler, type ApiRange } from './handlers/api-versions.ts';
import {
  CloseConnection,
  NO_RESPONSE,
  type ApiHandler,
  type NodeContext,
  type RequestContext,
} from './handlers/context.ts';
import { createPartitionsHandler } from './handlers/create-partitions.ts';
import { createTopicsHandler } from './handlers/create-topics.ts';
import { deleteTopicsHandler } from './handlers/delete-topics.ts';
import { describeClusterHandler } from './handlers/describe-cluster.ts';
import { describeConfigsHandler } from './handlers/describe-configs.ts';
import { fetchHandler } from './handlers/fetch.ts';
import { offsetDeleteHandler } from './groups/offset-delete.ts';
import { groupHandlers, type GroupService } from './handlers/groups.ts';
import { initProducerIdHandler } from './handlers/init-producer-id.ts';
import { listOffsetsHandler } from './handlers/list-offsets.ts';
import { metadataHandler } from './handlers/metadata.ts';
import { offsetForLeaderEpochHandler } from './handlers/offset-for-leader-epoch.ts';
import { produceHandler } from './handlers/produce.ts';
import type { ConnectionInfo, FrameHandler, Reply } from './server.ts';

// Handlers are stored without their body types; each one's types are checked where it is written.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyHandler = ApiHandler<any, any>;

const SILENT: Reply = { kind: 'silent' };

export class Dispatcher {
  private readonly routes = new Map<number, AnyHandler>();
  private readonly ranges: ApiRange[];
  private isOpen = false;
  private readonly opened: Promise<void>;
  private openGate!: () => void;

  constructor(
    private readonly node: NodeContext,
    groups: GroupService,
    private readonly logger: Logger,
  ) {
    const handlers: AnyHandler[] = [
      produceHandler,
      fetchHandler,
      listOffsetsHandler,
      metadataHandler,
      offsetForLeaderEpochHandler,
      createTopicsHandler,
      deleteTopicsHandler,
      describeConfigsHandler,
      describeClusterHandler,
      createPartitionsHandler,
      ...groupHandlers(groups),
      offsetDeleteHandler(groups),
      ...(node.producerIds ? [initProducerIdHandler(node.producerIds)] : []),
    ];
    for (const handler of handlers) this.routes.set(handler.apiKey, handler);

    this.ranges = advertisedRanges(advertisedVersions([...this.routes.keys(), ApiKey.ApiVersions]));
    this.routes.set(ApiKey.ApiVersions, apiVersionsHandler(this.ranges));
    this.opened = new Promise((resolve) => (this.openGate = resolve));
  }

  /** Lets requests through; until then (registration, first metadata) they wait. */
  open(): void {
    this.isOpen = true;
    this.openGate();
  }

  readonly handle: FrameHandler = (frame, connection) =>
    this.dispatch(frame, connection).catch((err: unknown) => {
      this.logger.error({ err }, 'request failed unexpectedly');
      return { kind: 'close', reason: 'internal error' } as const;
    });

  private async dispatch(frame: Buffer, connection: ConnectionInfo): Promise<Reply> {
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(frame);
    } catch (err) {
      return close(`malformed request header: ${(err as Error).message}`);
    }

    const handler = this.routes.get(header.apiKey);
    if (handler === undefined) return close(`unknown api key ${header.apiKey}`);

    const advertised = SUPPORTED_VERSIONS.get(header.apiKey);
    if (advertised === undefined) return close(`api key ${header.apiKey} is not advertised`);
    if (header.apiKey === ApiKey.ApiVersions && !within(advertised, header.apiVersion)) {
      return this.unsupportedApiVersions(header);
    }
    if (!this.isOpen) await this.opened;

    let body: unknown;
    try {
      body = decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
    } catch (err) {
      return close(`cannot decode api ${header.apiKey} v${header.apiVersion}: ${String(err)}`);
    }

    const ctx: RequestContext = {
      node: this.node,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      clientHost: connection.clientHost,
      connection,
    };
    const answer = await this.run(handler, header, body, ctx, advertised);
    if (answer === NO_RESPONSE) return SILENT;
    if (answer instanceof CloseConnection) return close(answer.message);
    return this.encode(header, answer);
  }

  /** The handler's answer, or its error response when the version is not served or it failed. */
  private async run(
    handler: AnyHandler,
    header: RequestHeader,
    body: unknown,
    ctx: RequestContext,
    advertised: VersionBounds,
  ): Promise<unknown> {
    const served = handler.servedVersions ?? advertised;
    if (!within(served, header.apiVersion)) {
      const message = `version ${header.apiVersion} not served`;
      return handler.errorResponse(body, ErrorCode.UNSUPPORTED_VERSION, message);
    }

    try {
      return await handler.handle(body, ctx);
    } catch (err) {
      if (err instanceof CloseConnection) return err;

      const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      const fields = {
        apiKey: header.apiKey,
        apiVersion: header.apiVersion,
        code: errorName(code),
      };
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR)
        this.logger.error({ ...fields, err }, 'handler failed');
      else this.logger.debug({ ...fields, err: String(err) }, 'request refused');
      return handler.errorResponse(body, code, (err as Error).message);
    }
  }

  private encode(header: RequestHeader, answer: unknown): Reply {
    try {
      const bytes = encodeResponse(header.apiKey, header.apiVersion, header.correlationId, answer);
      return { kind: 'respond', bytes };
    } catch (err) {
      this.logger.error({ err, apiKey: header.apiKey }, 'cannot encode response');
      return close('cannot encode response');
    }
  }

  /** Case P1: a version-0 body with UNSUPPORTED_VERSION and every range we serve. */
  private unsupportedApiVersions(header: RequestHeader): Reply {
    const body = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.ranges };
    return {
      kind: 'respond',
      bytes: encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, body),
    };
  }
}

/** The advertised ranges of the API keys that have a handler. */
function advertisedVersions(keys: number[]): Map<number, VersionBounds> {
  const ranges = new Map<number, VersionBounds>();
  for (const key of keys) {
    const range = SUPPORTED_VERSIONS.get(key);
    if (range !== undefined) ranges.set(key, range);
  }
  return ranges;
}

function within(range: VersionBounds, version: number): boolean {
  return version >= range.min && version <= range.max;
}

function close(reason: string): Reply {
  return { kind: 'close', reason };
}
