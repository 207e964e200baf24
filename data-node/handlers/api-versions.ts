// ApiVersions (key 18): the API ranges this data node serves. A request at a version we do not
// know is answered by the dispatcher with a version-0 body carrying UNSUPPORTED_VERSION and the
// same list (case P1), so the client can retry at a version we share.
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  type VersionBounds,
} from '../../shared/protocol/index.ts';
import type { ApiHandler } from './context.ts';

export type ApiRange = { apiKey: number; minVersion: number; maxVersion: number };

/** The advertised ranges, sorted by API key. */
export function advertisedRanges(ranges: ReadonlyMap<number, VersionBounds>): ApiRange[] {
  return [...ranges]
    .sort(([a], [b]) => a - b)
    .map(([apiKey, { min, max }]) => ({ apiKey, minVersion: min, maxVersion: max }));
}

export function apiVersionsHandler(
  ranges: ApiRange[],
): ApiHandler<ApiVersionsRequest, ApiVersionsResponse> {
  return {
    apiKey: ApiKey.ApiVersions,

    async handle() {
      return { errorCode: ErrorCode.NONE, apiKeys: ranges, throttleTimeMs: 0 };
    },

    errorResponse(_request, code) {
      return { errorCode: code, apiKeys: ranges, throttleTimeMs: 0 };
    },
  };
}
