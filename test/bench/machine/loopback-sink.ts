// The receiving end of the loopback measurement, in its own process: it counts bytes and, once
// it has the number it was told to expect, answers with one byte so the sender can stop its clock.
import { createServer } from 'node:net';
import { tellParent } from '../processes.ts';

const port = Number(process.argv[2]);
const expectedBytes = Number(process.argv[3]);

const server = createServer((socket) => {
  let received = 0;

  socket.on('data', (chunk) => {
    received += chunk.length;
    if (received >= expectedBytes) socket.end(Buffer.from([1]));
  });
  socket.on('error', () => socket.destroy());
});

server.listen(port, '127.0.0.1', () => tellParent({ ready: true }));
