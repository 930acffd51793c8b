// The Pants WebSocket server of the benchmark: a `WebSocket` class behind
// `HTTPServer` (every request upgrades). Prints its port on one stdout line
// once listening, then serves until killed.
//
//   node build/bench/ws-pants.js                 echo every message back (text as text, binary as binary)
//   node build/bench/ws-pants.js --broadcast     a socket opened on /publish publishes each message it
//                                                sends to a topic every other socket subscribes to
//   node build/bench/ws-pants.js --compression   permessage-deflate offered (either mode)

import { Engine } from 'pants-net';
import { HTTPServer, WebSocket } from 'pants-net/http';

import { PUBLISH_PATH, TOPIC, wsModes } from './lib/ws-modes.js';

const { broadcast, compression } = wsModes(process.argv);

class Echo extends WebSocket {
  override compression = compression;

  override onRead(data: string | Buffer): void {
    this.write(data);
  }
}

/** One `publish` per message: the frame is built once for every subscriber. */
class Broadcast extends WebSocket {
  override compression = compression;

  override onConnect(): void {
    if (this.url !== PUBLISH_PATH) this.subscribe(TOPIC);
  }

  override onRead(data: string | Buffer): void {
    this.publish(TOPIC, data);
  }
}

const server = new HTTPServer(broadcast ? Broadcast : Echo).listen(['127.0.0.1', 0]);
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
process.stdout.write(`${address[1]}\n`);
void Engine.instance().start();
