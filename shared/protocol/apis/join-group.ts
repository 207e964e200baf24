// JoinGroup (key 11), versions 0-9: a member joins a classic consumer group. Protocol metadata is
// opaque bytes owned by the client's assignor.
import { api, array, field, bool, bytes, int16, int32, string } from '../schema.ts';

export const JoinGroupApi = api({
  key: 11,
  name: 'JoinGroup',
  versions: '0-9',
  flexible: '6+',
  request: {
    groupId: string,
    sessionTimeoutMs: int32,
    rebalanceTimeoutMs: field(int32, '1+', { default: -1 }),
    memberId: string,
    groupInstanceId: field(string, '5+', { nullable: true }),
    protocolType: string,
    protocols: array({ name: string, metadata: bytes }),
    reason: field(string, '8+', { nullable: true }),
  },
  response: {
    throttleTimeMs: field(int32, '2+'),
    errorCode: int16,
    generationId: field(int32, '0+', { default: -1 }),
    protocolType: field(string, '7+', { nullable: true }),
    protocolName: field(string, '0+', { nullable: '7+' }),
    leader: string,
    skipAssignment: field(bool, '9+'),
    memberId: string,
    members: array({
      memberId: string,
      groupInstanceId: field(string, '5+', { nullable: true }),
      metadata: bytes,
    }),
  },
});
