// Access to kafkajs's own protocol encoders and decoders (node_modules/kafkajs/src/protocol), used
// as an independent implementation to judge ours. kafkajs's Decoder is instrumented so a test can
// tell how far into a buffer kafkajs read: a decoder that stops short means the two codecs
// disagree about the layout even when every value it read looks right.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buffer: Buffer;
}

interface KafkajsRequest {
  encode(): Promise<KafkajsEncoder>;
}

interface KafkajsResponse {
  decode(payload: Buffer): Promise<unknown>;
}

interface KafkajsApi {
  versions: string[];
  protocol(options: { version: number }): (args: unknown) => {
    request: KafkajsRequest;
    response: KafkajsResponse | ((args: unknown) => KafkajsResponse);
  };
}

const Decoder = require('kafkajs/src/protocol/decoder') as { prototype: object };
const furthest = new WeakMap<Buffer, number>();
const offsetSlot = Symbol('offset');

Object.defineProperty(Decoder.prototype, 'offset', {
  get(this: { [offsetSlot]: number }) {
    return this[offsetSlot];
  },
  set(this: { [offsetSlot]: number; buffer: Buffer }, value: number) {
    this[offsetSlot] = value;
    furthest.set(this.buffer, Math.max(furthest.get(this.buffer) ?? 0, value));
  },
});

/** How many bytes of `buffer` a kafkajs Decoder consumed. */
export function consumedByKafkajs(buffer: Buffer): number {
  return furthest.get(buffer) ?? 0;
}

export function kafkajsApi(folder: string): KafkajsApi {
  return require(`kafkajs/src/protocol/requests/${folder}`) as KafkajsApi;
}

export function kafkajsVersions(folder: string): number[] {
  return kafkajsApi(folder)
    .versions.map(Number)
    .sort((a, b) => a - b);
}

/** The request body bytes kafkajs writes for `args` at `version` (no size prefix, no header). */
export async function kafkajsRequestBytes(
  folder: string,
  version: number,
  args: unknown,
): Promise<Buffer> {
  const { request } = kafkajsApi(folder).protocol({ version })(args);
  return (await request.encode()).buffer;
}

/** What kafkajs's decoder makes of a response body (no size prefix, no correlation id). */
export async function kafkajsDecodeResponse(
  folder: string,
  version: number,
  args: unknown,
  payload: Buffer,
): Promise<unknown> {
  const { response } = kafkajsApi(folder).protocol({ version })(args);
  const decoder = typeof response === 'function' ? response(args) : response;
  return decoder.decode(payload);
}

interface KafkajsLong {
  fromValue(value: number | string): unknown;
}
const Long = require('kafkajs/src/utils/long') as KafkajsLong;
const RecordBatch = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(options: object): Promise<KafkajsEncoder>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (options: object) => object;

/** A magic v2 record batch written by kafkajs, holding the given values at offsets 0.. */
export async function kafkajsRecordBatch(values: string[], baseOffset = 0): Promise<Buffer> {
  const records = values.map((value, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: 0,
      key: Buffer.from(`k${i}`),
      value: Buffer.from(value),
    }),
  );
  const batch = await RecordBatch.RecordBatch({
    records,
    firstOffset: Long.fromValue(baseOffset),
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000,
    lastOffsetDelta: values.length - 1,
  });
  return batch.buffer;
}
