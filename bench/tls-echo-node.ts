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

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

const NEWLINE = 0x0a;
const line = process.argv.includes('--line');

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** The PEM certificate and key: from --cert/--key, or made now. */
function certificate(): { cert: Buffer; key: Buffer } {
  const certFile = argument('--cert');
  const keyFile = argument('--key');
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) throw new Error('--cert and --key go together');
    return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-bench-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cert: fs.readFileSync(path.join(dir, 'cert.pem')), key: fs.readFileSync(path.join(dir, 'key.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function rawEcho(socket: tls.TLSSocket): void {
  socket.on('data', (chunk: Buffer) => {
    socket.write(chunk);
  });
}

function lineEcho(socket: tls.TLSSocket): void {
  // Bytes after the last '\n' seen, waiting for the rest of their line.
  let pending: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let start = 0;
    for (;;) {
      const end = data.indexOf(NEWLINE, start);
      if (end < 0) break;
      // The line and its '\n' in one write, as in net-echo.ts.
      socket.write(data.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < data.length) {
      // Copy so the remainder doesn't pin the whole chunk.
      pending = Buffer.from(data.subarray(start));
    }
  });
}

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
