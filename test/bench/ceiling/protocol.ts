// The wire of the plain-Node ceiling: every message on every connection is a 4-byte big-endian
// length and a body. Client to leader: seq (u32) and payload; leader to client: the highest seq
// durable everywhere (acks are cumulative). Follower to leader: a type byte (FETCH or DURABLE) and
// a byte offset (f64, exact up to 2^53); leader to follower: log bytes from the fetch offset.

export const FETCH = 1;
export const DURABLE = 2;

export function frame(body: Buffer): Buffer[] {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  return [header, body];
}

export function clientFrameHeader(seq: number, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(payloadBytes + 4, 0);
  header.writeUInt32BE(seq, 4);
  return header;
}

export function ackMessage(seq: number): Buffer {
  const message = Buffer.allocUnsafe(8);
  message.writeUInt32BE(4, 0);
  message.writeUInt32BE(seq, 4);
  return message;
}

export function followerMessage(type: typeof FETCH | typeof DURABLE, offset: number): Buffer {
  const message = Buffer.allocUnsafe(13);
  message.writeUInt32BE(9, 0);
  message.writeUInt8(type, 4);
  message.writeDoubleBE(offset, 5);
  return message;
}

/**
 * Cuts a byte stream into length-prefixed bodies. A body inside one received chunk is a view of
 * it; only a body spread over several chunks is copied, once.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer, onBody: (body: Buffer) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;

    while (this.buffered >= 4) {
      const length = this.peekLength();
      if (this.buffered < 4 + length) return;

      this.take(4);
      onBody(this.take(length));
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks, 4).readUInt32BE(0);
  }

  /** Removes and returns the next `bytes` bytes; the caller checked that they are buffered. */
  private take(bytes: number): Buffer {
    if (bytes === 0) return Buffer.alloc(0);
    this.buffered -= bytes;
    const first = this.chunks[0]!;

    if (first.length > bytes) {
      this.chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    if (first.length === bytes) {
      this.chunks.shift();
      return first;
    }

    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, bytes - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
