import { logCallbackError, watchCallback } from './callback.js';
import { Engine } from './engine.js';
import { oneLine } from './errors.js';
import { kHandleEvent, kLogAndClose, kSafely, kWarnAndClose } from './internal.js';
import { logger } from './logger.js';

/** Options every channel takes. */
export interface ChannelOptions {
  /** The engine the channel belongs to; default `Engine.instance()`. */
  engine?: Engine;
}

/**
 * What all channels share: an engine, a file descriptor, `close()`, and
 * error callbacks whose default logs the error and closes the channel.
 * Override the `on...` methods in a subclass to handle events.
 */
export abstract class Channel {
  /** The engine this channel belongs to. */
  readonly engine: Engine;

  /** A channel of `options.engine`, by default `Engine.instance()`. */
  constructor(options: ChannelOptions = {}) {
    const engine = options.engine ?? Engine.instance();
    if (!(engine instanceof Engine)) throw new TypeError('options.engine must be an Engine.');
    this.engine = engine;
  }

  /** The socket's file descriptor while it is open, else `null`. */
  abstract get fileno(): number | null;

  /** Closes the channel; `onClose()` follows once, from the engine. */
  abstract close(flush?: boolean): void;

  /** @internal */
  abstract [kHandleEvent](kind: number, a: number, b: number): void;

  /** Called once, after the channel's socket is closed. */
  onClose(): void {}

  /** A generic error on the channel. Default: log it and `close(false)`. */
  onError(error: Error): void {
    this[kLogAndClose]('onError', error);
  }

  /**
   * Runs a user callback; an exception, or the rejection of the promise an
   * async callback returns, is logged and the engine goes on.
   * @internal
   */
  [kSafely]<A extends unknown[]>(name: string, fn: (...args: A) => unknown, ...args: A): void {
    try {
      const result = fn.apply(this, args);
      if (result !== undefined) watchCallback(result, this, name);
    } catch (error) {
      logCallbackError(this, name, error);
    }
  }

  /** The default of the error callbacks: log the error with its stack, `close(false)`. @internal */
  [kLogAndClose](name: string, error: Error): void {
    logger().error(`${this.constructor.name}.${name}:`, error);
    this.close(false);
  }

  /**
   * The default of the error callbacks for an error the peer caused (a
   * reset, a failed handshake): one `warn` line without a stack, then
   * `close(false)`. @internal
   */
  [kWarnAndClose](name: string, error: Error): void {
    const peer = describeAddress((this as { remoteAddress?: unknown }).remoteAddress);
    logger().warn(`${this.constructor.name}.${name}: ${oneLine(error)}${peer === '' ? '' : ` (peer ${peer})`}`);
    this.close(false);
  }
}

/** `host:port`, `[v6 host]:port` or a path, for a log line; '' for no address. */
function describeAddress(address: unknown): string {
  if (typeof address === 'string') return address;
  if (!Array.isArray(address)) return '';
  const [host, port] = address as [string, number];
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
