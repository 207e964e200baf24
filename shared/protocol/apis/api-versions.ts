// ApiVersions (key 18), versions 0-4: the first request of every connection. A broker answers an
// unknown version with a v0 body (error UNSUPPORTED_VERSION plus its ranges), and the response
// header is always v0 even when the request is flexible (see frames.ts).
import { api, array, field, int16, int32, int64, bool, string } from '../schema.ts';

export const ApiVersionsApi = api({
  key: 18,
  name: 'ApiVersions',
  versions: '0-4',
  flexible: '3+',
  request: {
    clientSoftwareName: field(string, '3+'),
    clientSoftwareVersion: field(string, '3+'),
  },
  response: {
    errorCode: int16,
    apiKeys: array({ apiKey: int16, minVersion: int16, maxVersion: int16 }),
    throttleTimeMs: field(int32, '1+'),
    supportedFeatures: field(array({ name: string, minVersion: int16, maxVersion: int16 }), '3+', {
      tag: 0,
    }),
    finalizedFeaturesEpoch: field(int64, '3+', { tag: 1, default: -1n }),
    finalizedFeatures: field(
      array({ name: string, maxVersionLevel: int16, minVersionLevel: int16 }),
      '3+',
      { tag: 2 },
    ),
    zkMigrationReady: field(bool, '3+', { tag: 3, default: false }),
  },
});
