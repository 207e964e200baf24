// DescribeCluster (key 60), versions 0-1: cluster id, controller and brokers, for admin tools.
// Flexible in every version.
import { api, array, bool, field, int8, int16, int32, string } from '../schema.ts';

export const DescribeClusterApi = api({
  key: 60,
  name: 'DescribeCluster',
  versions: '0-1',
  flexible: '0+',
  request: {
    includeClusterAuthorizedOperations: bool,
    endpointType: field(int8, '1+', { default: 1 }),
  },
  response: {
    throttleTimeMs: int32,
    errorCode: int16,
    errorMessage: field(string, '0+', { nullable: true }),
    endpointType: field(int8, '1+', { default: 1 }),
    clusterId: string,
    controllerId: field(int32, '0+', { default: -1 }),
    brokers: array({
      brokerId: int32,
      host: string,
      port: int32,
      rack: field(string, '0+', { nullable: true }),
    }),
    clusterAuthorizedOperations: field(int32, '0+', { default: -2147483648 }),
  },
});
