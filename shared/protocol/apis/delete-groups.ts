// DeleteGroups (key 42), versions 0-2: removes empty groups and their committed offsets.
import { api, array, int16, int32, string } from '../schema.ts';

export const DeleteGroupsApi = api({
  key: 42,
  name: 'DeleteGroups',
  versions: '0-2',
  flexible: '2+',
  request: {
    groupsNames: array(string),
  },
  response: {
    throttleTimeMs: int32,
    results: array({ groupId: string, errorCode: int16 }),
  },
});
