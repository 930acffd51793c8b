// The Pants TLS echo server for a future TLS benchmark row. Prints its port on
// one stdout line once listening, then serves until killed.
//
//   node build/bench/tls-echo-pants.js [--line] [--cert FILE --key FILE]
//
//   --line             echo '\n'-delimited lines instead of every read
//   --cert/--key       PEM certificate chain and private key to serve; without
//                      them a throwaway self-signed P-256 certificate for
//                      localhost/127.0.0.1 is made with the `openssl` command
//                      line in a temporary directory, removed at once after
//                      reading. Give both servers the same pair so that they
//                      do the same public-key work per handshake.
//
// Mirrors pants-echo.ts, with TLS terminated inside the engine (rustls).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, Server, Stream } from 'pants';

class Echo extends Stream {
  override onRead(data: Buffer): void {
    this.write(data);
  }
}

class LineEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = '\n';
  }

  override onRead(line: Buffer): void {
    this.write(line);
    this.write('\n');
  }
}

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-bench-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cert: fs.readFileSync(path.join(dir, 'cert.pem')), key: fs.readFileSync(path.join(dir, 'key.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true }); // read into memory: the files are no longer needed
  }
}

const line = process.argv.includes('--line');
const server = new Server(line ? LineEcho : Echo, { sslOptions: certificate() }).listen(['127.0.0.1', 0]);
// A numeric host binds at once, so the real port is known here.
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
process.stdout.write(`${address[1]}\n`);
void Engine.instance().start();
