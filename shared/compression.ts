// Compression codecs of the Kafka record batch (attributes bits 0-2). The broker never needs them
// on the hot path: batches are stored and served as the producer compressed them. They serve
// decoding for tools, tests and lookups that must look inside a batch (offsets by timestamp).
//
// Codecs come from libraries: node:zlib (gzip), snappy, lz4-napi (LZ4 frame format) and fzstd
// (zstd, decompression only). Kafka's Java producer wraps snappy in the xerial framing; other
// clients send a raw snappy block. Both are read here.
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

/** The first 8 bytes of a xerial snappy stream, followed by two int32 versions. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/** Decompresses the records section of a batch; a malformed payload is CORRUPT_MESSAGE. */
export function decompress(codec: number, data: Buffer): Buffer {
  try {
    return decompressUnchecked(codec, data);
  } catch (err) {
    if (err instanceof KafkaError) throw err;
    const name = compressionName(codec);
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${name} payload: ${(err as Error).message}`);
  }
}

function decompressUnchecked(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data;
    case Compression.GZIP:
      return gunzipSync(data);
    case Compression.SNAPPY:
      return isXerialFramed(data) ? unframeXerial(data) : toBuffer(snappyUncompress(data));
    case Compression.LZ4:
      return decompressFrameSync(data);
    case Compression.ZSTD:
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
function unframeXerial(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;

  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial block length');
    const blockBytes = data.readInt32BE(pos);
    pos += 4;

    if (blockBytes < 0 || pos + blockBytes > data.length) {
      throw new Error('truncated xerial block');
    }
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

function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'binary');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
