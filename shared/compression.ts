// Compression codecs of the Kafka record batch (attributes bits 0-2). The broker never needs them
// on the hot path: batches are stored and served as the producer compressed them. They serve
// decoding for tools, tests and lookups that must look inside a batch (offsets by timestamp).
//
// Codecs come from libraries: node:zlib (gzip), snappy, lz4-napi (LZ4 frame format) and fzstd
// (zstd, decompression only). Kafka's Java producer wraps snappy in the xerial framing; other
// clients send a raw snappy block. Both are read here.
//
// A few kilobytes of zstd or gzip can stand for gigabytes, and the batch's CRC says nothing about
// that. Decompression is therefore bounded (MAX_DECOMPRESSED_BYTES): zstd's frame and block
// headers, snappy's and LZ4's declared lengths are checked before any output is allocated, gzip
// stops at the bound, and a section beyond it is a corrupt message.
import { gunzipSync, gzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

import { ErrorCode, KafkaError } from './kafka-errors.ts';

export const Compression = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

export function compressionName(codec: number): string {
  for (const [name, value] of Object.entries(Compression)) {
    if (value === codec) return name.toLowerCase();
  }
  return `codec-${codec}`;
}

/**
 * The most bytes one batch's records section may decompress to. Producers check their batches
 * against their request size before compressing them, so real batches stay far below it.
 */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The first 8 bytes of a xerial snappy stream, followed by two int32 versions. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/**
 * Decompresses the records section of a batch; a malformed payload, or one that would expand
 * beyond `maxBytes`, is CORRUPT_MESSAGE.
 */
export function decompress(
  codec: number,
  data: Buffer,
  maxBytes: number = MAX_DECOMPRESSED_BYTES,
): Buffer {
  try {
    const out = decompressUnchecked(codec, data, maxBytes);
    if (out.length > maxBytes) throw new Error(tooLarge(out.length, maxBytes));
    return out;
  } catch (err) {
    if (err instanceof KafkaError) throw err;
    const name = compressionName(codec);
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${name} payload: ${(err as Error).message}`);
  }
}

function decompressUnchecked(codec: number, data: Buffer, maxBytes: number): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return gunzipSync(data, { maxOutputLength: maxBytes });
    case Compression.SNAPPY:
      if (isXerialFramed(data)) return unframeXerial(data, maxBytes);
      checkBound(snappyDeclaredLength(data, 0), maxBytes);
      return toBuffer(snappyUncompress(data));
    case Compression.LZ4:
      checkBound(lz4DeclaredLength(data), maxBytes);
      return decompressFrameSync(data);
    case Compression.ZSTD:
      checkBound(zstdOutputBound(data), maxBytes);
      return toBuffer(zstdDecompress(data));
    default:
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `unknown compression codec ${codec}`);
  }
}

/**
 * Compresses a records section, for tests and tools. Snappy is written in the xerial framing as
 * Kafka's Java producer does. No zstd compressor is available here (fzstd only decompresses).
 */
export function compress(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return gzipSync(data);
    case Compression.SNAPPY:
      return frameXerial(data);
    case Compression.LZ4:
      return compressFrameSync(data);
    default:
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        `cannot compress with ${compressionName(codec)}`,
      );
  }
}

function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** Xerial framing: the 16-byte header, then blocks of int32 length + raw snappy block. */
function unframeXerial(data: Buffer, maxBytes: number): Buffer {
  const parts: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;
  let declared = 0;

  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial block length');
    const blockBytes = data.readInt32BE(pos);
    pos += 4;

    if (blockBytes < 0 || pos + blockBytes > data.length) {
      throw new Error('truncated xerial block');
    }
    declared += snappyDeclaredLength(data, pos);
    checkBound(declared, maxBytes);
    parts.push(toBuffer(snappyUncompress(data.subarray(pos, pos + blockBytes))));
    pos += blockBytes;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** One xerial block per 32 KiB of input, the block size Kafka's Java client uses. */
function frameXerial(data: Buffer): Buffer {
  const blockInputBytes = 32 * 1024;
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);

  const parts: Buffer[] = [header];
  for (let pos = 0; pos < data.length; pos += blockInputBytes) {
    const block = snappyCompress(data.subarray(pos, pos + blockInputBytes));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function checkBound(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) throw new Error(tooLarge(bytes, maxBytes));
}

function tooLarge(bytes: number, maxBytes: number): string {
  return `would decompress to ${bytes} bytes, more than ${maxBytes}`;
}

/** A raw snappy block starts with its uncompressed length as a little-endian base-128 varint. */
function snappyDeclaredLength(data: Buffer, position: number): number {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    const byte = data[position + i];
    if (byte === undefined) throw new Error('truncated snappy length');
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return length;
  }
  throw new Error('snappy length longer than 5 bytes');
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_CONTENT_SIZE_FLAG = 0x08;

/** The content size an LZ4 frame declares, or 0 when it declares none. */
function lz4DeclaredLength(data: Buffer): number {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_MAGIC) return 0;
  if ((data[4]! & LZ4_CONTENT_SIZE_FLAG) === 0) return 0;
  if (data.length < 14) throw new Error('truncated lz4 frame header');
  return Number(data.readBigUInt64LE(6));
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX_BYTES = 128 * 1024;

/**
 * An upper bound of what fzstd allocates to decompress `data`, read from the frame and block
 * headers without decompressing: per frame, its window (or declared content size) plus what
 * its blocks can produce (raw and RLE blocks say their size; a compressed block gives at most
 * 128 KiB). Skippable frames are stepped over.
 */
function zstdOutputBound(data: Buffer): number {
  let pos = 0;
  let bound = 0;

  while (pos < data.length) {
    need(data, pos + 8);
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error('not a zstd frame');

    const frame = zstdFrameHeader(data, pos + 4);
    const blocks = zstdBlocks(data, frame.end, Math.min(frame.windowBytes, ZSTD_BLOCK_MAX_BYTES));
    bound += (frame.contentBytes > 0 ? frame.contentBytes : frame.windowBytes) + blocks.outputBytes;
    pos = blocks.end + (frame.checksum ? 4 : 0);
  }
  return bound;
}

function zstdFrameHeader(data: Buffer, position: number) {
  const descriptor = data[position]!;
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  let pos = position + 1;

  let windowBytes = 0;
  if (!singleSegment) {
    const exponent = data[pos]! >> 3;
    const base = 2 ** (10 + exponent);
    windowBytes = base + (base / 8) * (data[pos]! & 7);
    pos += 1;
  }
  pos += dictionaryBytes;

  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
  need(data, pos + sizeBytes);
  let contentBytes = 0;
  for (let i = 0; i < sizeBytes; i++) contentBytes += data[pos + i]! * 2 ** (8 * i);
  if (sizeBytes === 2) contentBytes += 256;
  if (singleSegment) windowBytes = contentBytes;

  return { windowBytes, contentBytes, checksum: (descriptor & 4) !== 0, end: pos + sizeBytes };
}

function zstdBlocks(data: Buffer, position: number, compressedBlockMaxBytes: number) {
  let pos = position;
  let outputBytes = 0;

  for (;;) {
    need(data, pos + 3);
    const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    const last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    pos += 3;

    if (type === 3) throw new Error('reserved zstd block type');
    outputBytes += type === 2 ? compressedBlockMaxBytes : size;
    pos += type === 1 ? 1 : size;
    if (last) return { outputBytes, end: pos };
  }
}

function need(data: Buffer, end: number): void {
  if (end > data.length) throw new Error('truncated zstd frame');
}

function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'binary');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
