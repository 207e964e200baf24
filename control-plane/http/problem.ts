// Errors as HTTP answers: application/problem+json (RFC 9457) with `title`, `status`, `detail`,
// the request `field` at fault when there is one, and `kafkaErrorCode` so that a data node can
// hand its Kafka client the right error. Every failure path of the API ends here.
import type { ZodError } from 'zod';
import { HTTPException } from 'hono/http-exception';
import { errorName, ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { NotLeaderError } from '../command-log.ts';
import { CommandRejected, ControllerErrorCode, type RejectionReason } from '../commands.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  kafkaErrorCode?: number;
  leaderId?: number;
  leaderAdminUrl?: string;
}

const STATUS_BY_REASON: Record<RejectionReason, number> = {
  clusterIdMismatch: 409,
  invalidTopicName: 400,
  topicNameCollision: 400,
  topicExists: 409,
  topicIdExists: 409,
  invalidConfig: 400,
  invalidPartitions: 400,
  invalidReplicationFactor: 400,
  unknownTopic: 404,
  unknownPartition: 404,
  unknownDataNode: 404,
  staleBrokerEpoch: 409,
  notLeader: 409,
  fencedLeaderEpoch: 409,
  stalePartitionEpoch: 409,
  invalidIsr: 400,
  ineligibleReplica: 400,
  notCoordinator: 409,
  tooManyPresenceRequests: 429,
  lateOffsetWrite: 409,
};

/** Kafka codes that shared/kafka-errors.ts does not name yet, for titles. */
const EXTRA_NAMES = new Map<number, string>(
  Object.entries(ControllerErrorCode).map(([name, code]) => [code, name]),
);

function titleFor(code: number): string {
  return (EXTRA_NAMES.get(code) ?? errorName(code)).toLowerCase().replaceAll('_', ' ');
}

function kebab(text: string): string {
  return text.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

export function problemResponse(problem: Problem): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

/** A request that failed its zod schema; `fieldCodes` maps a top-level field to a Kafka code. */
export class RequestInvalid extends Error {
  override name = 'RequestInvalid';

  constructor(
    readonly error: ZodError,
    readonly fieldCodes: Readonly<Record<string, number>> = {},
  ) {
    super(error.message);
  }
}

/** A validation hook for a route: throws RequestInvalid, which the error handler answers. */
export function refuseInvalid(fieldCodes: Readonly<Record<string, number>> = {}) {
  return (result: { success: true } | { success: false; error: ZodError }): undefined => {
    if (!result.success) throw new RequestInvalid(result.error, fieldCodes);
  };
}

function validationProblem(
  error: ZodError,
  fieldCodes: Readonly<Record<string, number>> = {},
): Problem {
  const first = error.issues[0];
  const field = first?.path.map(String).join('.') ?? '';
  const detail = error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
    .join('; ');

  const problem: Problem = {
    type: 'urn:weir:problem:invalid-request',
    title: 'invalid request',
    status: 400,
    detail,
    kafkaErrorCode: fieldCodes[String(first?.path[0])] ?? ErrorCode.INVALID_REQUEST,
  };
  if (field !== '') problem.field = field;
  return problem;
}

/** Any error thrown by a handler, as the problem the client sees; unexpected ones are logged. */
export function problemFor(err: unknown, logger: Logger): Problem {
  if (err instanceof RequestInvalid) return validationProblem(err.error, err.fieldCodes);

  if (err instanceof CommandRejected) {
    const { reason, errorCode, message, field } = err.rejection;
    const problem: Problem = {
      type: `urn:weir:problem:${kebab(reason)}`,
      title: titleFor(errorCode),
      status: STATUS_BY_REASON[reason],
      detail: message,
      kafkaErrorCode: errorCode,
    };
    if (field !== undefined) problem.field = field;
    return problem;
  }

  if (err instanceof NotLeaderError) {
    const problem: Problem = {
      type: 'urn:weir:problem:not-leader',
      title: 'not controller',
      status: 503,
      detail: err.message,
      kafkaErrorCode: err.code,
    };
    if (err.leader !== null) problem.leaderId = err.leader.controllerId;
    if (err.leader?.adminUrl) problem.leaderAdminUrl = err.leader.adminUrl;
    return problem;
  }

  if (err instanceof KafkaError) {
    return {
      type: `urn:weir:problem:${errorName(err.code).toLowerCase().replaceAll('_', '-')}`,
      title: titleFor(err.code),
      status: err.retriable ? 503 : 400,
      detail: err.message,
      kafkaErrorCode: err.code,
    };
  }

  if (err instanceof HTTPException) {
    return {
      type: 'urn:weir:problem:http',
      title: err.status === 400 ? 'invalid request' : 'request refused',
      status: err.status,
      detail: err.message,
    };
  }

  logger.error({ err }, 'request failed');
  return {
    type: 'urn:weir:problem:internal',
    title: 'internal error',
    status: 500,
    detail: 'the controller failed to handle the request; its log has the details',
    kafkaErrorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
  };
}
