// Headers and frames as a broker and a client see them: header versions by API version, the
// ApiVersions exceptions (response header always v0, unknown versions answered in v0), unknown
// APIs still yielding a correlation id, defaults for left-out fields, tagged fields, and null
// kept apart from empty.
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../shared/assert.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  API_SPECS,
  ApiKey,
  ProtocolError,
  SUPPORTED_VERSIONS,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isVersionSupported,
  type FetchResponse,
} from '../../shared/protocol/index.ts';

const hex = (b: Buffer) => b.toString('hex');

describe('advertised versions', () => {
  it('lie within what the codec reads and writes, for every API key', () => {
    for (const [name, key] of Object.entries(ApiKey)) {
      const spec = API_SPECS.get(key);
      expect(spec?.name, name).toBe(name);

      const advertised = SUPPORTED_VERSIONS.get(key);
      if (advertised === undefined) continue;
      expect(advertised.min).toBeGreaterThanOrEqual(spec!.versions.min);
      expect(advertised.max).toBeLessThanOrEqual(spec!.versions.max);
    }
  });

  it('include Produce from v0 and Fetch from v4, as librdkafka needs to enable its features', () => {
    expect(SUPPORTED_VERSIONS.get(ApiKey.Produce)).toEqual({ min: 0, max: 11 });
    expect(SUPPORTED_VERSIONS.get(ApiKey.Fetch)).toEqual({ min: 4, max: 17 });
    expect(isVersionSupported(ApiKey.ApiVersions, 5)).toBe(false);
  });
});

describe('request headers', () => {
  it('writes header v2 and compact fields for a flexible version, byte for byte', () => {
    const frame = encodeRequest(ApiKey.Heartbeat, 4, 7, 'c', {
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });

    // size | key 12 | v4 | correlation 7 | client id 'c' | no header tags |
    // groupId 'g' | generation 1 | memberId 'm' | no instance id | no body tags
    expect(hex(frame)).toBe(
      '00000016' +
        '000c' +
        '0004' +
        '00000007' +
        '000163' +
        '00' +
        '0267' +
        '00000001' +
        '026d' +
        '00' +
        '00',
    );
  });

  it('writes header v1 and classic fields for a non-flexible version, byte for byte', () => {
    const frame = encodeRequest(ApiKey.Heartbeat, 3, 7, null, {
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
      groupInstanceId: null,
    });

    expect(hex(frame)).toBe(
      '00000016' +
        '000c' +
        '0003' +
        '00000007' +
        'ffff' +
        '000167' +
        '00000001' +
        '00016d' +
        'ffff',
    );
  });

  it('skips tagged fields in a v2 header to find the body', () => {
    const frame = Buffer.from(
      '000c' +
        '0004' +
        '00000007' +
        '000163' +
        '01' +
        '0302aabb' +
        '0267' +
        '00000001' +
        '026d' +
        '00' +
        '00',
      'hex',
    );

    const header = decodeRequestHeader(frame);
    expect(header).toEqual({
      apiKey: ApiKey.Heartbeat,
      apiVersion: 4,
      correlationId: 7,
      clientId: 'c',
      bodyOffset: 16,
    });
    expect(decodeRequestBody(ApiKey.Heartbeat, 4, frame, header.bodyOffset)).toMatchObject({
      groupId: 'g',
      memberId: 'm',
    });
  });

  it('still yields key, version and correlation id for an unknown API key', () => {
    const frame = Buffer.from('03e7' + '0002' + '0000002a' + '0003616263' + 'ffff', 'hex');

    expect(decodeRequestHeader(frame)).toEqual({
      apiKey: 999,
      apiVersion: 2,
      correlationId: 42,
      clientId: 'abc',
      bodyOffset: 13,
    });
  });

  it('still yields the correlation id when an unknown version has an unreadable client id', () => {
    const frame = Buffer.from('0012' + '007f' + '0000002b' + '0050', 'hex');

    expect(decodeRequestHeader(frame)).toMatchObject({
      apiKey: ApiKey.ApiVersions,
      apiVersion: 127,
      correlationId: 43,
      clientId: null,
    });
  });

  it('reads an ApiVersions request above the newest version with a v2 header', () => {
    const max = SUPPORTED_VERSIONS.get(ApiKey.ApiVersions)!.max;
    const versionHex = (max + 1).toString(16).padStart(4, '0');
    const frame = Buffer.from('0012' + versionHex + '00000005' + '000163' + '00' + '0100', 'hex');

    expect(decodeRequestHeader(frame)).toMatchObject({
      correlationId: 5,
      clientId: 'c',
      bodyOffset: 12,
    });
  });

  it('refuses a frame too short to hold key, version and correlation id', () => {
    expect(() => decodeRequestHeader(Buffer.from('000000010000', 'hex'))).toThrow(ProtocolError);
  });
});

describe('response headers', () => {
  const apiVersionsBody = {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
  };

  it('uses header v0 for ApiVersions even in its flexible versions', () => {
    const frame = encodeResponse(ApiKey.ApiVersions, 3, 9, apiVersionsBody);

    // size | correlation 9 | errorCode 0 (no tagged byte before it)
    expect(hex(frame.subarray(4, 10))).toBe('00000009' + '0000');
    expect(decodeResponse(ApiKey.ApiVersions, 3, frame.subarray(4)).body).toMatchObject(
      apiVersionsBody,
    );
  });

  it('uses header v1 (an empty tagged section) for other flexible responses', () => {
    const frame = encodeResponse(ApiKey.Heartbeat, 4, 9, { throttleTimeMs: 0, errorCode: 0 });
    expect(hex(frame)).toBe('0000000c' + '00000009' + '00' + '00000000' + '0000' + '00');
  });

  it('answers an ApiVersions version it does not know with a v0 body', () => {
    const body = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiVersionsBody.apiKeys };
    const frame = encodeResponse(ApiKey.ApiVersions, 127, 9, body);

    // size | correlation | error 35 | one api key: 18, 0..4 (no throttle time: v0)
    expect(hex(frame)).toBe('00000010' + '00000009' + '0023' + '00000001' + '001200000004');
  });

  it('reads a refused ApiVersions request as the v0 body the broker sent', () => {
    const body = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiVersionsBody.apiKeys };
    const frame = encodeResponse(ApiKey.ApiVersions, 0, 9, body);

    const decoded = decodeResponse(ApiKey.ApiVersions, 3, frame.subarray(4));
    expect(decoded.body.apiKeys).toEqual(apiVersionsBody.apiKeys);
    expect(decoded.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });
});

describe('bodies', () => {
  it('writes left-out fields as their defaults, and reads absent fields as defaults', () => {
    const frame = encodeResponse(ApiKey.Produce, 9, 1, {
      responses: [{ name: 't', partitionResponses: [{ index: 0, baseOffset: 5n }] }],
    });

    const { body } = decodeResponse(ApiKey.Produce, 9, frame.subarray(4));
    expect(body).toEqual({
      responses: [
        {
          name: 't',
          partitionResponses: [
            {
              index: 0,
              errorCode: 0,
              baseOffset: 5n,
              logAppendTimeMs: -1n,
              logStartOffset: -1n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: -1, leaderEpoch: -1 },
            },
          ],
        },
      ],
      throttleTimeMs: 0,
      nodeEndpoints: [],
    });
  });

  it('writes a tagged field only when it differs from its default', () => {
    const partition = (currentLeader?: { leaderId: number; leaderEpoch: number }) => ({
      responses: [
        { topicId: '00000000-0000-0000-0000-000000000001', partitions: [{ currentLeader }] },
      ],
    });

    const plain = encodeResponse(ApiKey.Fetch, 13, 1, partition());
    const atDefault = encodeResponse(
      ApiKey.Fetch,
      13,
      1,
      partition({ leaderId: -1, leaderEpoch: -1 }),
    );
    const tagged = encodeResponse(ApiKey.Fetch, 13, 1, partition({ leaderId: 3, leaderEpoch: 4 }));

    expect(atDefault).toEqual(plain);
    expect(tagged.length).toBe(plain.length + 1 + 1 + 1 + 8);
    const decoded = decodeResponse(ApiKey.Fetch, 13, tagged.subarray(4)).body;
    expect(decoded.responses[0].partitions[0].currentLeader).toEqual({
      leaderId: 3,
      leaderEpoch: 4,
    });
  });

  it('names Fetch topics by id from v13 and by name before', () => {
    const body = {
      responses: [
        { topic: 'orders', topicId: '3f2a52c4-9d55-4c5b-8d0a-0b1f3c1e2d4f', partitions: [] },
      ],
    };

    const v12 = decodeResponse(
      ApiKey.Fetch,
      12,
      encodeResponse(ApiKey.Fetch, 12, 1, body).subarray(4),
    );
    const v13 = decodeResponse(
      ApiKey.Fetch,
      13,
      encodeResponse(ApiKey.Fetch, 13, 1, body).subarray(4),
    );

    expect(v12.body.responses[0]).toMatchObject({
      topic: 'orders',
      topicId: '00000000-0000-0000-0000-000000000000',
    });
    expect(v13.body.responses[0]).toMatchObject({ topic: '', topicId: body.responses[0].topicId });
  });

  it.each([4, 11, 12, 17])('keeps null records apart from empty records (Fetch v%i)', (version) => {
    const body = {
      responses: [
        {
          topic: 't',
          topicId: '00000000-0000-0000-0000-000000000001',
          partitions: [
            { partitionIndex: 0, records: null },
            { partitionIndex: 1, records: Buffer.alloc(0) },
          ],
        },
      ],
    };

    const frame = encodeResponse(ApiKey.Fetch, version, 1, body);
    const decoded: FetchResponse = decodeResponse(ApiKey.Fetch, version, frame.subarray(4)).body;
    expect(decoded.responses[0].partitions.map((p) => p.records)).toEqual([null, Buffer.alloc(0)]);
  });

  it('keeps a null string apart from an empty one', () => {
    const frame = encodeResponse(ApiKey.SyncGroup, 5, 1, { protocolType: null, protocolName: '' });
    const { body } = decodeResponse(ApiKey.SyncGroup, 5, frame.subarray(4));
    expect([body.protocolType, body.protocolName]).toEqual([null, '']);
  });

  it('hands records over as a view of the request frame, not a copy', () => {
    const batch = Buffer.from('a record batch, opaque to the codec');
    const frame = encodeRequest(ApiKey.Produce, 9, 1, 'c', {
      acks: -1,
      timeoutMs: 100,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }],
    }).subarray(4);

    const header = decodeRequestHeader(frame);
    const body = decodeRequestBody(ApiKey.Produce, 9, frame, header.bodyOffset);
    const records = body.topicData[0].partitionData[0].records!;
    expect(records).toEqual(batch);
    expect(records.buffer).toBe(frame.buffer);
  });

  it('refuses to encode null where the version does not allow it', () => {
    const body = { topics: [{ name: null, partitions: [] }] };
    expect(() => encodeResponse(ApiKey.Metadata, 11, 1, body)).toThrow(InvariantError);
    expect(() => encodeResponse(ApiKey.Metadata, 12, 1, body)).not.toThrow();
  });
});
