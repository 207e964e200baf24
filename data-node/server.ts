// The Kafka TCP listener: splits each connection's byte stream into size-prefixed request frames,
// hands every frame to the dispatcher as soon as it arrives (so pipelined produces can share one
// fsync), and writes the answers back strictly in request order. It knows nothing of Kafka APIs;
// the dispatcher decides, per frame, to answer, to stay silent (acks=0) or to close.
//
// Reading pauses while a connection has too many unanswered requests or its answers pile up
// unread, so one client cannot make the node buffer without bound.
//
// A bad connection never harms the others: a frame over the size limit, or a dispatcher verdict of
// "close", ends that connection only, and a failure inside a handler is turned into a verdict by
// the dispatcher rather than thrown here.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../shared/logger.ts';

/** The dispatcher's verdict on one request frame. */
export type Reply =
  { kind: 'respond'; bytes: Buffer } | { kind: 'silent' } | { kind: 'close'; reason: string };

export interface ConnectionInfo {
  id: number;
  clientHost: string;
  /** Set to true once the connection is gone; long polls may give up early. */
  closed: boolean;
}

/** Must never reject: failures become a `close` verdict. */
export type FrameHandler = (frame: Buffer, connection: ConnectionInfo) => Promise<Reply>;

export interface KafkaServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `port`. */
  port: number;
  /** Largest request frame accepted, size prefix excluded. */
  maxRequestBytes: number;
  /** Requests read ahead of their answers on one connection before reading pauses. */
  maxInFlightPerConnection?: number;
}

const SIZE_PREFIX_BYTES = 4;
const DEFAULT_MAX_IN_FLIGHT = 64;

export class KafkaServer {
  private readonly sockets = new Set<Socket>();
  private nextConnectionId = 1;

  private constructor(
    private readonly server: Server,
    private readonly options: KafkaServerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {}

  static async listen(
    options: KafkaServerOptions,
    handler: FrameHandler,
    logger: Logger,
  ): Promise<KafkaServer> {
    const server = createServer({ noDelay: true });
    const kafka = new KafkaServer(server, options, handler, logger);
    server.on('connection', (socket) => kafka.accept(socket));

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });

    server.on('error', (err) => logger.error({ err }, 'kafka listener error'));
    logger.info({ host: options.host, port: kafka.port }, 'kafka listener started');
    return kafka;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  /** Stops accepting, and ends every open connection without waiting for pending answers. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const info: ConnectionInfo = {
      id: this.nextConnectionId++,
      clientHost: socket.remoteAddress ?? 'unknown',
      closed: false,
    };
    const logger = this.logger.child({ connection: info.id, clientHost: info.clientHost });

    this.sockets.add(socket);
    socket.on('close', () => {
      info.closed = true;
      this.sockets.delete(socket);
      logger.debug('connection closed');
    });
    socket.on('error', (err) => logger.debug({ err: err.message }, 'connection error'));

    new Connection(socket, info, this.options, this.handler, logger).start();
  }
}

/** One client connection: framing on the way in, ordering on the way out. */
class Connection {
  private readonly frames: FrameReader;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private outputBlocked = false;

  /** Resolves once every answer so far has been written; each new answer chains onto it. */
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly info: ConnectionInfo,
    options: KafkaServerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {
    this.frames = new FrameReader(options.maxRequestBytes);
    this.maxInFlight = options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT;
  }

  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  private receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      this.close((err as Error).message);
      return;
    }

    for (const frame of frames) this.dispatch(frame);
  }

  private dispatch(frame: Buffer): void {
    const verdict = this.handler(frame, this.info);
    this.inFlight++;
    this.throttleReading();

    this.written = this.written.then(async () => {
      const reply = await verdict.catch((err: unknown) => closeVerdict(err));
      this.deliver(reply);
      this.inFlight--;
      this.throttleReading();
    });
  }

  private deliver(reply: Reply): void {
    if (this.info.closed) return;
    if (reply.kind === 'close') return this.close(reply.reason);
    if (reply.kind === 'silent') return;

    // A client that does not read its answers must not make us buffer them without bound.
    const flushed = this.socket.write(reply.bytes);
    if (!flushed && !this.outputBlocked) {
      this.outputBlocked = true;
      this.socket.once('drain', () => {
        this.outputBlocked = false;
        this.throttleReading();
      });
    }
  }

  /** Reads further requests only while few are unanswered and answers flow out. */
  private throttleReading(): void {
    if (this.info.closed) return;
    if (this.inFlight >= this.maxInFlight || this.outputBlocked) this.socket.pause();
    else this.socket.resume();
  }

  private close(reason: string): void {
    if (this.info.closed) return;
    this.logger.warn({ reason }, 'closing connection');
    this.info.closed = true;
    this.socket.destroy();
  }
}

function closeVerdict(err: unknown): Reply {
  return { kind: 'close', reason: `request failed: ${String(err)}` };
}

/** A frame's declared size is negative or above the limit; the stream cannot be trusted after it. */
export class FrameSizeError extends Error {
  override name = 'FrameSizeError';
}

/**
 * Splits a byte stream into frames of `int32 size, size bytes`, returning each frame without its
 * prefix. Frames inside one chunk are views of it, not copies.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;

    const frames: Buffer[] = [];
    for (;;) {
      const frame = this.nextFrame();
      if (frame === null) return frames;
      frames.push(frame);
    }
  }

  private nextFrame(): Buffer | null {
    if (this.bufferedBytes < SIZE_PREFIX_BYTES) return null;

    const size = this.peekSize();
    if (size < 0 || size > this.maxFrameBytes) {
      throw new FrameSizeError(`frame size ${size} outside 0..${this.maxFrameBytes}`);
    }
    if (this.bufferedBytes < SIZE_PREFIX_BYTES + size) return null;

    const whole = this.take(SIZE_PREFIX_BYTES + size);
    return whole.subarray(SIZE_PREFIX_BYTES);
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= SIZE_PREFIX_BYTES) return first.readInt32BE(0);

    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.readInt32BE(0);
  }

  /** Removes and returns the next `length` buffered bytes, copying only when they span chunks. */
  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let taken: Buffer;

    if (first.length >= length) {
      taken = first.subarray(0, length);
      this.chunks[0] = first.subarray(length);
      if (this.chunks[0].length === 0) this.chunks.shift();
    } else {
      const all = Buffer.concat(this.chunks, this.bufferedBytes);
      taken = all.subarray(0, length);
      this.chunks = all.length > length ? [all.subarray(length)] : [];
    }

    this.bufferedBytes -= length;
    return taken;
  }
}
