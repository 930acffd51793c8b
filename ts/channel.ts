import { logCallbackError, watchCallback } from './callback.js';
import { Engine } from './engine.js';
import { describeAddress } from './debug.js';
import { codedError, oneLine } from './errors.js';
import { kActiveChannels, kBindToken, kClosing, kEngineId, kFinishClose, kFinishing, kHandleEvent, kLogAndClose, kNative, kOpened, kRegister, kReleaseToken, kSafely, kState, kToken, kUnregister, kWarnAndClose, kWhenFinished } from './internal.js';
import { logger } from './logger.js';
import { native } from './native.js';

/** Options every channel takes. */
export interface ChannelOptions {
  /** The engine the channel belongs to; default `Engine.instance()`. */
  engine?: Engine;
}

/**
 * Where a channel is in its life. Every channel goes Idle → (Resolving →)
 * (Connecting →) Open → Closing → Closed; only streams connect, and a
 * channel closed before it opened goes from Idle or Resolving to Closing.
 * Open is a stream's connected, a server's listening, a datagram channel's
 * bound.
 * @internal
 */
export const enum ChannelState {
  Idle,
  /** A hostname is being looked up. No native token. */
  Resolving,
  /** A stream's connect is in progress: it has a native token. */
  Connecting,
  Open,
  /** `close()` was called; the engine's Close event (or a callback without a token) finishes it. */
  Closing,
  Closed,
}

/** A channel between its first step (resolving, connecting, listening) and its end keeps a `stopWhenIdle` engine running. */
function isActive(state: ChannelState): boolean {
  return state !== ChannelState.Idle && state !== ChannelState.Closed;
}

/**
 * What all channels share: an engine, a file descriptor, `close()`, and
 * error callbacks whose default logs the error and closes the channel.
 * Override the `on...` methods in a subclass to handle events.
 */
export abstract class Channel {
  /** The engine this channel belongs to. */
  readonly engine: Engine;
  readonly #engineId: number;
  #token = -1;
  #state = ChannelState.Idle;
  #fileno: number | null = null;
  /** What the owner (the server that accepted a stream) runs when this channel has closed. */
  #whenFinished: (() => void) | null = null;
  /** The error a default error callback closed the channel for: `onClose` gets it. */
  #closeError: Error | null = null;

  /** A channel of `options.engine`, by default `Engine.instance()`. */
  constructor(options: ChannelOptions = {}) {
    const engine = options.engine ?? Engine.instance();
    if (!(engine instanceof Engine)) throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', 'options.engine must be an Engine.');
    this.engine = engine;
    this.#engineId = engine[kNative];
  }

  /** The socket's file descriptor while it is open, else `null`. */
  get fileno(): number | null {
    return this.#fileno;
  }

  /**
   * Closes the channel; `onClose()` follows once, from the engine. With
   * `flush`, data already written is sent first. Closing a closed channel
   * does nothing.
   */
  close(flush = true): void {
    switch (this.#state) {
      case ChannelState.Open:
        this.#moveTo(ChannelState.Closing);
        native.close(this.#engineId, this.#token, flush);
        break;
      case ChannelState.Connecting:
        this.#moveTo(ChannelState.Closing);
        native.close(this.#engineId, this.#token, false);
        break;
      case ChannelState.Closing:
        // A close(false) after a close(true): drop what still waits.
        if (!flush && this.#token >= 0) native.close(this.#engineId, this.#token, false);
        break;
      case ChannelState.Idle:
      case ChannelState.Resolving:
        this.#moveTo(ChannelState.Closing);
        this.engine.callback(() => this[kFinishClose]());
        break;
      case ChannelState.Closed:
        break;
    }
  }

  /** @internal */
  abstract [kHandleEvent](kind: number, a: number, b: number): void;

  /**
   * Called once, after the channel's socket is closed, with `null` for an
   * orderly close, or the error that closed it (a `Stream`'s reset peer,
   * or what a default error callback closed it for).
   */
  onClose(error: Error | null): void {}

  /** A generic error on the channel. Default: log it and `close(false)`. */
  onError(error: Error): void {
    this[kLogAndClose]('onError', error);
  }

  // ----- for subclasses -------------------------------------------------

  /** Where the channel is in its life. @internal */
  get [kState](): ChannelState {
    return this.#state;
  }

  /** @internal */
  set [kState](state: ChannelState) {
    this.#moveTo(state);
  }

  /** Changes state, telling the engine when the channel starts or stops being active (see `Engine.stopWhenIdle`). */
  #moveTo(state: ChannelState): void {
    const wasActive = isActive(this.#state);
    this.#state = state;
    const active = isActive(state);
    if (active !== wasActive) this.engine[kActiveChannels](active ? 1 : -1);
  }

  /** True once `close()` was called or the channel closed. @internal */
  get [kClosing](): boolean {
    return this.#state === ChannelState.Closing || this.#state === ChannelState.Closed;
  }

  /** The native engine's id. @internal */
  get [kEngineId](): number {
    return this.#engineId;
  }

  /** The channel's native token, -1 without one. @internal */
  get [kToken](): number {
    return this.#token;
  }

  /** Takes a native token: the engine dispatches its events to this channel. @internal */
  [kBindToken](token: number): void {
    this.#token = token;
    this.engine[kRegister](token, this);
  }

  /** Gives the native token back to the engine and leaves its channel map. @internal */
  [kReleaseToken](): void {
    if (this.#token < 0) return;
    this.engine[kUnregister](this.#token);
    this.#token = -1;
  }

  /** The socket is open (connected, listening, bound) on `fileno`. @internal */
  [kOpened](fileno: number): void {
    this.#moveTo(ChannelState.Open);
    this.#fileno = fileno;
  }

  /** `hook` runs once this channel has closed, before its `onClose()` (a server forgets its stream). @internal */
  [kWhenFinished](hook: () => void): void {
    this.#whenFinished = hook;
  }

  /** What a subclass does as it closes, before its token is released. @internal */
  [kFinishing](): void {}

  /**
   * The end of a channel's life, once: the subclass's last words
   * (`kFinishing`), the token given back, the owner's hook, then `onClose()`.
   * @internal
   */
  [kFinishClose](error: Error | null = null): void {
    if (this.#state === ChannelState.Closed) return;
    this.#moveTo(ChannelState.Closed);
    this[kFinishing]();
    this[kReleaseToken]();
    this.#fileno = null;
    const hook = this.#whenFinished;
    this.#whenFinished = null;
    hook?.();
    this[kSafely]('onClose', this.onClose, error ?? this.#closeError);
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
    this.#closeError ??= error;
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
    this.#closeError ??= error;
    this.close(false);
  }
}

