// The Pants echo server for the benchmark. Prints its port on one stdout line
// once listening, then serves until killed.
//
//   node build/bench/pants-echo.js          echo every read back as it comes
//   node build/bench/pants-echo.js --line   echo '\n'-delimited lines
//   node build/bench/pants-echo.js --timeout   echo every read, each stream with `timeout = 60`

import { Engine, Server } from 'pants-net';

import { Echo, LineEcho, TimedEcho } from './lib/echo.js';

const line = process.argv.includes('--line');
const timed = process.argv.includes('--timeout');
const server = new Server(line ? LineEcho : timed ? TimedEcho : Echo).listen(['127.0.0.1', 0]);
// A numeric host binds at once, so the real port is known here.
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
process.stdout.write(`${address[1]}\n`);
void Engine.instance().start();
