// The Kafka wire codec: API keys and advertised versions, request and response frames, and the
// body types of every API. Each API is described once in apis/ (fields with version ranges) and
// encoded and decoded from that description; see docs/protocol.md.
export {
  ApiKey,
  MIN_SERVED_PRODUCE_VERSION,
  SUPPORTED_VERSIONS,
  isVersionSupported,
} from './api-keys.ts';
export type { VersionBounds } from './api-keys.ts';
export { API_SPECS } from './apis/index.ts';
export { ProtocolError } from './errors.ts';
export {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isFlexible,
  readRequestBody,
  readResponse,
} from './frames.ts';
export type { RequestHeader } from './frames.ts';
export * from './messages.ts';
export { ZERO_UUID } from './schema.ts';
export type { ApiSpec, Encodable } from './schema.ts';
