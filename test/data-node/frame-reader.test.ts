// The Kafka listener's framing: size-prefixed frames come out whole and in order however the byte
// stream is cut into chunks, and a declared size outside the limit is refused before any body
// byte is buffered.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, FrameSizeError } from '../../data-node/server.ts';

function framed(payloads: Uint8Array[]): Buffer {
  return Buffer.concat(
    payloads.map((p) => {
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(p.length);
      return Buffer.concat([prefix, Buffer.from(p)]);
    }),
  );
}

function cut(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, stream.length]) {
    if (point > from) chunks.push(stream.subarray(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}

describe('FrameReader', () => {
  it('yields every frame whole and in order, whatever the chunking', () => {
    const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 });
    const cuts = fc.array(fc.nat(), { maxLength: 20 });

    fc.assert(
      fc.property(payloads, cuts, (frames, points) => {
        const reader = new FrameReader(1000);
        const out = cut(framed(frames), points).flatMap((chunk) => reader.push(chunk));
        expect(out.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
      }),
    );
  });

  it('refuses a frame over the limit as soon as its size is known', () => {
    const reader = new FrameReader(100);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(101);
    expect(() => reader.push(prefix)).toThrow(FrameSizeError);
  });

  it('refuses a negative size', () => {
    const reader = new FrameReader(100);
    expect(() => reader.push(Buffer.from([0xff, 0xff, 0xff, 0xfe]))).toThrow(FrameSizeError);
  });

  it('waits for a size prefix split across chunks', () => {
    const reader = new FrameReader(100);
    const stream = framed([Buffer.from('abc')]);
    expect(reader.push(stream.subarray(0, 2))).toEqual([]);
    expect(reader.push(stream.subarray(2, 5))).toEqual([]);
    expect(reader.push(stream.subarray(5)).map(String)).toEqual(['abc']);
  });
});
