// DescribeCluster (key 60): the cluster id, the live data nodes and the node that takes admin
// requests (this one, as in Metadata). Consoles and admin tools call it before anything else.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../shared/protocol/index.ts';
import type { ApiHandler } from './context.ts';
import { controllerIdFor } from './metadata.ts';

const BROKERS_ENDPOINT = 1;

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: ApiKey.DescribeCluster,

  async handle(request, ctx) {
    if (request.endpointType !== BROKERS_ENDPOINT) {
      return this.errorResponse(
        request,
        ErrorCode.INVALID_REQUEST,
        'only broker endpoints are described',
      );
    }

    const view = ctx.node.metadata();
    const brokers = view.dataNodes
      .filter((n) => !n.fenced)
      .map((n) => ({ brokerId: n.nodeId, host: n.host, port: n.kafkaPort, rack: n.rack }));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: BROKERS_ENDPOINT,
      clusterId: view.clusterId,
      controllerId: controllerIdFor(view, ctx.node.nodeId),
      brokers,
    };
  },

  errorResponse(_request, code, message) {
    return {
      throttleTimeMs: 0,
      errorCode: code,
      errorMessage: message,
      clusterId: '',
      brokers: [],
    };
  },
};
