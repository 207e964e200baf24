// A bounds-checked cursor over a frame. Every read checks the bytes it needs against the end of the
// frame first, so malformed input ends in a ProtocolError, never a RangeError or a read past the
// frame. Bytes and records are returned as views into the frame, not copies.
import { ProtocolError } from './errors.ts';

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number = buf.length,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  /** A reader over the next `count` bytes only; the caller moves this one past them. */
  sub(count: number): Reader {
    this.need(count);
    return new Reader(this.buf, this.pos, this.pos + count);
  }

  need(count: number): void {
    if (count > this.end - this.pos) {
      throw new ProtocolError(
        `frame truncated: need ${count} bytes at ${this.pos}, end ${this.end}`,
      );
    }
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  uint8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  int16(): number {
    this.need(2);
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  uint16(): number {
    this.need(2);
    const value = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  int64(): bigint {
    this.need(8);
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return value;
  }

  float64(): number {
    this.need(8);
    const value = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return value;
  }

  /** An unsigned varint of at most 32 bits (lengths, counts and tags of flexible versions). */
  uvarint(): number {
    let value = 0;
    let scale = 1;

    for (let i = 0; i < 5; i++) {
      const byte = this.uint8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolError('unsigned varint exceeds 32 bits');
        return value;
      }
      scale *= 128;
    }
    throw new ProtocolError('unsigned varint longer than 5 bytes');
  }

  /** A zigzag-encoded signed varint of at most 32 bits. */
  varint(): number {
    const zigzag = this.uvarint();
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }

  /** A zigzag-encoded signed varint of at most 64 bits. */
  varlong(): bigint {
    let value = 0n;
    let shift = 0n;

    for (let i = 0; i < 10; i++) {
      const byte = this.uint8();
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const unsigned = BigInt.asUintN(64, value);
        if (unsigned !== value) throw new ProtocolError('varlong exceeds 64 bits');
        return BigInt.asIntN(64, (unsigned >> 1n) ^ -(unsigned & 1n));
      }
      shift += 7n;
    }
    throw new ProtocolError('varlong longer than 10 bytes');
  }

  /** `count` bytes as a view into the frame. */
  slice(count: number): Buffer {
    this.need(count);
    const view = this.buf.subarray(this.pos, this.pos + count);
    this.pos += count;
    return view;
  }

  utf8(count: number): string {
    this.need(count);
    const text = this.buf.toString('utf8', this.pos, this.pos + count);
    this.pos += count;
    return text;
  }

  uuid(): string {
    this.need(16);
    const hex = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;

    const groups = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20)];
    return `${groups.join('-')}-${hex.slice(20)}`;
  }
}
