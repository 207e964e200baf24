// DeleteTopics (key 20), versions 0-6. v6 names topics by name or by id in `topics`; earlier
// versions send `topicNames`.
import { api, array, field, int16, int32, string, uuid } from '../schema.ts';

export const DeleteTopicsApi = api({
  key: 20,
  name: 'DeleteTopics',
  versions: '0-6',
  flexible: '4+',
  request: {
    topics: field(array({ name: field(string, '6+', { nullable: true }), topicId: uuid }), '6+'),
    topicNames: field(array(string), '0-5'),
    timeoutMs: int32,
  },
  response: {
    throttleTimeMs: field(int32, '1+'),
    responses: array({
      name: field(string, '0+', { nullable: '6+' }),
      topicId: field(uuid, '6+'),
      errorCode: int16,
      errorMessage: field(string, '5+', { nullable: true }),
    }),
  },
});
