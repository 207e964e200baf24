// Round-trip properties over every API, direction and version the codec covers: a body generated
// from the description comes back equal after encoding and decoding, the frame's size prefix
// matches its length, and the decoder stops exactly at the end of the frame.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  ApiKey,
  decodeRequestHeader,
  encodeRequest,
  encodeResponse,
  readRequestBody,
  readResponse,
} from '../../shared/protocol/index.ts';
import { bodyArbitrary, versionsOf } from './from-description.ts';

const RUNS = 25;

describe.each([...API_SPECS.values()])('$name', (spec) => {
  it.each(versionsOf(spec))('requests round-trip at v%i', (version) => {
    const request = fc.record({
      body: bodyArbitrary(spec, 'request', version),
      correlationId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      clientId: fc.option(fc.string({ maxLength: 16 }), { nil: null }),
    });

    fc.assert(
      fc.property(request, ({ body, correlationId, clientId }) => {
        const frame = encodeRequest(spec.key, version, correlationId, clientId, body as never);
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);

        const withoutSize = frame.subarray(4);
        const header = decodeRequestHeader(withoutSize);
        expect(header).toMatchObject({
          apiKey: spec.key,
          apiVersion: version,
          correlationId,
          clientId,
        });

        const decoded = readRequestBody(spec.key, version, withoutSize, header.bodyOffset);
        expect(decoded.end).toBe(withoutSize.length);
        expect(decoded.body).toEqual(body);
      }),
      { numRuns: RUNS },
    );
  });

  it.each(versionsOf(spec))('responses round-trip at v%i', (version) => {
    // An ApiVersions error 35 is read as the v0 body a broker sends then (tested in frames).
    const body = bodyArbitrary(spec, 'response', version).filter(
      (b) => spec.key !== ApiKey.ApiVersions || (b as { errorCode: number }).errorCode !== 35,
    );
    const response = fc.record({
      body,
      correlationId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    });

    fc.assert(
      fc.property(response, ({ body, correlationId }) => {
        const frame = encodeResponse(spec.key, version, correlationId, body as never);
        expect(frame.readInt32BE(0)).toBe(frame.length - 4);

        const decoded = readResponse(spec.key, version, frame.subarray(4));
        expect(decoded.correlationId).toBe(correlationId);
        expect(decoded.end).toBe(frame.length - 4);
        expect(decoded.body).toEqual(body);
      }),
      { numRuns: RUNS },
    );
  });
});
