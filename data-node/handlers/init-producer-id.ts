// InitProducerId (key 22, versions 0-5): a producer id and epoch for an idempotent producer. Ids
// come from blocks the controller allocates (data-node/producer-ids.ts), unique in the cluster, so
// any data node may answer. As in Kafka, a producer without a transactional id always gets a new
// id at epoch 0, even when it names the one it had (v3+). Transactions are not supported: a
// transactional id is refused with INVALID_REQUEST.
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../shared/protocol/index.ts';
import type { ProducerIdAllocator } from '../producer-ids.ts';
import type { ApiHandler } from './context.ts';

export function initProducerIdHandler(
  allocator: ProducerIdAllocator,
): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  return {
    apiKey: ApiKey.InitProducerId,

    async handle(request, ctx) {
      if (request.transactionalId !== null) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, 'transactions are not supported');
      }

      const producerId = await allocator.allocate();
      ctx.node.logger.debug({ producerId: String(producerId) }, 'producer id allocated');
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    },

    errorResponse(_request, code) {
      return { throttleTimeMs: 0, errorCode: code, producerId: -1n, producerEpoch: -1 };
    },
  };
}
