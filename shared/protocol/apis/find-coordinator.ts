// FindCoordinator (key 10), versions 0-6: which data node coordinates a group (key type 0) or a
// transactional id (1). From v4 a request asks about several keys and gets one answer per key.
import { api, array, field, int8, int16, int32, string } from '../schema.ts';

export const FindCoordinatorApi = api({
  key: 10,
  name: 'FindCoordinator',
  versions: '0-6',
  flexible: '3+',
  request: {
    key: field(string, '0-3'),
    keyType: field(int8, '1+'),
    coordinatorKeys: field(array(string), '4+'),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: field(int16, '0-3'),
    errorMessage: field(string, '1-3', { nullable: true }),
    nodeId: field(int32, '0-3'),
    host: field(string, '0-3'),
    port: field(int32, '0-3'),
    coordinators: field(
      array({
        key: string,
        nodeId: int32,
        host: string,
        port: int32,
        errorCode: int16,
        errorMessage: field(string, '0+', { nullable: true }),
      }),
      '4+',
    ),
  },
});
