// A cursor writing into one Buffer allocated at the exact size the sizing pass computed. Nothing
// here grows or concatenates buffers; writing past the end is a bug in a size function.
import { invariant } from '../assert.ts';

const UUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export class Writer {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  int8(value: number): void {
    this.pos = this.buf.writeInt8(value, this.pos);
  }

  int16(value: number): void {
    this.pos = this.buf.writeInt16BE(value, this.pos);
  }

  uint16(value: number): void {
    this.pos = this.buf.writeUInt16BE(value, this.pos);
  }

  int32(value: number): void {
    this.pos = this.buf.writeInt32BE(value, this.pos);
  }

  int64(value: bigint): void {
    this.pos = this.buf.writeBigInt64BE(value, this.pos);
  }

  float64(value: number): void {
    this.pos = this.buf.writeDoubleBE(value, this.pos);
  }

  uvarint(value: number): void {
    invariant(value >= 0 && value <= 0xffffffff, `unsigned varint out of range: ${value}`);

    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  varint(value: number): void {
    this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  varlong(value: bigint): void {
    let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));

    while (zigzag >= 0x80n) {
      this.buf[this.pos++] = Number(zigzag & 0x7fn) | 0x80;
      zigzag >>= 7n;
    }
    this.buf[this.pos++] = Number(zigzag);
  }

  bytes(value: Buffer): void {
    this.pos += value.copy(this.buf, this.pos);
  }

  /** Writes UTF-8 text whose byte length the caller has already accounted for. */
  utf8(value: string, byteLength: number): void {
    const written = this.buf.write(value, this.pos, byteLength, 'utf8');
    invariant(written === byteLength, 'string size changed between sizing and writing');
    this.pos += written;
  }

  uuid(value: string): void {
    invariant(UUID_PATTERN.test(value), `not a UUID: ${value}`);
    this.pos += this.buf.write(value.replaceAll('-', ''), this.pos, 16, 'hex');
  }
}

export function uvarintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

export function varintSize(value: number): number {
  return uvarintSize(((value << 1) ^ (value >> 31)) >>> 0);
}

export function varlongSize(value: bigint): number {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let size = 1;

  while (zigzag >= 0x80n) {
    zigzag >>= 7n;
    size++;
  }
  return size;
}
