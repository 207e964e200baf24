// The Kafka TCP listener: splits each connection's byte stream into size-prefixed request frames,
// hands every frame to the dispatcher as soon as it arrives (so pipelined produces can share one
// fsync), and writes the answers back strictly in request order. It knows nothing of Kafka APIs;
// the dispatcher decides, per frame, to answer, to stay silent (acks=0) or to close.
//
// Reading pauses while a connection has too many unanswered requests or its answers pile up
// unread, so one client cannot make the node buffer without bound. Across connections, the bytes
// of requests read but not yet answered share one budget, and the number of open connections is
// capped, so that many clients together cannot exhaust memory or file descriptors (the partition
// logs need descriptors too). A request must arrive whole within a deadline of its first byte, and
// a connection that stays silent with nothing in flight is closed, so trickling or idle clients
// cannot hold connections forever.
//
// A bad connection never harms the others: a frame over the size limit, or a dispatcher verdict of
// "close", ends that connection only, and a failure inside a handler is turned into a verdict by
// the dispatcher rather than thrown here.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { invariant } from '../shared/assert.ts';
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
  /**
   * Connections open at once; beyond it new connections are closed as they arrive. By default
   * half the process's open-file limit (where Linux tells it), at most 10,000.
   */
  maxConnections?: number;
  /**
   * Bytes of requests read but not yet answered, over all connections. A connection whose bytes
   * would pass it is closed. At least `maxRequestBytes` plus its size prefix.
   */
  maxQueuedRequestBytes?: number;
  /** A request must arrive whole within this long of its first byte, or the connection closes. */
  requestReadTimeoutMs?: number;
  /** A connection with no request in flight and no traffic for this long is closed. */
  connectionIdleTimeoutMs?: number;
  /**
   * Told the id of every connection once it is gone, whoever closed it. The group coordinator
   * learns this way that a member's process may have died.
   */
  onConnectionClosed?: (connectionId: number) => void;
}

const SIZE_PREFIX_BYTES = 4;
const DEFAULT_MAX_IN_FLIGHT = 64;
const DEFAULT_MAX_CONNECTIONS = 10_000;
const DEFAULT_MAX_QUEUED_REQUEST_BYTES = 512 * 1024 * 1024;
const DEFAULT_REQUEST_READ_TIMEOUT_MS = 60_000;
/** Kafka's `connections.max.idle.ms`. */
const DEFAULT_CONNECTION_IDLE_TIMEOUT_MS = 600_000;

/** The byte budget of requests read and not yet answered, shared by every connection. */
class RequestMemory {
  private usedBytes = 0;

  constructor(readonly limitBytes: number) {}

  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` from the budget, or nothing when they do not fit. */
  tryTake(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    invariant(bytes <= this.usedBytes, 'request memory given back twice');
    this.usedBytes -= bytes;
  }
}

export class KafkaServer {
  private readonly sockets = new Set<Socket>();
  private readonly memory: RequestMemory;
  private nextConnectionId = 1;
  /** Connections refused at the cap since it was last reported. */
  private refused = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: KafkaServerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {
    const wanted = options.maxQueuedRequestBytes ?? DEFAULT_MAX_QUEUED_REQUEST_BYTES;
    invariant(
      wanted >= options.maxRequestBytes + SIZE_PREFIX_BYTES,
      'the queued request budget must hold one request of the largest size',
    );
    this.memory = new RequestMemory(wanted);
  }

  static async listen(
    options: KafkaServerOptions,
    handler: FrameHandler,
    logger: Logger,
  ): Promise<KafkaServer> {
    const server = createServer({ noDelay: true });
    const kafka = new KafkaServer(server, options, handler, logger);
    server.on('connection', (socket) => kafka.accept(socket));
    // Node closes connections beyond this itself, before they reach 'connection'.
    server.maxConnections = options.maxConnections ?? defaultMaxConnections();
    server.on('drop', () => kafka.dropped());

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

  /** Bytes of requests read and not yet answered, over all connections. */
  get queuedRequestBytes(): number {
    return this.memory.used;
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
      this.options.onConnectionClosed?.(info.id);
    });
    socket.on('error', (err) => logger.debug({ err: err.message }, 'connection error'));

    new Connection(socket, info, this.options, this.memory, this.handler, logger).start();
  }

  /** A connection refused at the cap: reported once per burst, not once per connection. */
  private dropped(): void {
    this.refused++;
    if (this.refused > 1) return;

    const maxConnections = this.server.maxConnections;
    this.logger.warn({ maxConnections }, 'connection limit reached, refusing new connections');
    const report = setTimeout(() => {
      this.logger.warn({ refused: this.refused, maxConnections }, 'connections refused');
      this.refused = 0;
    }, DROP_REPORT_INTERVAL_MS);
    report.unref();
  }
}

const DROP_REPORT_INTERVAL_MS = 10_000;

/** Half the open-file limit leaves the other half to partition logs and the node's own sockets. */
function defaultMaxConnections(): number {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return DEFAULT_MAX_CONNECTIONS;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  if (soft === undefined) return DEFAULT_MAX_CONNECTIONS;
  return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(Number(soft) / 2)));
}

/** One client connection: framing on the way in, ordering on the way out. */
class Connection {
  private readonly frames: FrameReader;
  private readonly maxInFlight: number;
  private readonly readTimeoutMs: number;
  private inFlight = 0;
  private outputBlocked = false;
  private readingPaused = false;
  /** Runs while a request is partly read: the time its sender has left to finish it. */
  private readDeadline: NodeJS.Timeout | null = null;

  /** Resolves once every answer so far has been written; each new answer chains onto it. */
  private written: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly info: ConnectionInfo,
    options: KafkaServerOptions,
    private readonly memory: RequestMemory,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {
    this.frames = new FrameReader(options.maxRequestBytes);
    this.maxInFlight = options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT;
    this.readTimeoutMs = options.requestReadTimeoutMs ?? DEFAULT_REQUEST_READ_TIMEOUT_MS;
    this.socket.setTimeout(options.connectionIdleTimeoutMs ?? DEFAULT_CONNECTION_IDLE_TIMEOUT_MS);
  }

  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('timeout', () => this.idle());
    this.socket.once('close', () => this.released());
  }

  private receive(chunk: Buffer): void {
    if (this.info.closed) return;
    if (!this.memory.tryTake(chunk.length)) {
      const { used, limitBytes } = this.memory;
      this.close(`queued requests hold ${used} of ${limitBytes} bytes; no room for more`);
      return;
    }

    const pendingBefore = this.frames.pendingBytes;
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      // Whole requests read before the bad size are dropped with the connection.
      this.memory.give(pendingBefore + chunk.length - this.frames.pendingBytes);
      this.close((err as Error).message);
      return;
    }

    for (const frame of frames) this.dispatch(frame);
    // Each whole request restarts the clock for the one that follows it.
    if (frames.length > 0 || this.readDeadline === null) this.armReadDeadline();
  }

  private dispatch(frame: Buffer): void {
    const verdict = this.handler(frame, this.info);
    this.inFlight++;
    this.throttleReading();

    this.written = this.written.then(async () => {
      const reply = await verdict.catch((err: unknown) => closeVerdict(err));
      this.deliver(reply);
      this.inFlight--;
      this.memory.give(frame.length + SIZE_PREFIX_BYTES);
      this.throttleReading();
    });
  }

  private armReadDeadline(): void {
    if (this.readDeadline !== null) clearTimeout(this.readDeadline);
    this.readDeadline = null;
    if (this.frames.pendingBytes === 0) return;

    this.readDeadline = setTimeout(() => this.readTimedOut(), this.readTimeoutMs);
    this.readDeadline.unref();
  }

  private readTimedOut(): void {
    this.readDeadline = null;
    // While we hold reading back, the client cannot finish its request: not its fault.
    if (this.readingPaused) return this.armReadDeadline();
    this.close(`request not received whole within ${this.readTimeoutMs} ms`);
  }

  private idle(): void {
    if (this.inFlight > 0 || this.frames.pendingBytes > 0) return;
    this.logger.debug('closing idle connection');
    this.info.closed = true;
    this.socket.destroy();
  }

  /** The connection is gone: the bytes of a partly read request go back to the budget. */
  private released(): void {
    if (this.readDeadline !== null) clearTimeout(this.readDeadline);
    this.readDeadline = null;
    this.memory.give(this.frames.discard());
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
    this.readingPaused = this.inFlight >= this.maxInFlight || this.outputBlocked;
    if (this.readingPaused) this.socket.pause();
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

  /** Bytes received that do not yet make a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Drops the bytes of a partial frame, returning how many there were. */
  discard(): number {
    const dropped = this.bufferedBytes;
    this.chunks = [];
    this.bufferedBytes = 0;
    return dropped;
  }

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
