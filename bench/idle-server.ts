// Idle-connections benchmark, server side: a Pants or node:net server that
// accepts connections and does nothing with them. Prints its port, then
// answers each `stats` line on stdin with one JSON line (after collecting
// garbage twice): its live connection count and process.memoryUsage().
//
// `pants-http` and `node-http` are HTTP servers answering "Hello" with long
// keep-alive timeouts, for idle keep-alive connections. `pants-ws` and
// `node-ws` upgrade every request to a WebSocket that does nothing: Pants'
// `WebSocket` with its default settings (idle timeout and pings included)
// and the npm `ws` package's `WebSocketServer` with its own.
//
//   node --expose-gc build/bench/idle-server.js --impl pants|net|pants-http|node-http|pants-ws|node-ws

import * as http from 'node:http';
import * as net from 'node:net';
import * as readline from 'node:readline';

import { Engine, Server, Stream } from 'pants-net';
import { HTTPServer, WebSocket } from 'pants-net/http';
import { WebSocketServer } from 'ws';

const impl = process.argv.includes('--impl') ? process.argv[process.argv.indexOf('--impl') + 1] : 'pants';
const gc = (globalThis as { gc?: () => void }).gc;
if (!['pants', 'net', 'pants-http', 'node-http', 'pants-ws', 'node-ws'].includes(impl) || gc === undefined) {
  console.error('usage: node --expose-gc idle-server.js --impl pants|net|pants-http|node-http|pants-ws|node-ws');
  process.exit(2);
}

let connections: () => number;

/** Idle keep-alive connections stay open for the whole measurement. */
const KEEP_ALIVE_SECONDS = 600;

if (impl === 'pants-ws') {
  let live = 0;
  class Idle extends WebSocket {
    override onConnect(): void {
      live++;
    }

    override onClose(): void {
      live--;
    }
  }
  const server = new HTTPServer(Idle).listen(['127.0.0.1', 0]);
  const address = server.localAddress;
  if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
  connections = () => live;
  process.stdout.write(`${address[1]}\n`);
  void Engine.instance().start();
} else if (impl === 'node-ws') {
  let live = 0;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 511 });
  server.on('connection', (socket) => {
    live++;
    socket.on('error', () => socket.terminate());
    socket.on('close', () => live--);
  });
  connections = () => live;
  server.on('listening', () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
} else if (impl === 'pants' || impl === 'pants-http') {
  const server =
    impl === 'pants'
      ? new Server(Stream).listen(['127.0.0.1', 0])
      : new HTTPServer((request) => request.sendResponse('Hello'), { keepAliveTimeout: KEEP_ALIVE_SECONDS, headersTimeout: KEEP_ALIVE_SECONDS }).listen([
          '127.0.0.1',
          0,
        ]);
  const address = server.localAddress;
  if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
  connections = () => server.channels.size;
  process.stdout.write(`${address[1]}\n`);
  void Engine.instance().start();
} else {
  let live = 0;
  const server =
    impl === 'net'
      ? net.createServer()
      : http.createServer({ keepAliveTimeout: KEEP_ALIVE_SECONDS * 1000 }, (_request, response) => {
          response.writeHead(200, { 'Content-Length': 5 });
          response.end('Hello');
        });
  if (server instanceof http.Server) server.headersTimeout = KEEP_ALIVE_SECONDS * 1000;
  server.on('connection', (socket: net.Socket) => {
    live++;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => live--);
  });
  connections = () => live;
  server.listen(0, '127.0.0.1', 511, () => {
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
  });
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  gc!();
  gc!();
  process.stdout.write(`${JSON.stringify({ connections: connections(), ...process.memoryUsage() })}\n`);
});
// The runner closing stdin ends the server too.
process.stdin.on('end', () => process.exit(0));
