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
  /**
   * Opens an encrypted PKCS#8 `key` (`-----BEGIN ENCRYPTED PRIVATE KEY-----`)
   * or a `pfx`. A wrong one throws (`code` `'ERR_OSSL_BAD_DECRYPT'`, or
   * `'ERR_OSSL_PKCS12_MAC_VERIFY_FAILURE'` for a `pfx`). Legacy encrypted PEM
   * keys (`Proc-Type: 4,ENCRYPTED`) are not supported: convert them with
   * `openssl pkcs8 -topk8`.
   */
  passphrase?: string;
  /** A PKCS#12 archive (DER bytes) with the certificate chain and its key, instead of `cert` and `key`. */
  pfx?: Buffer | Uint8Array;
  /** Lowest TLS version to speak: `'TLSv1.2'` (default) or `'TLSv1.3'`. */
  minVersion?: TlsVersion;
  /** Highest TLS version to speak: `'TLSv1.3'` (default) or `'TLSv1.2'`. */
  maxVersion?: TlsVersion;
  /**
   * OpenSSL names of the cipher suites to allow, separated by `:`. The
   * engine has `TLS_AES_256_GCM_SHA384`, `TLS_AES_128_GCM_SHA256`,
   * `TLS_CHACHA20_POLY1305_SHA256` (TLS 1.3) and `ECDHE-ECDSA-` /
   * `ECDHE-RSA-` with `AES256-GCM-SHA384`, `AES128-GCM-SHA256`,
   * `CHACHA20-POLY1305` (TLS 1.2); any other name throws, naming it. As in
   * Node, a list without TLS 1.3 names keeps every TLS 1.3 suite, and one
   * without TLS 1.2 names turns TLS 1.2 off.
   */
  ciphers?: string;
  /**
   * Servers: called with the server name a client asks for (SNI) before
   * the handshake goes on; answer with `callback(null, { cert, key })` (or
   * `null` for this server's own certificate), at once or later. An error
   * fails the handshake: `onSslHandshakeError` gets it. Not called when
   * the client names no server.
   */
  SNICallback?: (servername: string, callback: (error: Error | null, context?: SniContext | null) => void) => void;
}

/** A TLS version name. */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** What `SNICallback` answers with: the certificate (and key) for that server name. */
export interface SniContext {
  /** The certificate chain to present, as `sslOptions.cert`. */
  cert?: Pem | Pem[];
  /** Its private key, as `sslOptions.key`. */
  key?: Pem | Pem[];
  /** Or both in a PKCS#12 archive, as `sslOptions.pfx`. */
  pfx?: Buffer | Uint8Array;
  /** The passphrase of an encrypted `key` or of the `pfx`. */
  passphrase?: string;
}

/** A peer's certificate, with the names of node:tls' `getPeerCertificate()`. */
export interface PeerCertificate {
  /** Subject attributes by OpenSSL short name (`CN`, `O`, ...); a repeated one is an array. */
  subject: Record<string, string | string[]>;
  /** Issuer attributes, as `subject`. */
  issuer: Record<string, string | string[]>;
  /** `'DNS:localhost, IP Address:127.0.0.1'`; absent without the extension. */
  subjectaltname?: string;
  /** `basicConstraints` marks it as a CA. */
  ca: boolean;
  /** Start of validity, `'Jan  1 00:00:00 2030 GMT'`. */
  valid_from: string;
  /** End of validity, same format. */
  valid_to: string;
  /** SHA-256 of `raw`, colon-separated uppercase hex. */
  fingerprint256: string;
  /** Uppercase hex. */
  serialNumber: string;
  /** The certificate (DER). */
  raw: Buffer;
}

/** Every option name `SslOptions` has: any other throws. */
const OPTION_NAMES = new Set([
  'cert', 'key', 'ca', 'rejectUnauthorized', 'servername', 'ALPNProtocols', 'requestCert', 'handshakeTimeout',
  'passphrase', 'pfx', 'minVersion', 'maxVersion', 'ciphers', 'SNICallback',
]);

const VERSIONS = new Set(['TLSv1.2', 'TLSv1.3']);

/** Default of `SslOptions.handshakeTimeout`, in seconds (as node:tls). */
const DEFAULT_HANDSHAKE_TIMEOUT = 120;

/** A native TLS configuration for one role. @internal */
export interface TlsContext {
  readonly id: number;
  /** The `servername` option, if given. */
  readonly servername: string | undefined;
  /** Seconds the handshake may take. */
  readonly handshakeTimeout: number;
  /** Servers: the `SNICallback` option. */
  readonly sniCallback: SslOptions['SNICallback'];
  /** The options it was built from. */
  readonly options: SslOptions;
}

const contexts = new WeakMap<object, { client?: TlsContext; server?: TlsContext }>();

/** Contexts built from `SNICallback` answers, per answer object. */
const sniContexts = new WeakMap<TlsContext, WeakMap<object, TlsContext>>();

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

function text(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`sslOptions.${option} must be a string.`);
  return value;
}

function version(value: unknown, option: 'minVersion' | 'maxVersion'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !VERSIONS.has(value)) {
    const which = option === 'minVersion' ? 'minimum' : 'maximum';
    throw Object.assign(
      new TypeError(`sslOptions.${option}: ${JSON.stringify(value)} is not a valid ${which} TLS protocol version for this engine ('TLSv1.2' or 'TLSv1.3').`),
      { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' },
    );
  }
  return value;
}

/** A native configuration error, with Node's code when the engine gives one (`[CODE] message`). */
function nativeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const coded = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(error.message);
  if (coded === null) return error;
  return Object.assign(new Error(coded[2]), { code: coded[1] });
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
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw new TypeError(`sslOptions.${name} is not an option this engine has.`);
  }
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
  if (options.pfx !== undefined && !(options.pfx instanceof Uint8Array)) throw new TypeError('sslOptions.pfx must be a Buffer (PKCS#12, DER).');
  if (options.SNICallback !== undefined && typeof options.SNICallback !== 'function') throw new TypeError('sslOptions.SNICallback must be a function.');
  let owner: { id: number };
  try {
    owner = new native.NativeTlsConfig({
      server: role === 'server',
      cert: pem(options.cert, 'cert') ?? undefined,
      key: pem(options.key, 'key') ?? undefined,
      passphrase: text(options.passphrase, 'passphrase'),
      pfx: options.pfx === undefined ? undefined : Buffer.from(options.pfx.buffer, options.pfx.byteOffset, options.pfx.byteLength),
      ca: pem(options.ca, 'ca') ?? undefined,
      rejectUnauthorized: flag(options.rejectUnauthorized, 'rejectUnauthorized', true),
      requestCert: flag(options.requestCert, 'requestCert', false),
      alpn: alpn.map((protocol) => (typeof protocol === 'string' ? protocol : Buffer.from(protocol).toString('latin1'))),
      minVersion: version(options.minVersion, 'minVersion'),
      maxVersion: version(options.maxVersion, 'maxVersion'),
      ciphers: text(options.ciphers, 'ciphers'),
      servernameCallback: role === 'server' && options.SNICallback !== undefined,
    });
  } catch (error) {
    throw nativeError(error);
  }
  // The context keeps the native configuration alive as long as the options object lives.
  const context = {
    id: owner.id, servername: options.servername, handshakeTimeout, sniCallback: options.SNICallback, options, owner,
  } as TlsContext;
  contexts.set(options, { ...contexts.get(options), [role]: context });
  return context;
}

/**
 * The server configuration for an `SNICallback` answer: the server's
 * options with the answer's certificate and key; built once per answer object.
 * @internal
 */
export function sniContext(server: TlsContext, answer: SniContext): TlsContext {
  if (answer === null || typeof answer !== 'object') throw new TypeError('SNICallback must answer with { cert, key } or null.');
  let built = sniContexts.get(server);
  if (built === undefined) sniContexts.set(server, (built = new WeakMap()));
  const cached = built.get(answer);
  if (cached) return cached;
  const { SNICallback: _callback, pfx: _pfx, cert: _cert, key: _key, ...rest } = server.options;
  const context = tlsContext({ ...rest, ...answer }, 'server');
  built.set(answer, context);
  return context;
}

/** A peer's certificate as the native side describes it. */
type NativeCertificate = NonNullable<ReturnType<typeof native.peerCertificate>>;

function attributes(pairs: string[][]): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const known = result[name];
    result[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
  }
  return result;
}

/** node:tls' shape of a certificate. @internal */
export function peerCertificateOf(fields: NativeCertificate): PeerCertificate {
  const certificate: PeerCertificate = {
    subject: attributes(fields.subject),
    issuer: attributes(fields.issuer),
    ca: fields.ca,
    valid_from: fields.validFrom,
    valid_to: fields.validTo,
    fingerprint256: fields.fingerprint256,
    serialNumber: fields.serialNumber,
    raw: fields.raw,
  };
  if (fields.subjectaltname != null) certificate.subjectaltname = fields.subjectaltname;
  return certificate;
}
