// LeaveGroup (key 13), versions 0-5. Up to v2 one member leaves; from v3 a batch of members does,
// each answered separately.
import { api, array, field, int16, int32, string } from '../schema.ts';

export const LeaveGroupApi = api({
  key: 13,
  name: 'LeaveGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: string,
    memberId: field(string, '0-2'),
    members: field(
      array({
        memberId: string,
        groupInstanceId: field(string, '0+', { nullable: true }),
        reason: field(string, '5+', { nullable: true }),
      }),
      '3+',
    ),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: int16,
    members: field(
      array({
        memberId: string,
        groupInstanceId: field(string, '0+', { nullable: true }),
        errorCode: int16,
      }),
      '3+',
    ),
  },
});
