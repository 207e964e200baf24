// The ceiling's leader: a plain Node process that takes framed appends from one client, keeps them
// in memory for its followers, writes them to a new file with group commit, and acknowledges a
// frame once it is durable on itself and on every follower. Followers fetch from it over their own
// connection as Kafka followers do, and report how far they are durable. No Kafka, no records:
// only what any durable replicated log on this machine has to do.
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { tellParent } from '../processes.ts';
import { DURABLE, FETCH, FrameReader, ackMessage } from './protocol.ts';
import { DurableFile } from './durable-file.ts';

const [clientPort, replicationPort, followerCount, dir] = process.argv.slice(2);
const FETCH_BYTES_MAX = 1024 * 1024;

interface Chunk {
  start: number;
  bytes: Buffer;
}

interface Follower {
  socket: Socket;
  fetchOffset: number;
  waiting: boolean;
  durableEnd: number;
}

const followersExpected = Number(followerCount);
const followers: Follower[] = [];
/** Appended bytes not yet fetched by every follower, contiguous and in order. */
let chunks: Chunk[] = [];
const pendingAcks: { seq: number; end: number }[] = [];
let client: Socket | null = null;

const file = new DurableFile(join(dir!, 'leader.log'), () => commit());

function onClientFrame(body: Buffer): void {
  const seq = body.readUInt32BE(0);
  const payload = body.subarray(4);

  chunks.push({ start: file.appendedEnd, bytes: payload });
  file.append([payload]);
  pendingAcks.push({ seq, end: file.appendedEnd });

  for (const follower of followers) serve(follower);
}

/** Acknowledges every frame durable on the leader and on all followers. */
function commit(): void {
  let committedEnd = file.durableEnd;
  for (const follower of followers) committedEnd = Math.min(committedEnd, follower.durableEnd);
  if (followers.length < followersExpected) committedEnd = 0;

  let lastSeq = -1;
  while (pendingAcks.length > 0 && pendingAcks[0]!.end <= committedEnd) {
    lastSeq = pendingAcks.shift()!.seq;
  }
  if (lastSeq >= 0) client?.write(ackMessage(lastSeq));
}

/** Answers a waiting fetch with whole chunks from its offset, up to about FETCH_BYTES_MAX. */
function serve(follower: Follower): void {
  if (!follower.waiting || follower.fetchOffset >= file.appendedEnd) return;

  const body: Buffer[] = [];
  let bytes = 0;
  for (let i = chunkIndexAt(follower.fetchOffset); i < chunks.length; i++) {
    if (bytes > 0 && bytes + chunks[i]!.bytes.length > FETCH_BYTES_MAX) break;
    body.push(chunks[i]!.bytes);
    bytes += chunks[i]!.bytes.length;
  }

  follower.waiting = false;
  follower.socket.cork();
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(bytes, 0);
  follower.socket.write(header);
  for (const part of body) follower.socket.write(part);
  follower.socket.uncork();
}

function chunkIndexAt(offset: number): number {
  let low = 0;
  let high = chunks.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (chunks[mid]!.start <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Drops chunks every follower has fetched and the file has written. */
function trim(): void {
  let needed = file.writtenEnd;
  for (const follower of followers) needed = Math.min(needed, follower.fetchOffset);

  let drop = 0;
  while (drop < chunks.length && chunks[drop]!.start + chunks[drop]!.bytes.length <= needed) drop++;
  if (drop > 0) chunks = chunks.slice(drop);
}

function onFollowerMessage(follower: Follower, body: Buffer): void {
  const type = body.readUInt8(0);
  const offset = body.readDoubleBE(1);

  if (type === FETCH) {
    follower.fetchOffset = offset;
    follower.waiting = true;
    serve(follower);
  } else if (type === DURABLE) {
    follower.durableEnd = offset;
    commit();
  }
}

const clientServer = createServer((socket) => {
  const reader = new FrameReader();
  socket.setNoDelay(true);
  client = socket;
  socket.on('data', (data) => reader.push(data, onClientFrame));
  socket.on('error', () => socket.destroy());
});

const replicationServer = createServer((socket) => {
  const reader = new FrameReader();
  const follower: Follower = { socket, fetchOffset: 0, waiting: false, durableEnd: 0 };
  socket.setNoDelay(true);
  followers.push(follower);
  socket.on('data', (data) => reader.push(data, (body) => onFollowerMessage(follower, body)));
  socket.on('error', () => socket.destroy());
});

setInterval(trim, 20).unref();

clientServer.listen(Number(clientPort), '127.0.0.1', () => {
  replicationServer.listen(Number(replicationPort), '127.0.0.1', () => tellParent({ ready: true }));
});

process.on('SIGTERM', () => {
  file.close();
  process.exit(0);
});
