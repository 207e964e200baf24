// Cross-check of the flexible versions (compact encodings, tagged fields) against
// @platformatic/kafka, which speaks only recent versions. Its per-version modules take request
// fields as positional arguments named after Kafka's fields and parse responses into Kafka's
// field names, so bodies generated from Weir's descriptions can be handed to it directly.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  ApiKey,
  encodeRequest,
  encodeResponse,
  readRequestBody,
  type ApiSpec,
} from '../../shared/protocol/index.ts';
import { bodyArbitrary, isFlexibleAt, leavesOf, wireScalars } from './from-description.ts';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface PlatformaticApi {
  createRequest(...args: unknown[]): { buffer: Buffer };
  parseResponse(correlationId: number, apiKey: number, apiVersion: number, reader: Any): unknown;
}

const require = createRequire(import.meta.url);
const apisDir = join(dirname(require.resolve('@platformatic/kafka')), 'apis');
const { Reader } = (await import(
  pathToFileURL(join(apisDir, '..', 'protocol', 'reader.js')).href
)) as { Reader: { from(buffer: Buffer): Any } };

/** Module files by API name: `fetch-v17.js` is Fetch v17. */
function modulesFor(spec: ApiSpec<unknown, unknown>): { version: number; path: string }[] {
  const stem = spec.name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  const pattern = new RegExp(`^${stem}-v(\\d+)\\.js$`);
  const found: { version: number; path: string }[] = [];

  for (const area of readdirSync(apisDir, { withFileTypes: true })) {
    if (!area.isDirectory()) continue;
    for (const file of readdirSync(join(apisDir, area.name))) {
      const match = pattern.exec(file);
      if (match) found.push({ version: Number(match[1]), path: join(apisDir, area.name, file) });
    }
  }
  return found.filter((m) => m.version >= spec.versions.min && m.version <= spec.versions.max);
}

async function load(path: string): Promise<PlatformaticApi> {
  return (await import(pathToFileURL(path).href)) as PlatformaticApi;
}

/** Error codes are zeroed: the parser throws on any error, which is not what is tested here. */
function withoutErrors(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutErrors);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;

  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = /^(errorCode|.*ErrorCode)$/.test(key) ? 0 : withoutErrors(inner);
  }
  return out;
}

/**
 * Records become null (the parser would read random bytes as batches) and per-record errors
 * empty (the parser throws on any of them).
 */
function withoutRecords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRecords);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;

  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'records') out[key] = null;
    else if (key === 'recordErrors') out[key] = [];
    else out[key] = withoutRecords(inner);
  }
  return out;
}

/**
 * Where @platformatic/kafka 1.x itself departs from Kafka's message schemas, so its bytes cannot
 * judge ours. Separately, its parser skips a tagged section as if the count were a byte length,
 * so generated bodies keep tagged fields at their defaults here (the round-trip properties and
 * the captured bytes cover tagged fields).
 */
const PEER_FAULTS = new Map([
  [
    'OffsetForLeaderEpoch v4 response',
    'reads partition before errorCode; Kafka has errorCode first',
  ],
  ['DescribeConfigs v2 request', 'writes includeDocumentation, which only exists from v3'],
  ['DescribeConfigs v2 response', 'reads configType and documentation, which only exist from v3'],
  ['Metadata v9 response', 'reads clusterAuthorizedOperations (int32) as a one-byte boolean'],
  ['Metadata v10 response', 'reads clusterAuthorizedOperations (int32) as a one-byte boolean'],
  ['Metadata v11 request', 'writes includeClusterAuthorizedOperations, which ends at v10'],
  ['Metadata v12 request', 'writes includeClusterAuthorizedOperations, which ends at v10'],
]);

const SEED = 20240611;
const flexibleSpecs = [...API_SPECS.values()].filter((s) => s.flexibleFrom !== null);

describe('responses read by @platformatic/kafka', () => {
  for (const spec of flexibleSpecs) {
    for (const { version, path } of modulesFor(spec)) {
      if (PEER_FAULTS.has(`${spec.name} v${version} response`)) continue;

      it(`${spec.name} v${version} is read in full with every value in place`, async () => {
        const api = await load(path);
        const arbitrary = bodyArbitrary(spec, 'response', version, { tagged: false });
        const bodies = fc.sample(arbitrary, { numRuns: 20, seed: SEED });

        for (const generated of bodies) {
          const body = withoutRecords(withoutErrors(generated));
          const frame = encodeResponse(spec.key, version, 5, body as never);
          const headerBytes =
            isFlexibleAt(spec, version) && spec.key !== ApiKey.ApiVersions ? 9 : 8;

          const payload = Buffer.from(frame.subarray(headerBytes));
          const reader = Reader.from(payload);
          const parsed = api.parseResponse(5, spec.key, version, reader);
          expect(unread(payload, reader.position)).toEqual([]);

          const found = leavesOf(parsed);
          const missing = wireScalars(spec, 'response', version, body).filter((v) => !found.has(v));
          expect(missing).toEqual([]);
        }
      });
    }
  }
});

/**
 * The bytes the parser left. It never reads the empty tagged section closing a flexible body
 * (nothing follows it), so that one zero byte does not count.
 */
function unread(payload: Buffer, position: number): number[] {
  const rest = [...payload.subarray(position)];
  return rest.length === 1 && rest[0] === 0 ? [] : rest;
}

/** Request modules whose arguments are not the body's own fields, mapped by hand. */
const REQUEST_ARGUMENTS: Record<string, (body: Any, version: number) => unknown[]> = {
  ListOffsets: (body) => [body.replicaId, body.isolationLevel, body.topics],
  // Topics by name only (it writes a null topic id).
  Metadata: (body) => [
    (body.topics ?? []).map((t: Any) => t.name ?? ''),
    body.allowAutoTopicCreation,
    body.includeTopicAuthorizedOperations,
  ],
  // It writes `topicId` where v12 has the topic name, and forgotten topics always by id.
  Fetch: (body, version) => [
    body.maxWaitMs,
    body.minBytes,
    body.maxBytes,
    body.isolationLevel,
    body.sessionId,
    body.sessionEpoch,
    body.topics.map((t: Any) => ({ ...t, topicId: version <= 12 ? t.topic : t.topicId })),
    version <= 12 ? [] : body.forgottenTopicsData.map((t: Any) => ({ ...t, topic: t.topicId })),
    body.rackId,
  ],
  OffsetForLeaderEpoch: (body) => [
    body.replicaId,
    body.topics.map((t: Any) => ({
      name: t.topic,
      partitions: t.partitions.map((p: Any) => ({ ...p, partitionIndex: p.partition })),
    })),
  ],
};
const SKIPPED_REQUESTS = new Set(['Produce']);

describe('requests written by @platformatic/kafka', () => {
  for (const spec of flexibleSpecs) {
    if (SKIPPED_REQUESTS.has(spec.name)) continue;

    for (const { version, path } of modulesFor(spec)) {
      if (PEER_FAULTS.has(`${spec.name} v${version} request`)) continue;

      it(`${spec.name} v${version} is read in full and written back byte for byte`, async () => {
        const api = await load(path);
        const arbitrary = bodyArbitrary(spec, 'request', version, { tagged: false });
        const bodies = fc.sample(arbitrary, { numRuns: 20, seed: SEED });

        for (const body of bodies as Any[]) {
          const args = REQUEST_ARGUMENTS[spec.name]?.(body, version) ?? argumentsByName(api, body);
          const bytes = Buffer.from(api.createRequest(...args).buffer);

          const decoded = readRequestBody(spec.key, version, bytes, 0);
          expect(decoded.end).toBe(bytes.length);

          const headerBytes = 4 + 10 + (isFlexibleAt(spec, version) ? 1 : 0);
          const again = encodeRequest(spec.key, version, 1, null, decoded.body as never);
          expect(again.subarray(headerBytes)).toEqual(bytes);
        }
      });
    }
  }

  it('Produce v9-v11 from platformatic carry their batch and names', async () => {
    for (const version of [9, 10, 11]) {
      const api = await load(
        modulesFor(API_SPECS.get(ApiKey.Produce)!).find((m) => m.version === version)!.path,
      );
      const messages = [
        { topic: 'orders', partition: 2, key: Buffer.from('k'), value: Buffer.from('v') },
      ];
      const bytes = Buffer.from(
        api.createRequest(-1, 1500, messages, { transactionalId: null }).buffer,
      );

      const { body, end } = readRequestBody(ApiKey.Produce, version, bytes, 0);
      expect(end).toBe(bytes.length);
      const request = body as Any;
      expect(request.acks).toBe(-1);
      expect(request.timeoutMs).toBe(1500);
      expect(request.topicData[0].name).toBe('orders');
      expect(request.topicData[0].partitionData[0].index).toBe(2);
      expect(request.topicData[0].partitionData[0].records.readInt8(16)).toBe(2); // magic v2
    }
  });
});

/** Positional arguments taken from the body by parameter name (`_x` means field `x`). */
function argumentsByName(api: PlatformaticApi, body: Record<string, unknown>): unknown[] {
  const params = /\(([^)]*)\)/.exec(api.createRequest.toString())![1];
  return params
    .split(',')
    .map((p) => p.split('=')[0].trim().replace(/^_/, ''))
    .filter((p) => p.length > 0)
    .map((name) => body[name]);
}
