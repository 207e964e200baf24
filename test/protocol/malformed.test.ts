// Malformed input: whatever bytes arrive, decoding ends in a ProtocolError or a body, never in a
// RangeError, another exception, a hang or a read past the frame. Frames are cut short, filled
// with noise, corrupted byte by byte, and given negative lengths, absurd counts and bad varints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  API_SPECS,
  ApiKey,
  ProtocolError,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../shared/protocol/index.ts';
import { bodyArbitrary, versionsOf } from './from-description.ts';

const specs = [...API_SPECS.values()];
const everyVersion = specs.flatMap((spec) =>
  versionsOf(spec).map((version) => ({ spec, version })),
);

/** Runs a decode; returns 'ok' or 'protocol-error', and lets anything else fail the test. */
function outcome(decode: () => unknown): 'ok' | 'protocol-error' {
  try {
    decode();
    return 'ok';
  } catch (err) {
    if (err instanceof ProtocolError) return 'protocol-error';
    throw err;
  }
}

function decodeRequestFrame(frame: Buffer): void {
  const header = decodeRequestHeader(frame);
  decodeRequestBody(header.apiKey, header.apiVersion, frame, header.bodyOffset);
}

describe('frames cut short', () => {
  it.each(everyVersion.map((c) => [c.spec.name, c.version, c] as const))(
    '%s v%i: every strict prefix of a request or response is a ProtocolError',
    (_name, _version, { spec, version }) => {
      const bodies = fc.record({
        request: bodyArbitrary(spec, 'request', version),
        response: bodyArbitrary(spec, 'response', version),
      });

      fc.assert(
        fc.property(bodies, ({ request, response }) => {
          const requestFrame = encodeRequest(spec.key, version, 9, 'c', request as never).subarray(
            4,
          );
          const responseFrame = encodeResponse(spec.key, version, 9, response as never).subarray(4);

          for (let cut = 0; cut < requestFrame.length; cut++) {
            const prefix = requestFrame.subarray(0, cut);
            expect(outcome(() => decodeRequestFrame(prefix))).toBe('protocol-error');
          }
          for (let cut = 0; cut < responseFrame.length; cut++) {
            const prefix = responseFrame.subarray(0, cut);
            expect(outcome(() => decodeResponse(spec.key, version, prefix))).toBe('protocol-error');
          }
        }),
        { numRuns: 5 },
      );
    },
  );
});

describe('noise and corruption', () => {
  it('random bytes after a valid header decode or fail with ProtocolError, for every API', () => {
    const input = fc.record({
      target: fc.constantFrom(...everyVersion),
      noise: fc.uint8Array({ maxLength: 64 }),
    });

    fc.assert(
      fc.property(input, ({ target: { spec, version }, noise }) => {
        const frame = Buffer.concat([headerBytes(spec.key, version), Buffer.from(noise)]);
        outcome(() => decodeRequestFrame(frame));
        outcome(() => decodeResponse(spec.key, version, Buffer.from(noise)));
      }),
      { numRuns: 3000 },
    );
  });

  it('valid frames with a few bytes changed decode or fail with ProtocolError', () => {
    const input = fc.constantFrom(...everyVersion).chain(({ spec, version }) =>
      fc.record({
        spec: fc.constant(spec),
        version: fc.constant(version),
        body: bodyArbitrary(spec, 'request', version),
        edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
      }),
    );

    fc.assert(
      fc.property(input, ({ spec, version, body, edits }) => {
        const frame = Buffer.from(
          encodeRequest(spec.key, version, 1, 'c', body as never).subarray(4),
        );
        for (const [at, value] of edits) frame[at % frame.length] = value;
        outcome(() => decodeRequestFrame(frame));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hostile lengths and varints', () => {
  const expectProtocolError = (decode: () => unknown, message: RegExp) => {
    expect(decode).toThrow(ProtocolError);
    expect(decode).toThrow(message);
  };

  it('a negative string length other than -1 is refused', () => {
    // SaslHandshake v0 body: mechanism (int16 length + bytes).
    const frame = Buffer.concat([headerBytes(ApiKey.SaslHandshake, 0), int16(-2)]);
    expectProtocolError(() => decodeRequestFrame(frame), /length -2/);
  });

  it('null (-1) is refused where the field is not nullable', () => {
    const frame = Buffer.concat([headerBytes(ApiKey.SaslHandshake, 0), int16(-1)]);
    expectProtocolError(() => decodeRequestFrame(frame), /mechanism: null where not nullable/);
  });

  it('a negative array count is refused', () => {
    // DescribeGroups v0 body: groups (int32 count).
    const frame = Buffer.concat([headerBytes(ApiKey.DescribeGroups, 0), int32(-7)]);
    expectProtocolError(() => decodeRequestFrame(frame), /length -7/);
  });

  it('an absurd array count is refused at once, before anything is allocated', () => {
    const frame = Buffer.concat([
      headerBytes(ApiKey.DescribeGroups, 0),
      int32(0x7fffffff),
      int16(1),
    ]);
    expectProtocolError(() => decodeRequestFrame(frame), /2147483647 elements cannot fit/);
  });

  it('an absurd compact array count is refused the same way', () => {
    // DeleteGroups v2 (flexible) body: groupsNames (compact array).
    const count = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const frame = Buffer.concat([headerBytes(ApiKey.DeleteGroups, 2), count]);
    expectProtocolError(() => decodeRequestFrame(frame), /elements cannot fit/);
  });

  it('a varint longer than five bytes is refused', () => {
    const varint = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    const frame = Buffer.concat([headerBytes(ApiKey.DeleteGroups, 2), varint]);
    expectProtocolError(() => decodeRequestFrame(frame), /longer than 5 bytes/);
  });

  it('a varint beyond 32 bits is refused', () => {
    const varint = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]);
    const frame = Buffer.concat([headerBytes(ApiKey.DeleteGroups, 2), varint]);
    expectProtocolError(() => decodeRequestFrame(frame), /exceeds 32 bits/);
  });

  it('a varint cut off by the end of the frame is refused', () => {
    const frame = Buffer.concat([headerBytes(ApiKey.DeleteGroups, 2), Buffer.from([0x80, 0x80])]);
    expectProtocolError(() => decodeRequestFrame(frame), /truncated/);
  });

  it('a tagged field claiming more bytes than the frame holds is refused', () => {
    // Heartbeat v4 body: groupId, generationId, memberId, groupInstanceId, then tagged fields.
    const body = Buffer.concat([
      Buffer.from([2, 0x67]), // groupId 'g'
      int32(1),
      Buffer.from([2, 0x6d]), // memberId 'm'
      Buffer.from([0]), // groupInstanceId null
      Buffer.from([1, 5, 100, 1, 2]), // one tagged field (tag 5) claiming 100 bytes
    ]);
    const frame = Buffer.concat([headerBytes(ApiKey.Heartbeat, 4), body]);
    expectProtocolError(() => decodeRequestFrame(frame), /truncated/);
  });

  it('unknown tagged fields are skipped', () => {
    const body = Buffer.concat([
      Buffer.from([2, 0x67]),
      int32(1),
      Buffer.from([2, 0x6d]),
      Buffer.from([0]),
      Buffer.from([2, 7, 2, 0xaa, 0xbb, 9, 0]), // tags 7 (2 bytes) and 9 (empty)
    ]);
    const frame = Buffer.concat([headerBytes(ApiKey.Heartbeat, 4), body]);
    const header = decodeRequestHeader(frame);

    expect(decodeRequestBody(ApiKey.Heartbeat, 4, frame, header.bodyOffset)).toEqual({
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });
  });

  it('a body for an API or version the codec lacks is refused as UNSUPPORTED_VERSION', () => {
    let error: unknown;
    try {
      decodeRequestBody(ApiKey.Produce, 99, Buffer.alloc(16), 0);
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });
});

/** A request header (v1, or v2 when the API version is flexible) with client id 'c'. */
function headerBytes(apiKey: number, apiVersion: number): Buffer {
  const spec = API_SPECS.get(apiKey)!;
  const flexible = spec.flexibleFrom !== null && apiVersion >= spec.flexibleFrom;
  const header = Buffer.concat([
    int16(apiKey),
    int16(apiVersion),
    int32(3),
    int16(1),
    Buffer.from('c'),
  ]);
  return flexible ? Buffer.concat([header, Buffer.from([0])]) : header;
}

function int16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b;
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}
