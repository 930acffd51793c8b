// Baseline echo server on plain node:net, written the way a careful user
// would. Prints its port on one stdout line once listening, then serves until
// killed.
//
//   node build/bench/net-echo.js          echo every chunk back as it comes
//   node build/bench/net-echo.js --line   echo '\n'-terminated lines, one write per line

import * as net from 'node:net';

const NEWLINE = 0x0a;
const line = process.argv.includes('--line');

function rawEcho(socket: net.Socket): void {
  socket.on('data', (chunk: Buffer) => {
    socket.write(chunk);
  });
}

function lineEcho(socket: net.Socket): void {
  // Bytes after the last '\n' seen, waiting for the rest of their line.
  let pending: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let start = 0;
    for (;;) {
      const end = data.indexOf(NEWLINE, start);
      if (end < 0) break;
      // The line and its '\n' in one write: the cheapest way to send it
      // back, so the baseline is not handicapped by extra syscalls.
      socket.write(data.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < data.length) {
      // Copy so the remainder doesn't pin the whole chunk.
      pending = Buffer.from(data.subarray(start));
    }
  });
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  if (line) lineEcho(socket);
  else rawEcho(socket);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  process.stdout.write(`${address.port}\n`);
});
