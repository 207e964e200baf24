// InitProducerId (key 22), versions 0-5: a producer id and epoch for idempotent or transactional
// producers. From v3 a producer may ask to bump the epoch of the id it already holds.
import { api, field, int16, int32, int64, string } from '../schema.ts';

export const InitProducerIdApi = api({
  key: 22,
  name: 'InitProducerId',
  versions: '0-5',
  flexible: '2+',
  request: {
    transactionalId: field(string, '0+', { nullable: true }),
    transactionTimeoutMs: int32,
    producerId: field(int64, '3+', { default: -1n }),
    producerEpoch: field(int16, '3+', { default: -1 }),
  },
  response: {
    throttleTimeMs: int32,
    errorCode: int16,
    producerId: field(int64, '0+', { default: -1n }),
    producerEpoch: int16,
  },
});
