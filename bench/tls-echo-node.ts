// Baseline TLS echo server on node:tls, written the way a careful user would.
// Prints its port on one stdout line once listening, then serves until killed.
//
//   node build/bench/tls-echo-node.js [--line] [--cert FILE --key FILE]
//
//   --line             echo '\n'-terminated lines, one write per line
//   --cert/--key       PEM certificate chain and private key to serve; without
//                      them a throwaway self-signed P-256 certificate for
//                      localhost/127.0.0.1 is made with the `openssl` command
//                      line in a temporary directory, removed at once after
//                      reading. Give both servers the same pair.
//
// Mirrors net-echo.ts on a tls.Server (OpenSSL inside Node).

import type * as net from 'node:net';
import * as tls from 'node:tls';

import { certificate } from './lib/certificate.js';
import { lineEcho, rawEcho } from './lib/echo.js';

const line = process.argv.includes('--line');

const server = tls.createServer({ ...certificate(), noDelay: true } as tls.TlsOptions & net.ServerOpts, (socket) => {
  socket.on('error', () => socket.destroy());
  if (line) lineEcho(socket);
  else rawEcho(socket);
});
// Handshake failures (a client giving up, a bad hello) must not end the process.
server.on('tlsClientError', () => {});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`${address.port}\n`);
});
