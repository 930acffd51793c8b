/**
 * How the engine runs user callbacks: an exception thrown by one, or a
 * rejection of the promise an `async` one returns, is logged with
 * `Engine.logger.error` and the engine goes on. The engine never waits for
 * a returned promise.
 * @internal
 */
import { logger } from './logger.js';

/** Logs an exception thrown by `owner`'s callback `name` (or the rejection of its promise). */
export function logCallbackError(owner: object, name: string, error: unknown): void {
  logger().error(`Exception in ${owner.constructor.name}.${name}:`, error);
}

/**
 * Watches what a callback returned: a thenable (an `async` callback's
 * promise) gets `onRejected` as its rejection handler. Callers test
 * `result !== undefined` first, so a synchronous callback costs one
 * comparison.
 */
export function whenRejected(result: unknown, onRejected: (error: unknown) => void): void {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return;
  try {
    const then = (result as PromiseLike<unknown>).then;
    if (typeof then === 'function') then.call(result, undefined, onRejected);
  } catch (error) {
    onRejected(error); // a thenable whose `then` throws
  }
}

/** `whenRejected` for `owner`'s callback `name`: a rejection is logged like an exception it threw. */
export function watchCallback(result: unknown, owner: object, name: string): void {
  whenRejected(result, (error) => logCallbackError(owner, name, error));
}
