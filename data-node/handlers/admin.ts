// What the admin APIs the data node forwards to the controller (CreateTopics, DeleteTopics,
// CreatePartitions) share: mapping the controller's refusals to Kafka error codes (the controller
// names a code when one applies; otherwise the offending field or the HTTP status decides), and
// how long an answer waits for this node's metadata view to show the change.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import { ControllerProblem, ControllerUnavailable } from '../controller-client.ts';
import { errorOf } from './partitions.ts';

const CODE_BY_FIELD: Record<string, number> = {
  name: ErrorCode.INVALID_TOPIC_EXCEPTION,
  partitions: ErrorCode.INVALID_PARTITIONS,
  count: ErrorCode.INVALID_PARTITIONS,
  replicationFactor: ErrorCode.INVALID_REPLICATION_FACTOR,
  configs: ErrorCode.INVALID_CONFIG,
};

export function adminError(err: unknown): { code: number; message: string } {
  if (err instanceof ControllerUnavailable) {
    return { code: ErrorCode.REQUEST_TIMED_OUT, message: err.message };
  }
  if (!(err instanceof ControllerProblem)) return errorOf(err);

  if (err.kafkaErrorCode !== undefined) return { code: err.kafkaErrorCode, message: err.detail };
  const byField = err.field === undefined ? undefined : CODE_BY_FIELD[err.field.split('.')[0]!];
  if (byField !== undefined) return { code: byField, message: err.detail };
  if (err.status === 404)
    return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: err.detail };
  if (err.status === 409) return { code: ErrorCode.TOPIC_ALREADY_EXISTS, message: err.detail };
  return { code: ErrorCode.INVALID_REQUEST, message: err.detail };
}

/** An answer waits for the view at most this long, and never longer than the client allows. */
const VIEW_WAIT_MS_MAX = 10_000;

export function viewWaitMs(requestTimeoutMs: number): number {
  return Math.min(Math.max(requestTimeoutMs, 0), VIEW_WAIT_MS_MAX);
}
