import { native } from './native.js';

/** PEM text, as a string or bytes. */
export type Pem = string | Buffer | Uint8Array;

/**
 * TLS options, with Node's `tls` names. Bad options throw synchronously,
 * with a message that names the option.
 */
export interface SslOptions {
  /** Certificate chain (PEM); servers need one, clients may answer `requestCert` with one. */
  cert?: Pem | Pem[];
  /** Private key of `cert` (PEM). */
  key?: Pem | Pem[];
  /** Certificates to trust (PEM); default: the webpki (Mozilla) roots. */
  ca?: Pem | Pem[];
  /** Verify the peer (default `true`): clients check the server's chain and host name; servers with `requestCert` check clients. */
  rejectUnauthorized?: boolean;
  /** Server name for SNI and for checking the certificate; default the host given to `connect`. */
  servername?: string;
  /** Protocols to offer or accept with ALPN, most preferred first. */
  ALPNProtocols?: (string | Uint8Array)[];
  /** Servers: ask clients for a certificate (verified against `ca`). */
  requestCert?: boolean;
  /**
   * Seconds the TLS handshake may take once the connection is established
   * (default 120). Then `onSslHandshakeError` runs with an error coded
   * `'ERR_TLS_HANDSHAKE_TIMEOUT'` and the stream closes, so that peers that
   * never finish a handshake cannot hold connections open.
   */
  handshakeTimeout?: number;
}

/** Default of `SslOptions.handshakeTimeout`, in seconds (as node:tls). */
const DEFAULT_HANDSHAKE_TIMEOUT = 120;

/** A native TLS configuration for one role. @internal */
export interface TlsContext {
  readonly id: number;
  /** The `servername` option, if given. */
  readonly servername: string | undefined;
  /** Seconds the handshake may take. */
  readonly handshakeTimeout: number;
}

const contexts = new WeakMap<object, { client?: TlsContext; server?: TlsContext }>();

function pem(value: unknown, option: string): Buffer | null {
  if (value === undefined || value === null) return null;
  const parts = Array.isArray(value) ? value : [value];
  const buffers = parts.map((part) => {
    if (typeof part === 'string') return Buffer.from(part, 'utf8');
    if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    throw new TypeError(`sslOptions.${option} must be PEM text (a string or Buffer) or an array of them.`);
  });
  return Buffer.concat(buffers.flatMap((buffer) => [buffer, Buffer.from('\n')]));
}

function flag(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`sslOptions.${option} must be a boolean.`);
  return value;
}

/**
 * The native configuration for `options` in `role`, built once per options
 * object. Throws `TypeError` (or the native `Error`) naming the bad option.
 * @internal
 */
export function tlsContext(options: SslOptions, role: 'client' | 'server'): TlsContext {
  if (options === null || typeof options !== 'object') throw new TypeError('sslOptions must be an object.');
  const cached = contexts.get(options)?.[role];
  if (cached) return cached;
  if (options.servername !== undefined && (typeof options.servername !== 'string' || options.servername === '')) {
    throw new TypeError('sslOptions.servername must be a non-empty string.');
  }
  const alpn = options.ALPNProtocols ?? [];
  if (!Array.isArray(alpn) || !alpn.every((protocol) => typeof protocol === 'string' || protocol instanceof Uint8Array)) {
    throw new TypeError('sslOptions.ALPNProtocols must be an array of strings or Buffers.');
  }
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof handshakeTimeout !== 'number' || !(handshakeTimeout > 0) || !Number.isFinite(handshakeTimeout)) {
    throw new TypeError(`sslOptions.handshakeTimeout must be a positive number of seconds; got ${String(options.handshakeTimeout)}.`);
  }
  const owner = new native.NativeTlsConfig(
    role === 'server',
    pem(options.cert, 'cert'),
    pem(options.key, 'key'),
    pem(options.ca, 'ca'),
    flag(options.rejectUnauthorized, 'rejectUnauthorized', true),
    flag(options.requestCert, 'requestCert', false),
    alpn.map((protocol) => (typeof protocol === 'string' ? protocol : Buffer.from(protocol).toString('latin1'))),
  );
  // The context keeps the native configuration alive as long as the options object lives.
  const context = { id: owner.id, servername: options.servername, handshakeTimeout, owner } as TlsContext;
  contexts.set(options, { ...contexts.get(options), [role]: context });
  return context;
}
