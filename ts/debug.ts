/**
 * `PANTS_DEBUG=1` in the environment traces what the engine does (accepts,
 * connects, data arriving, frames, closes and their reasons) through
 * `Engine.logger.debug`, one line each, naming the channel by its class,
 * file descriptor and address.
 * @internal
 */
import { getSystemErrorName } from 'node:util';

import { EventKind } from './contract.js';
import { logger } from './logger.js';

/** True when tracing is on (read once, at load). */
export const TRACING = /^(1|true|yes|on)$/i.test(process.env.PANTS_DEBUG ?? '');

/** Logs a trace line; call it only when `TRACING`. */
export function trace(message: string, ...details: unknown[]): void {
  logger().debug(`pants: ${message}`, ...details);
}

/** `host:port`, `[v6 host]:port` or a path, for a log line; '' for no address. */
export function describeAddress(address: unknown): string {
  if (typeof address === 'string') return address;
  if (!Array.isArray(address)) return '';
  const [host, port] = address as [string, number];
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What a trace line calls a channel: `Echo fd 21 (peer 127.0.0.1:53124)`. */
export function describeChannel(channel: object | undefined): string {
  if (channel === undefined) return 'a closed channel';
  const { fileno, remoteAddress, localAddress } = channel as { fileno?: number | null; remoteAddress?: unknown; localAddress?: unknown };
  const peer = describeAddress(remoteAddress);
  const local = describeAddress(localAddress);
  const where = peer !== '' ? ` (peer ${peer})` : local !== '' ? ` (on ${local})` : '';
  return `${channel.constructor.name}${fileno === null || fileno === undefined ? '' : ` fd ${fileno}`}${where}`;
}

function errorName(negativeErrno: number): string {
  try {
    return getSystemErrorName(negativeErrno);
  } catch {
    return `errno ${-negativeErrno}`;
  }
}

/** What each engine event says, in words (`a` is an errno for the failures, `b` the accepted fd). */
const EVENT_WORDS: Partial<Record<EventKind, (a: number, b: number) => string>> = {
  [EventKind.Accept]: (_a, b) => `accepted a connection (fd ${b})`,
  [EventKind.Connect]: () => 'connected',
  [EventKind.ConnectError]: (a) => `connect failed: ${errorName(a)}`,
  [EventKind.Read]: () => 'data arrived',
  [EventKind.Hangup]: () => 'the peer ended the connection',
  [EventKind.Write]: () => 'everything written was sent',
  [EventKind.Close]: () => 'closed',
  [EventKind.ReadError]: (a) => `receiving failed: ${errorName(a)}`,
  [EventKind.WriteError]: (a) => `sending failed: ${errorName(a)}`,
  [EventKind.AcceptError]: (a) => `accepting failed: ${errorName(a)}`,
  [EventKind.SslHandshake]: () => 'TLS handshake done',
  [EventKind.SslHandshakeError]: () => 'TLS handshake failed',
  [EventKind.SslError]: () => 'TLS failed',
  [EventKind.SslServername]: () => 'a TLS client named the server it wants',
  [EventKind.Timeout]: () => 'idle for its timeout',
};

function eventWords(kind: number, a: number, b: number): string {
  return EVENT_WORDS[kind as EventKind]?.(a, b) ?? `${EventKind[kind] ?? `event ${kind}`}`;
}

/** Traces an engine event of `channel`. */
export function traceEvent(kind: number, channel: object | undefined, a: number, b: number): void {
  trace(`${describeChannel(channel)}: ${eventWords(kind, a, b)}`);
}
