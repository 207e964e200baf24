// SaslHandshake (key 17), versions 0-1: picks a SASL mechanism. It has no flexible version.
import { api, array, int16, string } from '../schema.ts';

export const SaslHandshakeApi = api({
  key: 17,
  name: 'SaslHandshake',
  versions: '0-1',
  flexible: 'none',
  request: {
    mechanism: string,
  },
  response: {
    errorCode: int16,
    mechanisms: array(string),
  },
});
