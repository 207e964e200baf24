// A ceiling follower: fetches from the leader, writes what it gets to its own new file with group
// commit, and tells the leader each time more of it is durable. It asks for the next bytes as soon
// as it has the previous ones, so fetching, writing and syncing overlap as they would in Kafka.
import { connect } from 'node:net';
import { join } from 'node:path';
import { tellParent } from '../processes.ts';
import { DURABLE, FETCH, FrameReader, followerMessage } from './protocol.ts';
import { DurableFile } from './durable-file.ts';

const [replicationPort, dir, id] = process.argv.slice(2);

const socket = connect({ host: '127.0.0.1', port: Number(replicationPort) });
const reader = new FrameReader();
const file = new DurableFile(join(dir!, `follower-${id}.log`), (durableEnd) =>
  socket.write(followerMessage(DURABLE, durableEnd)),
);

socket.setNoDelay(true);
socket.on('connect', () => {
  socket.write(followerMessage(FETCH, 0));
  tellParent({ ready: true });
});

socket.on('data', (data) =>
  reader.push(data, (body) => {
    file.append([body]);
    socket.write(followerMessage(FETCH, file.appendedEnd));
  }),
);

socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
