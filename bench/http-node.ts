// Baseline HTTP server on plain node:http, answering what
// examples/http_server.ts answers on `/`: the same status, headers and body.
// Prints its port on one stdout line once listening, then serves until killed.
//
//   node build/bench/http-node.js

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const HELLO = Buffer.from('Hello, World!\n');

const server = http.createServer({ noDelay: true }, (request, response) => {
  if (request.url === '/' && (request.method === 'GET' || request.method === 'HEAD')) {
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length });
    response.end(request.method === 'HEAD' ? undefined : HELLO);
  } else {
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('Not Found\n');
  }
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as AddressInfo;
  process.stdout.write(`${address.port}\n`);
});
