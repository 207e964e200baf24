// DescribeGroups (key 15), versions 0-5: state, protocol and members of classic groups.
import { api, array, field, bool, bytes, int16, int32, string } from '../schema.ts';

export const DescribeGroupsApi = api({
  key: 15,
  name: 'DescribeGroups',
  versions: '0-5',
  flexible: '5+',
  request: {
    groups: array(string),
    includeAuthorizedOperations: field(bool, '3+'),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    groups: array({
      errorCode: int16,
      groupId: string,
      groupState: string,
      protocolType: string,
      protocolData: string,
      members: array({
        memberId: string,
        groupInstanceId: field(string, '4+', { nullable: true }),
        clientId: string,
        clientHost: string,
        memberMetadata: bytes,
        memberAssignment: bytes,
      }),
      authorizedOperations: field(int32, '3+', { default: -2147483648 }),
    }),
  },
});
