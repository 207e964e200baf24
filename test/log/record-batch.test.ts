// The magic v2 record batch codec: records survive encode/decode with every codec, null and empty
// stay distinct (P8), the CRC catches damage, and stamping offsets and epochs keeps it valid.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { compressSync as snappyRaw } from 'snappy';
import { describe, expect, it } from 'vitest';

import { Compression } from '../../shared/compression.ts';
import { ErrorCode, KafkaError } from '../../shared/kafka-errors.ts';
import {
  BATCH_HEADER_BYTES,
  BatchView,
  type RecordInput,
  batches,
  checkBatch,
  completeBatches,
  decodeRecords,
  encodeBatch,
  stampBaseOffset,
  stampLogAppendTime,
  stampPartitionLeaderEpoch,
  validateBatches,
} from '../../shared/record-batch.ts';

const nullableBytes = fc.option(
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  {
    nil: null,
  },
);

const record: fc.Arbitrary<RecordInput> = fc.record({
  key: nullableBytes,
  value: nullableBytes,
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: nullableBytes }), {
    maxLength: 3,
  }),
  timestamp: fc.bigInt({ min: 0n, max: 1n << 45n }),
});

const codec = fc.constantFrom(
  Compression.NONE,
  Compression.GZIP,
  Compression.SNAPPY,
  Compression.LZ4,
);

function codeOf(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof KafkaError ? err.code : -999;
  }
}

/** The same batch with another records section and codec (for codecs we cannot write). */
function withSection(batch: Buffer, compression: number, section: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), section]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(compression, 21);
  out.writeUInt32BE(new BatchView(out, 0).computeCrc(), 17);
  return out;
}

function hasZstd(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('encode and decode', () => {
  it('gives back every record, with offsets and timestamps, for every codec', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        codec,
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        (records, compression, baseOffset) => {
          const buf = encodeBatch(records, { compression, baseOffset });
          expect(validateBatches(buf, { fromProducer: true }).recordCount).toBe(records.length);

          const decoded = decodeRecords(buf);
          expect(decoded).toEqual(
            records.map((r, i) => ({
              offset: baseOffset + BigInt(i),
              timestamp: r.timestamp,
              key: r.key,
              value: r.value,
              headers: r.headers,
            })),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps null and empty keys, values and header values apart (P8)', () => {
    const records: RecordInput[] = [
      { key: null, value: Buffer.alloc(0) },
      { key: Buffer.alloc(0), value: null },
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'n', value: null }] },
      { key: null, value: null, headers: [{ key: 'e', value: Buffer.alloc(0) }] },
    ];
    const buf = encodeBatch(records, { timestamp: 1 });

    const decoded = decodeRecords(buf);
    expect(decoded.map((r) => r.key)).toEqual([null, Buffer.alloc(0), Buffer.from('k'), null]);
    expect(decoded.map((r) => r.value)).toEqual([Buffer.alloc(0), null, Buffer.from('v'), null]);
    expect(decoded[2].headers).toEqual([{ key: 'n', value: null }]);
    expect(decoded[3].headers).toEqual([{ key: 'e', value: Buffer.alloc(0) }]);
  });

  it('reads a zstd batch with null and empty fields (P8)', (ctx) => {
    if (!hasZstd()) return ctx.skip('the zstd command is not installed to compress the fixture');
    const records: RecordInput[] = [
      { key: null, value: Buffer.alloc(0), headers: [{ key: 'h', value: null }] },
      { key: Buffer.alloc(0), value: null, headers: [{ key: 'h', value: Buffer.alloc(0) }] },
    ];
    const plain = encodeBatch(records, { timestamp: 9 });
    const section = execFileSync('zstd', ['-c', '-q'], {
      input: plain.subarray(BATCH_HEADER_BYTES),
    });

    const decoded = decodeRecords(withSection(plain, Compression.ZSTD, section));
    expect(decoded).toEqual(decodeRecords(plain));
  });

  it('reads raw snappy blocks as well as the xerial framing', () => {
    const plain = encodeBatch([{ value: Buffer.from('hello snappy') }], { timestamp: 3 });
    const raw = snappyRaw(plain.subarray(BATCH_HEADER_BYTES));

    const decoded = decodeRecords(withSection(plain, Compression.SNAPPY, raw));
    expect(decoded[0].value?.toString()).toBe('hello snappy');
  });

  it('calls a broken compressed payload a corrupt message', () => {
    const plain = encodeBatch([{ value: Buffer.from('x') }], { timestamp: 3 });
    const gz = gzipSync(plain.subarray(BATCH_HEADER_BYTES));
    const broken = withSection(plain, Compression.GZIP, gz.subarray(0, gz.length - 6));
    expect(codeOf(() => decodeRecords(broken))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('gives every record of a LogAppendTime batch the batch max timestamp', () => {
    const buf = encodeBatch([
      { value: null, timestamp: 1 },
      { value: null, timestamp: 2 },
    ]);
    stampLogAppendTime(buf, 0, 99n);

    expect(checkBatch(buf, 0)).toBeNull();
    expect(decodeRecords(buf).map((r) => r.timestamp)).toEqual([99n, 99n]);
  });
});

describe('validation', () => {
  it('reports a corrupt message for any flipped bit under the CRC', () => {
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (records, at, bit) => {
          const buf = encodeBatch(records);
          const pos = 21 + (at % (buf.length - 21));
          buf[pos] ^= 1 << bit;
          expect(codeOf(() => validateBatches(buf))).toBe(ErrorCode.CORRUPT_MESSAGE);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reports truncated batches and bad lengths as corrupt, and other magics as invalid', () => {
    const buf = encodeBatch([{ value: Buffer.from('abc') }]);
    expect(codeOf(() => validateBatches(buf.subarray(0, buf.length - 1)))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    expect(codeOf(() => validateBatches(buf.subarray(0, 30)))).toBe(ErrorCode.CORRUPT_MESSAGE);

    const shortLength = Buffer.from(buf);
    shortLength.writeInt32BE(10, 8);
    expect(codeOf(() => validateBatches(shortLength))).toBe(ErrorCode.CORRUPT_MESSAGE);

    const magic1 = Buffer.from(buf);
    magic1.writeInt8(1, 16);
    expect(codeOf(() => validateBatches(magic1))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('requires dense offsets in batches from producers only', () => {
    const buf = encodeBatch([{ value: null }, { value: null }]);
    buf.writeInt32BE(5, 23);
    buf.writeUInt32BE(new BatchView(buf, 0).computeCrc(), 17);

    expect(codeOf(() => validateBatches(buf))).toBeNull();
    expect(codeOf(() => validateBatches(buf, { fromProducer: true }))).toBe(
      ErrorCode.INVALID_RECORD,
    );
  });
});

describe('walking and stamping in place', () => {
  it('walks whole batches and leaves out a partial tail', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(record, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (groups, cut) => {
          const parts = groups.map((g) => encodeBatch(g));
          const blob = Buffer.concat(parts);
          const cutAt = cut % (blob.length + 1);

          let expectedBytes = 0;
          let expectedCount = 0;
          for (const part of parts) {
            if (expectedBytes + part.length > cutAt) break;
            expectedBytes += part.length;
            expectedCount += 1;
          }

          const whole = completeBatches(blob.subarray(0, cutAt));
          expect(whole.length).toBe(expectedBytes);
          expect([...batches(blob.subarray(0, cutAt))].length).toBe(expectedCount);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stamps base offset and leader epoch without breaking the CRC', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(record, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 1n << 62n }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (groups, base, epoch) => {
          const blob = Buffer.concat(groups.map((g) => encodeBatch(g)));
          let next = base;
          for (const batch of batches(blob)) {
            stampBaseOffset(blob, batch.position, next);
            stampPartitionLeaderEpoch(blob, batch.position, epoch);
            next = batch.nextOffset;
          }

          validateBatches(blob, { fromProducer: true });
          const views = [...batches(blob)];
          expect(views[0].baseOffset).toBe(base);
          expect(views.every((b) => b.partitionLeaderEpoch === epoch)).toBe(true);
          expect(decodeRecords(views[views.length - 1]).at(-1)?.offset).toBe(next - 1n);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reads header fields in place', () => {
    const buf = encodeBatch(
      [
        { value: null, timestamp: 10 },
        { value: null, timestamp: 30 },
      ],
      {
        baseOffset: 7n,
        partitionLeaderEpoch: 3,
        compression: Compression.GZIP,
        producerId: 42n,
        producerEpoch: 2,
        baseSequence: 5,
        transactional: true,
      },
    );
    const view = new BatchView(buf, 0);

    expect(view).toMatchObject({
      baseOffset: 7n,
      lastOffset: 8n,
      partitionLeaderEpoch: 3,
      magic: 2,
      compression: Compression.GZIP,
      isTransactional: true,
      isControl: false,
      baseTimestamp: 10n,
      maxTimestamp: 30n,
      producerId: 42n,
      producerEpoch: 2,
      baseSequence: 5,
      recordCount: 2,
      sizeBytes: buf.length,
    });
  });
});
