// The node:http server of the benchmark, answering what http-pants answers
// (lib/http-modes.ts) the way a careful user writes it. Prints its port,
// then serves until killed.
//
//   node build/bench/http-node.js [--mode hello|file|json] [--root DIR]

import { createReadStream, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { announce, HELLO, parseArgs } from './lib/http-modes.js';

const { mode, root } = parseArgs(process.argv);
const hello = Buffer.from(HELLO);

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (request, response) => {
  if (mode === 'json' && request.method === 'POST') {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    });
    return;
  }
  if (mode === 'file' && request.url?.startsWith('/static/')) {
    const path = join(root, request.url.slice('/static/'.length));
    const size = statSync(path).size;
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    createReadStream(path).pipe(response);
    return;
  }
  if (request.url === '/') {
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': hello.length });
    response.end(hello);
    return;
  }
  response.writeHead(404, { 'Content-Type': 'text/plain' });
  response.end('Not Found\n');
});

server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
