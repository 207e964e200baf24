// ListGroups (key 16), versions 0-5: the groups a coordinator knows, optionally filtered by state
// (v4+) and type (v5+).
import { api, array, field, int16, int32, string } from '../schema.ts';

export const ListGroupsApi = api({
  key: 16,
  name: 'ListGroups',
  versions: '0-5',
  flexible: '3+',
  request: {
    statesFilter: field(array(string), '4+'),
    typesFilter: field(array(string), '5+'),
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    errorCode: int16,
    groups: array({
      groupId: string,
      protocolType: string,
      groupState: field(string, '4+'),
      groupType: field(string, '5+'),
    }),
  },
});
