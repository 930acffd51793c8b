// The baseline WebSocket server of the benchmark: the npm `ws` package's
// `WebSocketServer`, written the way its README shows. Prints its port on
// one stdout line once listening, then serves until killed.
//
//   node build/bench/ws-node.js                 echo every message back (text as text, binary as binary)
//   node build/bench/ws-node.js --broadcast     a socket opened on /publish sends each message it
//                                               sends to every other socket, in a loop of `send`
//   node build/bench/ws-node.js --compression   perMessageDeflate (ws' defaults) offered (either mode)

import type { AddressInfo } from 'node:net';

import { WebSocketServer, type WebSocket } from 'ws';

import { PUBLISH_PATH, wsModes } from './lib/ws-modes.js';

const { broadcast, compression } = wsModes(process.argv);

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: compression });
const subscribers = new Set<WebSocket>();

server.on('connection', (socket, request) => {
  socket.on('error', () => socket.terminate());
  if (!broadcast) {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  } else if (request.url === PUBLISH_PATH) {
    socket.on('message', (data, isBinary) => {
      for (const subscriber of subscribers) subscriber.send(data, { binary: isBinary });
    });
  } else {
    subscribers.add(socket);
    socket.on('close', () => subscribers.delete(socket));
  }
});

server.on('listening', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
