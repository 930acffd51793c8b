/**
 * `PANTS_DEBUG=1` in the environment traces engine events (accepts,
 * connects, frame sizes, closes and their reasons) through
 * `Engine.logger.debug`.
 * @internal
 */
import { logger } from './logger.js';

/** True when tracing is on (read once, at load). */
export const TRACING = /^(1|true|yes|on)$/i.test(process.env.PANTS_DEBUG ?? '');

/** Logs a trace line; call it only when `TRACING`. */
export function trace(message: string, ...details: unknown[]): void {
  logger().debug(`pants: ${message}`, ...details);
}
