// AlterConfigs (key 33), versions 0-2: replaces a resource's configs wholesale (the older,
// non-incremental form that librdkafka and kafkajs still send).
import { api, array, bool, field, int8, int16, int32, string } from '../schema.ts';

export const AlterConfigsApi = api({
  key: 33,
  name: 'AlterConfigs',
  versions: '0-2',
  flexible: '2+',
  request: {
    resources: array({
      resourceType: int8,
      resourceName: string,
      configs: array({ name: string, value: field(string, '0+', { nullable: true }) }),
    }),
    validateOnly: bool,
  },
  response: {
    throttleTimeMs: int32,
    responses: array({
      errorCode: int16,
      errorMessage: field(string, '0+', { nullable: true }),
      resourceType: int8,
      resourceName: string,
    }),
  },
});
