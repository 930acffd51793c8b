// The Pants HTTP server for the benchmark: examples/http_server.ts as it is.
// Prints its port on one stdout line once listening, then serves until killed.
//
//   node build/bench/http-pants.js

import { Engine } from 'pants';

import { HttpServer } from '../examples/http_server.js';

const server = new HttpServer().listen(['127.0.0.1', 0]);
// A numeric host binds at once, so the real port is known here.
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
process.stdout.write(`${address[1]}\n`);
void Engine.instance().start();
