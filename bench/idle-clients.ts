// Idle-connections benchmark, client side: opens N connections to a server
// (at most --batch connecting at once) and holds them open. Prints
// `connected N` once all are up, then waits until stdin closes or it is
// killed; with --close it closes them all and exits instead.
//
// With --http each connection first makes one keep-alive HTTP request and
// counts as up once the whole response is in; with --ws it upgrades to a
// WebSocket and counts as up once the `101` is in (what the server sends
// after that, pings, is read and dropped).
//
//   node build/bench/idle-clients.js --port P --count N [--batch 256] [--close] [--http | --ws]

import * as net from 'node:net';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const port = Number(argument('--port', '0'));
const count = Number(argument('--count', '10000'));
const batch = Number(argument('--batch', '256'));
const closeAfter = process.argv.includes('--close');
const http = process.argv.includes('--http');
const ws = process.argv.includes('--ws');
if (!(port > 0) || !(count > 0) || !(batch > 0)) {
  console.error('usage: idle-clients.js --port P --count N [--batch 256] [--close] [--http | --ws]');
  process.exit(2);
}

/** A WebSocket upgrade request (the key is RFC 6455's example). */
const UPGRADE =
  'GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

const sockets: net.Socket[] = [];
let started = 0;
let connected = 0;

function next(): void {
  if (started >= count) return;
  started++;
  const socket = net.connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  const up = (): void => {
    connected++;
    if (connected === count) done();
    else next();
  };
  if (http || ws) {
    socket.once('connect', () => socket.write(ws ? UPGRADE : 'GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
    let response = '';
    const onData = (chunk: Buffer): void => {
      response += chunk.toString('latin1');
      const end = response.indexOf('\r\n\r\n');
      if (ws && end >= 0 && !response.startsWith('HTTP/1.1 101')) {
        console.error(`idle-clients: upgrade refused: ${response.slice(0, response.indexOf('\r\n'))}`);
        process.exit(1);
      }
      const length = /content-length: *(\d+)/i.exec(response);
      if (end >= 0 && (ws || (length !== null && response.length >= end + 4 + Number(length[1])))) {
        socket.off('data', onData);
        up();
      }
    };
    socket.on('data', onData);
  } else {
    socket.once('connect', up);
  }
  socket.on('error', (e) => {
    console.error(`idle-clients: connection ${sockets.length}: ${e.message}`);
    process.exit(1);
  });
  // A server closing an idle connection is a failure of the benchmark.
  socket.on('close', () => {
    if (!closing) {
      console.error('idle-clients: the server closed a connection');
      process.exit(1);
    }
  });
}

let closing = false;

function done(): void {
  process.stdout.write(`connected ${connected}\n`);
  if (closeAfter) {
    closing = true;
    for (const socket of sockets) socket.destroy();
    process.exitCode = 0;
    return;
  }
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

for (let i = 0; i < Math.min(batch, count); i++) next();
