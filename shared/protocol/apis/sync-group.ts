// SyncGroup (key 14), versions 0-5: the leader hands out assignments; every member gets its own.
import { api, array, field, bytes, int16, int32, string } from '../schema.ts';

export const SyncGroupApi = api({
  key: 14,
  name: 'SyncGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: string,
    generationId: int32,
    memberId: string,
    groupInstanceId: field(string, '3+', { nullable: true }),
    protocolType: field(string, '5+', { nullable: true }),
    protocolName: field(string, '5+', { nullable: true }),
    assignments: array({ memberId: string, assignment: bytes }),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: int16,
    protocolType: field(string, '5+', { nullable: true }),
    protocolName: field(string, '5+', { nullable: true }),
    assignment: bytes,
  },
});
