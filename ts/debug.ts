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

/** What an engine event means, in words a user can act on. */
function eventWords(kind: number, a: number, b: number): string {
  switch (kind) {
    case EventKind.Accept:
      return `accepted a connection (fd ${b})`;
    case EventKind.Connect:
      return 'connected';
    case EventKind.ConnectError:
      return `connect failed: ${errorName(a)}`;
    case EventKind.Read:
      return 'data arrived';
    case EventKind.Hangup:
      return 'the peer ended the connection';
    case EventKind.Write:
      return 'everything written was sent';
    case EventKind.Close:
      return 'closed';
    case EventKind.ReadError:
      return `receiving failed: ${errorName(a)}`;
    case EventKind.WriteError:
      return `sending failed: ${errorName(a)}`;
    case EventKind.AcceptError:
      return `accepting failed: ${errorName(a)}`;
    case EventKind.SslHandshake:
      return 'TLS handshake done';
    case EventKind.SslHandshakeError:
      return 'TLS handshake failed';
    case EventKind.SslError:
      return 'TLS failed';
    case EventKind.SslServername:
      return 'a TLS client named the server it wants';
    case EventKind.Timeout:
      return 'idle for its timeout';
    default:
      return `${EventKind[kind] ?? `event ${kind}`}`;
  }
}

/** Traces an engine event of `channel`. */
export function traceEvent(kind: number, channel: object | undefined, a: number, b: number): void {
  trace(`${describeChannel(channel)}: ${eventWords(kind, a, b)}`);
}
