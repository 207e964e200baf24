// Heartbeat (key 12), versions 0-4: a member proves it is alive and learns of rebalances.
import { api, field, int16, int32, string } from '../schema.ts';

export const HeartbeatApi = api({
  key: 12,
  name: 'Heartbeat',
  versions: '0-4',
  flexible: '4+',
  request: {
    groupId: string,
    generationId: int32,
    memberId: string,
    groupInstanceId: field(string, '3+', { nullable: true }),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: int16,
  },
});
