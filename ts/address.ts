import { isIP } from 'node:net';

import { InvalidAddressFormatError } from './errors.js';
import type { NativeAddress } from './native.js';

/**
 * Where a channel listens or connects: a port, a UNIX socket path, or a host
 * and port.
 *
 * - `4040`, or `'4040'` (a string of decimal digits, as `process.env.PORT`
 *   gives it): a port on every IPv4 interface (same as `['', 4040]`);
 * - `'./app.sock'`: a UNIX socket path, any other string (a path made of
 *   digits is written `'./4040'`);
 * - `['127.0.0.1', 4040]`: an IPv4 address, or a hostname (resolved with `dns.lookup`);
 * - `['::1', 4040, 0, 0]`: IPv6 host, port, flowinfo and scope id (`''` host: any);
 * - `['', 4040]` / `['<broadcast>', 4040]`: any IPv4 interface / IPv4 broadcast.
 */
export type Address = number | string | [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeId: number];

/** An address checked and taken apart. @internal */
export type ParsedAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'inet'; host: string; port: number; flowinfo: number; scopeId: number; family: 4 | 6; resolve: boolean };

/** A string of decimal digits: a port, as node:net reads `listen(process.env.PORT)`. */
const DIGITS = /^[0-9]+$/;

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

function isUint32(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
}

function invalid(address: unknown): InvalidAddressFormatError {
  let shown: string;
  try {
    shown = JSON.stringify(address) ?? String(address);
  } catch {
    shown = String(address);
  }
  return new InvalidAddressFormatError(`Invalid address format: ${shown}`);
}

/** Checks an `Address`; throws `InvalidAddressFormatError`. @internal */
export function parseAddress(address: unknown): ParsedAddress {
  if (typeof address === 'string' && DIGITS.test(address)) return anyInterface(Number(address), address);
  if (typeof address === 'number') return anyInterface(address, address);
  if (typeof address === 'string') {
    if (address.length === 0 || address.includes('\0')) throw invalid(address);
    return { kind: 'unix', path: address };
  }
  if (!Array.isArray(address) || typeof address[0] !== 'string' || !isPort(address[1])) throw invalid(address);
  const host: string = address[0];
  if (address.length === 2) {
    if (host === '') return anyInterface(address[1], address);
    if (host === '<broadcast>') {
      return { kind: 'inet', host: '255.255.255.255', port: address[1], flowinfo: 0, scopeId: 0, family: 4, resolve: false };
    }
    const family = isIP(host);
    return { kind: 'inet', host, port: address[1], flowinfo: 0, scopeId: 0, family: family === 6 ? 6 : 4, resolve: family === 0 };
  }
  if (address.length === 4 && isUint32(address[2]) && isUint32(address[3])) {
    const family = isIP(host);
    if (family === 4) throw invalid(address);
    return { kind: 'inet', host: host === '' ? '::' : host, port: address[1], flowinfo: address[2], scopeId: address[3], family: 6, resolve: host !== '' && family === 0 };
  }
  throw invalid(address);
}

/** `port` on every IPv4 interface; `address` is what the user gave, for the error. */
function anyInterface(port: number, address: unknown): ParsedAddress {
  if (!isPort(port)) throw invalid(address);
  return { kind: 'inet', host: '0.0.0.0', port, flowinfo: 0, scopeId: 0, family: 4, resolve: false };
}

/** A native address in the `Address` forms. @internal */
export function formatAddress(address: NativeAddress | null): Address | null {
  if (!address) return null;
  if (address.path != null) return address.path === '' ? null : address.path; // an unnamed UNIX socket
  return address.ipv6 ? [address.host, address.port, address.flowinfo, address.scopeId] : [address.host, address.port];
}

/** An IP address as `remoteAddress` / `localAddress` report it: `[host, port]`, or for IPv6 `[host, port, flowinfo, scopeId]`. */
export type InetAddress = [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeId: number];

/**
 * True when `address` is an IP address (`[host, port, ...]`), not a UNIX
 * socket path, a bare port or `null`: TypeScript then knows its parts.
 *
 * ```ts
 * const peer = this.remoteAddress;
 * if (isInetAddress(peer)) console.log(peer[0], peer[1]); // host: string, port: number
 * ```
 */
export function isInetAddress(address: Address | null | undefined): address is InetAddress {
  return Array.isArray(address);
}

/** An IP address and port, as `hostPort` gives them. */
export interface HostPort {
  /** The IP address (v4 or v6, without brackets). */
  host: string;
  /** The port. */
  port: number;
}

/**
 * The host and port of an IP address (what a user reads from
 * `stream.remoteAddress` or `server.localAddress`), or `null` for a UNIX
 * socket path, a bare port or `null`. No cast needed:
 *
 * ```ts
 * const peer = hostPort(this.remoteAddress);
 * Engine.logger.info(peer ? `${peer.host}:${peer.port}` : 'a local client');
 * ```
 */
export function hostPort(address: Address | null | undefined): HostPort | null {
  return isInetAddress(address) ? { host: address[0], port: address[1] } : null;
}
