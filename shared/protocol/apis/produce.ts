// Produce (key 0), versions 0-11. The records of each partition are opaque bytes: the codec hands
// the handler a view of the request frame and never re-encodes a batch. Versions 0-2 carry old
// message sets, which the handler refuses; the codec itself reads every version alike.
import { api, array, field, int16, int32, int64, records, string, struct } from '../schema.ts';

export const ProduceApi = api({
  key: 0,
  name: 'Produce',
  versions: '0-11',
  flexible: '9+',
  request: {
    transactionalId: field(string, '3+', { nullable: '3+' }),
    acks: int16,
    timeoutMs: int32,
    topicData: array({
      name: string,
      partitionData: array({ index: int32, records: field(records, '0+', { nullable: true }) }),
    }),
  },
  response: {
    responses: array({
      name: string,
      partitionResponses: array({
        index: int32,
        errorCode: int16,
        baseOffset: int64,
        logAppendTimeMs: field(int64, '2+', { default: -1n }),
        logStartOffset: field(int64, '5+', { default: -1n }),
        recordErrors: field(
          array({
            batchIndex: int32,
            batchIndexErrorMessage: field(string, '8+', { nullable: true }),
          }),
          '8+',
        ),
        errorMessage: field(string, '8+', { nullable: true }),
        currentLeader: field(
          struct({
            leaderId: field(int32, '10+', { default: -1 }),
            leaderEpoch: field(int32, '10+', { default: -1 }),
          }),
          '10+',
          { tag: 0 },
        ),
      }),
    }),
    throttleTimeMs: field(int32, '1+'),
    nodeEndpoints: field(
      array({
        nodeId: int32,
        host: string,
        port: int32,
        rack: field(string, '0+', { nullable: true }),
      }),
      '10+',
      { tag: 0 },
    ),
  },
});
