import type { Address } from './address.js';
import type { Channel } from './channel.js';
import type { SslOptions } from './tls.js';

/**
 * The server that accepted a stream, as `stream.server` types it: the
 * `Server` itself (which implements this), seen through the members that
 * do not depend on the Stream class. It is defined below both Stream and
 * Server so that neither module imports the other. Cast it to your own
 * Server subclass to reach your members (`this.server as ChatServer`).
 */
export interface AcceptingServer<S extends Channel = Channel> extends Channel {
  /** Live accepted connections, keyed by `fileno`; closed ones leave the map. */
  readonly channels: Map<number, S>;
  /** True while listening. */
  readonly listening: boolean;
  /** Where the server listens, else `null`. */
  readonly localAddress: Address | null;
  /** Every connection accepted from now on speaks TLS. */
  startSSL(sslOptions?: SslOptions): this;
  /** Stops listening; `onClose()` follows from the engine. */
  close(): void;
  /** Called once listening. */
  onListen(): void;
  /** Called with each accepted connection, before its `onConnect()`. */
  onAccept(stream: S): void;
}
