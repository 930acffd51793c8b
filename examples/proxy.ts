// A TCP proxy with flow control: each side pauses the other while its own
// send buffer is above highWaterMark, so a slow client slows the upstream
// server down instead of filling the proxy's memory.
//   npm run build && node build/examples/proxy.js   then   connect to port 4041; it forwards to localhost:4040
import { Address, Engine, Server, ServerOptions, Stream } from 'pants-net';

// Every chunk is done with once onRead has written it on (write() copies
// what it cannot send at once), so all streams read into the same memory.
const CHUNKS = Buffer.allocUnsafe(64 * 1024);

/** The connection to the upstream server, made for one client. */
class Upstream extends Stream {
  constructor(readonly client: ProxyClient) {
    super({ engine: client.engine });
    this.readBuffer = CHUNKS;
  }

  override onConnect(): void {
    this.client.resume(); // the client was paused until now
  }

  override onRead(data: Buffer): void {
    // The client takes it slower than the server sends: stop reading the server.
    if (this.client.connected && !this.client.write(data)) this.pause();
  }

  override onWrite(): void {
    this.client.resume(); // what the client sent has gone upstream: read on
  }

  override onClose(): void {
    this.client.close();
  }
}

/** A client of the proxy: what it sends goes upstream, and back. */
export class ProxyClient extends Stream {
  #upstream: Upstream | null = null;

  override onConnect(): void {
    this.readBuffer = CHUNKS;
    this.pause(); // until the upstream connection is made
    this.#upstream = new Upstream(this).connect((this.server as ProxyServer).upstream);
  }

  override onRead(data: Buffer): void {
    if (this.#upstream?.connected && !this.#upstream.write(data)) this.pause();
  }

  override onWrite(): void {
    this.#upstream?.resume(); // the client caught up: read the server again
  }

  override onClose(): void {
    this.#upstream?.close();
  }
}

export class ProxyServer extends Server {
  constructor(
    readonly upstream: Address,
    options: ServerOptions = {},
  ) {
    super({ ...options, ConnectionClass: ProxyClient });
  }
}

if (require.main === module) {
  new ProxyServer(['127.0.0.1', 4040]).listen(4041);
  void Engine.instance().start();
}
