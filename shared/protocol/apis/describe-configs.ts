// DescribeConfigs (key 32), versions 0-4: topic and broker configs. Resource types are Kafka's
// numbers (2 topic, 4 broker). v0 reports `isDefault`; v1 replaces it with `configSource`.
import { api, array, field, bool, int8, int16, int32, string } from '../schema.ts';

export const DescribeConfigsApi = api({
  key: 32,
  name: 'DescribeConfigs',
  versions: '0-4',
  flexible: '4+',
  request: {
    resources: array({
      resourceType: int8,
      resourceName: string,
      configurationKeys: field(array(string), '0+', { nullable: true }),
    }),
    includeSynonyms: field(bool, '1+'),
    includeDocumentation: field(bool, '3+'),
  },
  response: {
    throttleTimeMs: int32,
    results: array({
      errorCode: int16,
      errorMessage: field(string, '0+', { nullable: true }),
      resourceType: int8,
      resourceName: string,
      configs: array({
        name: string,
        value: field(string, '0+', { nullable: true }),
        readOnly: bool,
        isDefault: field(bool, '0'),
        configSource: field(int8, '1+', { default: -1 }),
        isSensitive: bool,
        synonyms: field(
          array({ name: string, value: field(string, '0+', { nullable: true }), source: int8 }),
          '1+',
        ),
        configType: field(int8, '3+'),
        documentation: field(string, '3+', { nullable: true }),
      }),
    }),
  },
});
