// The Pants TLS echo server for the TLS benchmark row. Prints its port on
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

import { Engine, Server } from 'pants-net';

import { certificate } from './lib/certificate.js';
import { Echo, LineEcho } from './lib/echo.js';

const line = process.argv.includes('--line');
const server = new Server(line ? LineEcho : Echo, { sslOptions: certificate() }).listen(['127.0.0.1', 0]);
// A numeric host binds at once, so the real port is known here.
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
process.stdout.write(`${address[1]}\n`);
void Engine.instance().start();
