/**
 * The keep-alive pool of one origin (scheme, host, port) of an
 * `HTTPClient`: at most `maxSockets` connections, idle ones reused most
 * recently used first, requests beyond the limit queued in order.
 */
import type { Engine } from '../engine.js';
import type { SslOptions } from '../tls.js';
import { ClientConnection, ConnectionOwner, Exchange } from './client_connection.js';

/** Seconds an idle connection waits in the pool for another request, then closes (below the 5 s servers commonly keep one). */
export const IDLE_TIMEOUT = 4;

/** Where a pool connects. @internal */
export interface Origin {
  host: string;
  port: number;
  /** TLS options for `https`, else `null`. */
  ssl: SslOptions | null;
}

/** The pool of one origin. @internal */
export class OriginPool implements ConnectionOwner {
  readonly #engine: Engine;
  readonly #origin: Origin;
  readonly #maxSockets: () => number;
  readonly #keepAlive: () => boolean;
  readonly #idle: ClientConnection[] = [];
  readonly #busy = new Set<ClientConnection>();
  readonly #queue: Exchange[] = [];
  /** Connections opened over the pool's life (for tests and stats). */
  opened = 0;

  constructor(engine: Engine, origin: Origin, maxSockets: () => number, keepAlive: () => boolean) {
    this.#engine = engine;
    this.#origin = origin;
    this.#maxSockets = maxSockets;
    this.#keepAlive = keepAlive;
  }

  /** Open connections, busy and idle. */
  get size(): number {
    return this.#busy.size + this.#idle.length;
  }

  /** Sends `exchange` on an idle connection, a new one, or once one is free. */
  dispatch(exchange: Exchange): void {
    while (this.#idle.length > 0) {
      const connection = this.#idle.pop()!;
      if (!connection.usable) continue;
      if (connection.stale) {
        connection.close(false);
        continue;
      }
      this.#busy.add(connection);
      connection.begin(exchange);
      return;
    }
    if (this.#busy.size >= this.#maxSockets()) {
      this.#queue.push(exchange);
      return;
    }
    const connection = new ClientConnection(this.#engine, this, this.#origin.ssl);
    this.opened++;
    this.#busy.add(connection);
    connection.begin(exchange);
    connection.connect([this.#origin.host, this.#origin.port]);
  }

  /** Takes `exchange` out of the queue (it timed out there); false when it was not queued. */
  withdraw(exchange: Exchange): boolean {
    const index = this.#queue.indexOf(exchange);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    return true;
  }

  /** Closes the connection carrying `exchange` (it timed out mid-response). */
  abandon(exchange: Exchange): void {
    for (const connection of this.#busy) if (connection.carries(exchange)) connection.abandon();
  }

  release(connection: ClientConnection, reusable: boolean): void {
    if (!reusable || !this.#keepAlive()) {
      this.#busy.delete(connection);
      if (connection.usable) connection.close(false);
      this.#next();
      return;
    }
    const queued = this.#queue.shift();
    if (queued !== undefined) {
      connection.begin(queued);
      return;
    }
    this.#busy.delete(connection);
    this.#idle.push(connection);
    connection.idleTimer = this.#engine.defer(IDLE_TIMEOUT, () => connection.close(false));
  }

  lost(connection: ClientConnection): void {
    const index = this.#idle.indexOf(connection);
    if (index >= 0) this.#idle.splice(index, 1);
    // A connection already released (and counted out) frees no second slot.
    if (this.#busy.delete(connection)) this.#next();
  }

  #next(): void {
    const queued = this.#queue.shift();
    if (queued !== undefined) this.dispatch(queued);
  }

  /** Closes the idle connections; busy ones close once their response is read. */
  close(): void {
    for (const connection of this.#idle.splice(0)) connection.close(false);
  }
}
