// SaslAuthenticate (key 36), versions 0-2: carries SASL tokens after a v1 SaslHandshake.
import { api, bytes, field, int16, int64, string } from '../schema.ts';

export const SaslAuthenticateApi = api({
  key: 36,
  name: 'SaslAuthenticate',
  versions: '0-2',
  flexible: '2+',
  request: {
    authBytes: bytes,
  },
  response: {
    errorCode: int16,
    errorMessage: field(string, '0+', { nullable: true }),
    authBytes: bytes,
    sessionLifetimeMs: field(int64, '1+'),
  },
});
