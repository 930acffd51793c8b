// Idle-connections benchmark, server side: a Pants or node:net server that
// accepts connections and does nothing with them. Prints its port, then
// answers each `stats` line on stdin with one JSON line (after collecting
// garbage twice): its live connection count and process.memoryUsage().
//
//   node --expose-gc build/bench/idle-server.js --impl pants|net

import * as net from 'node:net';
import * as readline from 'node:readline';

import { Engine, Server, Stream } from 'pants-net';

const impl = process.argv.includes('--impl') ? process.argv[process.argv.indexOf('--impl') + 1] : 'pants';
const gc = (globalThis as { gc?: () => void }).gc;
if ((impl !== 'pants' && impl !== 'net') || gc === undefined) {
  console.error('usage: node --expose-gc idle-server.js --impl pants|net');
  process.exit(2);
}

let connections: () => number;

if (impl === 'pants') {
  const server = new Server(Stream).listen(['127.0.0.1', 0]);
  const address = server.localAddress;
  if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
  connections = () => server.channels.size;
  process.stdout.write(`${address[1]}\n`);
  void Engine.instance().start();
} else {
  let live = 0;
  const server = net.createServer((socket) => {
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
