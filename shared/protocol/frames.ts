// Whole frames: request and response headers around a body, for both sides of a connection. The
// broker decodes the request header first (even for an API or version it does not know, so it can
// still answer), then the body; responses come back with the 4-byte size prefix included. Request
// headers are v1, or v2 (tagged fields) in flexible versions; response headers v0, or v1 in
// flexible versions, except ApiVersions whose response header is always v0.
import { invariant } from '../assert.ts';
import { ErrorCode } from '../kafka-errors.ts';
import { ApiKey } from './api-keys.ts';
import { API_SPECS } from './apis/index.ts';
import { messageCodec } from './compile.ts';
import { ProtocolError } from './errors.ts';
import type { RequestBody, ResponseBody } from './messages.ts';
import { Reader } from './reader.ts';
import { inRange, type ApiSpec, type Encodable } from './schema.ts';
import { Writer } from './writer.ts';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Where the body starts in the frame. */
  bodyOffset: number;
}

/**
 * Decodes a request header from a frame without its size prefix. For an unknown API key or
 * version the header is read as far as it can be (client id null if unreadable) rather than
 * refused, so the broker can answer UNSUPPORTED_VERSION with the right correlation id.
 */
export function decodeRequestHeader(frame: Buffer): RequestHeader {
  // Key, version and correlation id (8 bytes) are what a broker needs to answer at all.
  const r = new Reader(frame, 0);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();

  const spec = API_SPECS.get(apiKey);
  if (spec !== undefined && inRange(spec.versions, apiVersion)) {
    const clientId = readClientId(r);
    if (isFlexible(spec, apiVersion)) skipTaggedFields(r);
    return { apiKey, apiVersion, correlationId, clientId, bodyOffset: r.pos };
  }

  return readUnknownHeader(r, spec, apiKey, apiVersion, correlationId);
}

function readUnknownHeader(
  r: Reader,
  spec: ApiSpec<unknown, unknown> | undefined,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): RequestHeader {
  // A version above the newest we know is assumed as flexible as the newest one.
  const flexible =
    spec !== undefined && apiVersion > spec.versions.max && isFlexible(spec, apiVersion);
  const header = { apiKey, apiVersion, correlationId, clientId: null, bodyOffset: r.end };

  try {
    const clientId = readClientId(r);
    if (flexible) skipTaggedFields(r);
    return { ...header, clientId, bodyOffset: r.pos };
  } catch (err) {
    if (err instanceof ProtocolError) return header;
    throw err;
  }
}

/** The client id is a classic nullable string even in header v2. */
function readClientId(r: Reader): string | null {
  const length = r.int16();
  if (length === -1) return null;
  if (length < 0) throw new ProtocolError(`client id length ${length}`);
  return r.utf8(length);
}

function skipTaggedFields(r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    r.uvarint();
    const size = r.uvarint();
    r.slice(size);
  }
}

export function isFlexible(spec: ApiSpec<unknown, unknown>, apiVersion: number): boolean {
  return spec.flexibleFrom !== null && apiVersion >= spec.flexibleFrom;
}

function specFor(apiKey: number, apiVersion: number): ApiSpec<unknown, unknown> {
  const spec = API_SPECS.get(apiKey);
  if (spec === undefined || !inRange(spec.versions, apiVersion)) {
    throw new ProtocolError(
      `api ${apiKey} v${apiVersion} is unknown`,
      ErrorCode.UNSUPPORTED_VERSION,
    );
  }
  return spec;
}

/**
 * Decodes a request body; the result's type follows the API key when it is a literal. Bytes left
 * after the body are tolerated (readRequestBody tells where it ended). Bytes and records in the
 * result are views into `frame`, so the frame must not be reused while the body is in use.
 */
export function decodeRequestBody<K extends number>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
  bodyOffset: number,
): RequestBody<K> {
  return readRequestBody(apiKey, apiVersion, frame, bodyOffset).body as RequestBody<K>;
}

/** Like decodeRequestBody, also telling where the body ended (tests check nothing is left). */
export function readRequestBody(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
  bodyOffset: number,
): { body: unknown; end: number } {
  const spec = specFor(apiKey, apiVersion);
  const codec = messageCodec(spec.request, apiVersion, isFlexible(spec, apiVersion));

  const r = new Reader(frame, bodyOffset);
  const body = codec.read(r);
  return { body, end: r.pos };
}

/**
 * Encodes a response with its size prefix and header. An ApiVersions response for a version the
 * codec does not know is written as v0, the form every client can read.
 */
export function encodeResponse<K extends number>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: Encodable<ResponseBody<K>>,
): Buffer {
  const version = responseVersion(apiKey, apiVersion);
  const spec = knownSpec(apiKey, version);
  const flexible = isFlexible(spec, version);
  const codec = messageCodec(spec.response, version, flexible);

  const taggedHeader = flexible && apiKey !== ApiKey.ApiVersions;
  const headerSize = 4 + (taggedHeader ? 1 : 0);
  const size = headerSize + codec.size(body);

  const w = new Writer(Buffer.allocUnsafe(4 + size));
  w.int32(size);
  w.int32(correlationId);
  if (taggedHeader) w.uvarint(0);
  codec.write(w, body);

  invariant(w.pos === w.buf.length, 'response size differs from what was written');
  return w.buf;
}

function responseVersion(apiKey: number, apiVersion: number): number {
  if (apiKey !== ApiKey.ApiVersions) return apiVersion;
  return inRange(API_SPECS.get(apiKey)!.versions, apiVersion) ? apiVersion : 0;
}

function knownSpec(apiKey: number, apiVersion: number): ApiSpec<unknown, unknown> {
  const spec = API_SPECS.get(apiKey);
  invariant(spec !== undefined, `no codec for api key ${apiKey}`);
  invariant(inRange(spec.versions, apiVersion), `no codec for ${spec.name} v${apiVersion}`);
  return spec;
}

/** Encodes a request with its size prefix and header (the client side: followers, tests). */
export function encodeRequest<K extends number>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: Encodable<RequestBody<K>>,
): Buffer {
  const spec = knownSpec(apiKey, apiVersion);
  const flexible = isFlexible(spec, apiVersion);
  const codec = messageCodec(spec.request, apiVersion, flexible);

  const clientIdBytes = clientId === null ? 0 : Buffer.byteLength(clientId, 'utf8');
  invariant(clientIdBytes <= 0x7fff, 'client id too long');
  const headerSize = 8 + 2 + clientIdBytes + (flexible ? 1 : 0);
  const size = headerSize + codec.size(body);

  const w = new Writer(Buffer.allocUnsafe(4 + size));
  w.int32(size);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  w.int16(clientId === null ? -1 : clientIdBytes);
  if (clientId !== null) w.utf8(clientId, clientIdBytes);
  if (flexible) w.uvarint(0);
  codec.write(w, body);

  invariant(w.pos === w.buf.length, 'request size differs from what was written');
  return w.buf;
}

/**
 * Decodes a response frame (without its size prefix) to a request sent at `apiVersion`. A broker
 * refusing an ApiVersions version answers in v0, which is read as such.
 */
export function decodeResponse<K extends number>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: ResponseBody<K> } {
  const { correlationId, body } = readResponse(apiKey, apiVersion, frame);
  return { correlationId, body: body as ResponseBody<K> };
}

/** Like decodeResponse, also telling where the body ended. */
export function readResponse(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: unknown; end: number } {
  const spec = specFor(apiKey, apiVersion);
  const r = new Reader(frame, 0);
  const correlationId = r.int32();

  const version = isRefusedApiVersions(apiKey, r) ? 0 : apiVersion;
  const flexible = isFlexible(spec, version);
  if (flexible && apiKey !== ApiKey.ApiVersions) skipTaggedFields(r);

  const body = messageCodec(spec.response, version, flexible).read(r);
  return { correlationId, body, end: r.pos };
}

function isRefusedApiVersions(apiKey: number, r: Reader): boolean {
  if (apiKey !== ApiKey.ApiVersions || r.remaining() < 2) return false;
  return r.buf.readInt16BE(r.pos) === ErrorCode.UNSUPPORTED_VERSION;
}
