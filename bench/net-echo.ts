// Baseline echo server on plain node:net, written the way a careful user
// would. Prints its port on one stdout line once listening, then serves until
// killed.
//
//   node build/bench/net-echo.js          echo every chunk back as it comes
//   node build/bench/net-echo.js --line   echo '\n'-terminated lines, one write per line

import * as net from 'node:net';

import { lineEcho, rawEcho } from './lib/echo.js';

const line = process.argv.includes('--line');

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  if (line) lineEcho(socket);
  else rawEcho(socket);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`${address.port}\n`);
});
