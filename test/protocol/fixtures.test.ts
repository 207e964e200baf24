// Captured bytes from the kafkajs 2.2.4 repository: requests as kafkajs wrote them, responses as
// real Apache Kafka brokers sent them. Each is decoded to the last byte and re-encoded to the same
// bytes. The files live outside the repository (../shared/fixtures), so without them this suite
// is skipped with the reason; the kafkajs cross-check (kafkajs.test.ts) always runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  ApiKey,
  ProtocolError,
  encodeRequest,
  encodeResponse,
  readRequestBody,
  readResponse,
} from '../../shared/protocol/index.ts';
import { isFlexibleAt } from './from-description.ts';

const FIXTURES = join(
  import.meta.dirname,
  '../../../shared/fixtures/kafkajs-v2.2.4/protocol/requests',
);
const present = existsSync(FIXTURES);

/** Files that are not protocol bodies, or that show a broker bug kafkajs works around. */
const NOT_BODIES = /(memberAssignment|memberMetadata|assignerMetadata|_bytes|firstRequest)/;
const BROKER_QUIRKS = new Map([
  [
    'apiVersions/v1_response_missing_throttle_time.json',
    'an old broker answered v1 without the throttle time',
  ],
]);

interface Fixture {
  folder: string;
  file: string;
  key: number;
  version: number;
  side: 'request' | 'response';
}

function listFixtures(): Fixture[] {
  const byName = new Map([...API_SPECS.values()].map((s) => [s.name.toLowerCase(), s.key]));
  const found: Fixture[] = [];

  for (const folder of readdirSync(FIXTURES)) {
    const key = byName.get(folder.toLowerCase());
    if (key === undefined) continue;

    for (const file of readdirSync(join(FIXTURES, folder, 'fixtures'))) {
      const match = /^v(\d+)_(?:[a-z0-9_]*_)?(request|response)/.exec(file);
      if (!match || NOT_BODIES.test(file)) continue;
      found.push({
        folder,
        file,
        key,
        version: Number(match[1]),
        side: match[2] as Fixture['side'],
      });
    }
  }
  return found;
}

function load(f: Fixture): Buffer {
  const json = JSON.parse(readFileSync(join(FIXTURES, f.folder, 'fixtures', f.file), 'utf8'));
  return Buffer.from(json.data);
}

describe.skipIf(!present)('captured bytes (kafkajs 2.2.4 fixtures)', () => {
  const fixtures = present ? listFixtures() : [];

  it('covers the APIs Weir serves', () => {
    const keys = new Set(fixtures.map((f) => f.key));
    for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.ListOffsets]) {
      expect(keys).toContain(key);
    }
  });

  for (const f of fixtures) {
    const name = `${f.folder}/${f.file}`;
    const quirk = BROKER_QUIRKS.get(name);

    if (quirk !== undefined) {
      it(`${name} is refused with a ProtocolError (${quirk})`, () => {
        const frame = Buffer.concat([Buffer.alloc(4), load(f)]);
        expect(() => readResponse(f.key, f.version, frame)).toThrow(ProtocolError);
      });
      continue;
    }

    it(`${name} decodes in full and re-encodes to the same bytes`, () => {
      const bytes = load(f);
      const spec = API_SPECS.get(f.key)!;

      if (f.side === 'request') {
        const { body, end } = readRequestBody(f.key, f.version, bytes, 0);
        expect(end).toBe(bytes.length);

        const headerBytes = 4 + 10 + (isFlexibleAt(spec, f.version) ? 1 : 0);
        const again = encodeRequest(f.key, f.version, 0, null, body as never);
        expect(again.subarray(headerBytes)).toEqual(bytes);
      } else {
        const frame = Buffer.concat([Buffer.alloc(4), bytes]);
        const { body, end } = readResponse(f.key, f.version, frame);
        expect(end).toBe(frame.length);

        const again = encodeResponse(f.key, f.version, 0, body as never);
        expect(again.subarray(8)).toEqual(bytes);
      }
    });
  }
});

describe.skipIf(present)('captured bytes', () => {
  it.skip(`skipped: fixtures not found at ${FIXTURES} (outside the repository)`, () => {});
});
