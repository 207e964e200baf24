// The Kafka record batch, magic v2: the unit Weir receives from producers, stores in segments and
// serves to consumers and followers, byte for byte. The broker reads header fields in place and
// stamps the two fields the CRC leaves out (base offset, partition leader epoch); it never
// re-encodes records. Decoding and encoding of records are here for tools, tests and lookups
// that must look inside a batch.
//
// Layout (big-endian): baseOffset int64, batchLength int32 (bytes after this field),
// partitionLeaderEpoch int32, magic int8, crc uint32 (CRC-32C of attributes..end), attributes int16,
// lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64, producerId int64,
// producerEpoch int16, baseSequence int32, recordCount int32, then the records, compressed as a
// whole when attributes say so.
import { crc32c } from '@node-rs/crc32';

import { invariant } from './assert.ts';
import { Compression, compress, decompress } from './compression.ts';
import { ErrorCode, KafkaError } from './kafka-errors.ts';

export const MAGIC_V2 = 2;
/** baseOffset and batchLength: the bytes of a batch not counted by batchLength. */
export const LOG_OVERHEAD = 12;
export const BATCH_HEADER_BYTES = 61;
/** The smallest legal batchLength: the header after LOG_OVERHEAD, with no records. */
const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD;

const BASE_OFFSET = 0;
const BATCH_LENGTH = 8;
const PARTITION_LEADER_EPOCH = 12;
const MAGIC = 16;
const CRC = 17;
const ATTRIBUTES = 21;
const LAST_OFFSET_DELTA = 23;
const BASE_TIMESTAMP = 27;
const MAX_TIMESTAMP = 35;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const BASE_SEQUENCE = 53;
const RECORD_COUNT = 57;

const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

/** A batch read in place: every getter reads the underlying bytes, nothing is copied. */
export class BatchView {
  constructor(
    readonly buffer: Buffer,
    readonly position: number,
  ) {}

  get baseOffset(): bigint {
    return this.buffer.readBigInt64BE(this.position + BASE_OFFSET);
  }

  get batchLength(): number {
    return this.buffer.readInt32BE(this.position + BATCH_LENGTH);
  }

  /** Bytes of the whole batch, header included. */
  get sizeBytes(): number {
    return LOG_OVERHEAD + this.batchLength;
  }

  /** Position just after this batch. */
  get end(): number {
    return this.position + this.sizeBytes;
  }

  get partitionLeaderEpoch(): number {
    return this.buffer.readInt32BE(this.position + PARTITION_LEADER_EPOCH);
  }

  get magic(): number {
    return this.buffer.readInt8(this.position + MAGIC);
  }

  get crc(): number {
    return this.buffer.readUInt32BE(this.position + CRC);
  }

  get attributes(): number {
    return this.buffer.readInt16BE(this.position + ATTRIBUTES);
  }

  get compression(): number {
    return this.attributes & COMPRESSION_MASK;
  }

  get timestampType(): TimestampType {
    return this.attributes & LOG_APPEND_TIME_BIT
      ? TimestampType.LOG_APPEND_TIME
      : TimestampType.CREATE_TIME;
  }

  get isTransactional(): boolean {
    return (this.attributes & TRANSACTIONAL_BIT) !== 0;
  }

  get isControl(): boolean {
    return (this.attributes & CONTROL_BIT) !== 0;
  }

  get lastOffsetDelta(): number {
    return this.buffer.readInt32BE(this.position + LAST_OFFSET_DELTA);
  }

  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta);
  }

  /** The offset right after this batch: where the next batch of a log starts. */
  get nextOffset(): bigint {
    return this.lastOffset + 1n;
  }

  get baseTimestamp(): bigint {
    return this.buffer.readBigInt64BE(this.position + BASE_TIMESTAMP);
  }

  get maxTimestamp(): bigint {
    return this.buffer.readBigInt64BE(this.position + MAX_TIMESTAMP);
  }

  get producerId(): bigint {
    return this.buffer.readBigInt64BE(this.position + PRODUCER_ID);
  }

  get producerEpoch(): number {
    return this.buffer.readInt16BE(this.position + PRODUCER_EPOCH);
  }

  get baseSequence(): number {
    return this.buffer.readInt32BE(this.position + BASE_SEQUENCE);
  }

  get recordCount(): number {
    return this.buffer.readInt32BE(this.position + RECORD_COUNT);
  }

  /** The batch's bytes, sharing memory with the buffer it was read from. */
  bytes(): Buffer {
    return this.buffer.subarray(this.position, this.end);
  }

  computeCrc(): number {
    return crc32c(this.buffer.subarray(this.position + ATTRIBUTES, this.end));
  }
}

/**
 * Bytes from `position` to the end of the last whole batch, judged by lengths alone. A fetch
 * response may end with a partial batch; readers stop before it.
 */
export function wholeBatchesEnd(buf: Buffer, position = 0): number {
  let pos = position;
  while (pos + BATCH_HEADER_BYTES <= buf.length) {
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH);
    if (batchLength < BATCH_LENGTH_MIN || pos + LOG_OVERHEAD + batchLength > buf.length) break;
    pos += LOG_OVERHEAD + batchLength;
  }
  return pos;
}

/** The whole batches at the start of `buf`, without copying: a partial trailing batch is cut. */
export function completeBatches(buf: Buffer): Buffer {
  return buf.subarray(0, wholeBatchesEnd(buf));
}

/** Walks the whole batches of a records blob in place; stops before a partial trailing batch. */
export function* batches(buf: Buffer, position = 0): Generator<BatchView> {
  const end = wholeBatchesEnd(buf, position);
  for (let pos = position; pos < end;) {
    const batch = new BatchView(buf, pos);
    yield batch;
    pos = batch.end;
  }
}

/** Calls `visit` for each whole batch, in order; the view is only valid during the call. */
export function forEachBatch(buf: Buffer, visit: (batch: BatchView) => void): void {
  for (const batch of batches(buf)) visit(batch);
}

export interface BatchProblem {
  code: ErrorCode;
  reason: string;
}

/**
 * Checks the batch starting at `position`: whole, plausible length, magic 2, CRC. Returns what is
 * wrong, or null. Used by produce validation and by log recovery, which cuts a log at the first
 * batch that fails.
 */
export function checkBatch(buf: Buffer, position: number): BatchProblem | null {
  const remaining = buf.length - position;
  if (remaining < BATCH_HEADER_BYTES) {
    return corrupt(`truncated batch header: ${remaining} bytes`);
  }

  const batchLength = buf.readInt32BE(position + BATCH_LENGTH);
  if (batchLength < BATCH_LENGTH_MIN) return corrupt(`batch length ${batchLength} too small`);
  if (LOG_OVERHEAD + batchLength > remaining) {
    return corrupt(`batch length ${batchLength} beyond the ${remaining} bytes present`);
  }

  const magic = buf.readInt8(position + MAGIC);
  if (magic !== MAGIC_V2) {
    return { code: ErrorCode.INVALID_RECORD, reason: `magic ${magic}: only magic 2 is served` };
  }

  const batch = new BatchView(buf, position);
  const crc = batch.computeCrc();
  if (crc !== batch.crc) return corrupt(`crc ${batch.crc} does not match computed ${crc}`);
  return null;
}

function corrupt(reason: string): BatchProblem {
  return { code: ErrorCode.CORRUPT_MESSAGE, reason };
}

export interface BatchesSummary {
  batchCount: number;
  recordCount: number;
  /** The largest batch, header included: compared with max.message.bytes. */
  batchBytesMax: number;
}

export interface ValidateOptions {
  /**
   * Batches from a producer must count their offsets densely (lastOffsetDelta + 1 ==
   * recordCount, at least one record); a follower takes the leader's batches as they are.
   */
  fromProducer?: boolean;
}

/** Validates every batch of a records blob; throws the KafkaError a client should see. */
export function validateBatches(buf: Buffer, options: ValidateOptions = {}): BatchesSummary {
  const summary: BatchesSummary = { batchCount: 0, recordCount: 0, batchBytesMax: 0 };

  for (let pos = 0; pos < buf.length;) {
    const problem = checkBatch(buf, pos);
    if (problem) throw new KafkaError(problem.code, `batch at byte ${pos}: ${problem.reason}`);

    const batch = new BatchView(buf, pos);
    if (options.fromProducer) checkProducerCounts(batch);

    summary.batchCount += 1;
    summary.recordCount += batch.recordCount;
    summary.batchBytesMax = Math.max(summary.batchBytesMax, batch.sizeBytes);
    pos = batch.end;
  }
  return summary;
}

function checkProducerCounts(batch: BatchView): void {
  const count = batch.recordCount;
  if (count < 1 || batch.lastOffsetDelta !== count - 1) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `batch with ${count} records has last offset delta ${batch.lastOffsetDelta}`,
    );
  }
}

/** Writes the base offset in place. The CRC does not cover it, so the batch stays valid. */
export function stampBaseOffset(buf: Buffer, position: number, baseOffset: bigint): void {
  buf.writeBigInt64BE(baseOffset, position + BASE_OFFSET);
}

/** Writes the partition leader epoch in place; also outside the CRC. */
export function stampPartitionLeaderEpoch(buf: Buffer, position: number, epoch: number): void {
  buf.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH);
}

/**
 * Marks a batch as stamped with the broker's clock (topics with LogAppendTime): sets the timestamp
 * type bit and the max timestamp, then the CRC, which covers both. Records are not touched: a
 * reader takes every record's timestamp from the max timestamp of such a batch.
 */
export function stampLogAppendTime(buf: Buffer, position: number, timestampMs: bigint): void {
  const attributes = buf.readInt16BE(position + ATTRIBUTES) | LOG_APPEND_TIME_BIT;
  buf.writeInt16BE(attributes, position + ATTRIBUTES);
  buf.writeBigInt64BE(timestampMs, position + MAX_TIMESTAMP);

  const batch = new BatchView(buf, position);
  buf.writeUInt32BE(batch.computeCrc(), position + CRC);
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: bigint;
  timestamp: bigint;
  /** Key, value and header values share memory with the (decompressed) batch. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/**
 * Decodes the records of one batch (a BatchView, or a buffer starting with a batch),
 * decompressing them when needed. Malformed records are CORRUPT_MESSAGE.
 */
export function decodeRecords(batch: BatchView | Buffer): DecodedRecord[] {
  const view = batch instanceof BatchView ? batch : new BatchView(batch, 0);
  invariant(view.magic === MAGIC_V2, 'decodeRecords needs a magic 2 batch');

  const section = view.buffer.subarray(view.position + BATCH_HEADER_BYTES, view.end);
  const reader = new ByteReader(decompress(view.compression, section));
  const baseOffset = view.baseOffset;
  const baseTimestamp = view.baseTimestamp;
  const appendTime = view.timestampType === TimestampType.LOG_APPEND_TIME;

  const records: DecodedRecord[] = [];
  for (let i = 0; i < view.recordCount; i++) {
    const record = readRecord(reader, baseOffset, baseTimestamp);
    if (appendTime) record.timestamp = view.maxTimestamp;
    records.push(record);
  }
  return records;
}

function readRecord(reader: ByteReader, baseOffset: bigint, baseTimestamp: bigint): DecodedRecord {
  const length = reader.varint();
  const end = reader.pos + length;
  if (length < 0 || end > reader.buf.length) reader.fail(`record length ${length}`);

  reader.pos += 1; // record attributes: unused by magic 2
  const timestampDelta = reader.varlong();
  const offsetDelta = reader.varint();
  const key = reader.nullableBytes();
  const value = reader.nullableBytes();

  const headerCount = reader.varint();
  if (headerCount < 0) reader.fail(`header count ${headerCount}`);
  const headers: RecordHeader[] = [];
  for (let h = 0; h < headerCount; h++) {
    const headerKey = reader.nullableBytes();
    if (headerKey === null) reader.fail('null header key');
    headers.push({ key: headerKey.toString('utf8'), value: reader.nullableBytes() });
  }

  if (reader.pos !== end) reader.fail(`record body ends at ${reader.pos}, length says ${end}`);
  return {
    offset: baseOffset + BigInt(offsetDelta),
    timestamp: baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/** Reads Kafka's zigzag varints; any overrun is a corrupt record. */
class ByteReader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  fail(reason: string): never {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `malformed record: ${reason}`);
  }

  private byte(): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end of records');
    return this.buf[this.pos++];
  }

  varint(): number {
    let raw = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
    }
    return this.fail('varint longer than 5 bytes');
  }

  varlong(): bigint {
    let raw = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      raw |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (raw >> 1n) ^ -(raw & 1n);
    }
    return this.fail('varlong longer than 10 bytes');
  }

  nullableBytes(): Buffer | null {
    const length = this.varint();
    if (length < -1) this.fail(`length ${length}`);
    if (length === -1) return null;
    if (this.pos + length > this.buf.length) this.fail(`length ${length} beyond the records`);

    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return bytes;
  }
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Milliseconds; defaults to the batch options' timestamp. */
  timestamp?: bigint | number;
}

export interface EncodeBatchOptions {
  baseOffset?: bigint;
  /** -1 as a producer sends it; the leader stamps its own. */
  partitionLeaderEpoch?: number;
  compression?: Compression;
  /** The timestamp of records that name none; defaults to the wall clock. */
  timestamp?: bigint | number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
}

/**
 * Encodes records as one magic 2 batch, for tests and tools (the broker never does this to
 * stored data). Offset deltas count from 0; producer fields default to "no producer id".
 */
export function encodeBatch(records: RecordInput[], options: EncodeBatchOptions = {}): Buffer {
  invariant(records.length > 0, 'a record batch holds at least one record');
  const defaultTimestamp = BigInt(options.timestamp ?? Date.now());
  const timestamps = records.map((r) => BigInt(r.timestamp ?? defaultTimestamp));
  const baseTimestamp = timestamps[0];
  const maxTimestamp = timestamps.reduce((a, b) => (b > a ? b : a));

  const body = new ByteWriter();
  records.forEach((r, i) => writeRecord(body, r, i, timestamps[i] - baseTimestamp));
  const compression = options.compression ?? Compression.NONE;
  const section = compress(compression, body.finish());

  const attributes =
    compression |
    (options.transactional ? TRANSACTIONAL_BIT : 0) |
    (options.control ? CONTROL_BIT : 0);

  const buf = Buffer.alloc(BATCH_HEADER_BYTES + section.length);
  buf.writeBigInt64BE(options.baseOffset ?? 0n, BASE_OFFSET);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, BATCH_LENGTH);
  buf.writeInt32BE(options.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH);
  buf.writeInt8(MAGIC_V2, MAGIC);
  buf.writeInt16BE(attributes, ATTRIBUTES);
  buf.writeInt32BE(records.length - 1, LAST_OFFSET_DELTA);
  buf.writeBigInt64BE(baseTimestamp, BASE_TIMESTAMP);
  buf.writeBigInt64BE(maxTimestamp, MAX_TIMESTAMP);
  buf.writeBigInt64BE(options.producerId ?? -1n, PRODUCER_ID);
  buf.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH);
  buf.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE);
  buf.writeInt32BE(records.length, RECORD_COUNT);
  section.copy(buf, BATCH_HEADER_BYTES);

  buf.writeUInt32BE(new BatchView(buf, 0).computeCrc(), CRC);
  return buf;
}

function writeRecord(out: ByteWriter, record: RecordInput, offsetDelta: number, tsDelta: bigint) {
  const body = new ByteWriter();
  body.int8(0);
  body.varlong(tsDelta);
  body.varint(offsetDelta);
  body.nullableBytes(record.key ?? null);
  body.nullableBytes(record.value);

  const headers = record.headers ?? [];
  body.varint(headers.length);
  for (const header of headers) {
    body.nullableBytes(Buffer.from(header.key, 'utf8'));
    body.nullableBytes(header.value);
  }

  const bytes = body.finish();
  out.varint(bytes.length);
  out.bytes(bytes);
}

/** A growable buffer for the encoder. */
class ByteWriter {
  private buf = Buffer.alloc(256);
  private pos = 0;

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  int8(value: number): void {
    this.reserve(1);
    this.buf.writeInt8(value, this.pos);
    this.pos += 1;
  }

  varint(value: number): void {
    this.unsignedVarlong(BigInt(((value << 1) ^ (value >> 31)) >>> 0));
  }

  varlong(value: bigint): void {
    this.unsignedVarlong(BigInt.asUintN(64, (value << 1n) ^ (value >> 63n)));
  }

  private unsignedVarlong(raw: bigint): void {
    this.reserve(10);
    let rest = raw;
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  bytes(bytes: Buffer): void {
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  nullableBytes(bytes: Buffer | null): void {
    if (bytes === null) return this.varint(-1);
    this.varint(bytes.length);
    this.bytes(bytes);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
