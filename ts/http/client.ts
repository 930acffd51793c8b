/**
 * `HTTPClient`: HTTP/1.1 requests on the engine, with a keep-alive pool per
 * origin, redirects, a cookie jar, `gzip` / `deflate` bodies and verified
 * TLS. Every request returns a promise, and subclasses can also override the
 * Pants-style callbacks `onResponse`, `onProgress` and `onError`. Response
 * heads and bodies are framed in Rust (see `response_frame.ts`).
 */
import * as zlib from 'node:zlib';

import { logCallbackError, watchCallback } from '../callback.js';
import { Engine } from '../engine.js';
import { codedError } from '../errors.js';
import type { SslOptions } from '../tls.js';
import { clientError, Exchange } from './client_connection.js';
import { OriginPool } from './client_pool.js';
import { CookieJar } from './cookie_jar.js';
import { HTTPHeaders } from './headers.js';
import { encodeBody, encodeParams, FileField, FormFields } from './request_body.js';
import { HTTPResponse } from './response.js';
import { ResponseFlag, ResponseFrame } from './response_frame.js';

/** Header values by name: a record (arrays repeat a header), pairs, or `HTTPHeaders`. */
export type HeadersInit = Record<string, string | number | readonly string[]> | Iterable<readonly [string, string]> | HTTPHeaders;

/** Options of `new HTTPClient()`; each is also a property of the same name. */
export interface HTTPClientOptions {
  /** The engine the connections run on (default `Engine.instance()`). */
  engine?: Engine;
  /** Headers sent with every request (a request's own headers override them). */
  headers?: HeadersInit;
  /** Seconds a request may take, from sending it (or waiting for a connection) to the end of its response (default 30). */
  timeout?: number;
  /** Most redirects followed per request; one more rejects with `ERR_PANTS_TOO_MANY_REDIRECTS` (default 10). */
  maxRedirects?: number;
  /** Keep connections open between requests (default `true`). */
  keepAlive?: boolean;
  /** Most connections per origin (scheme, host, port); more requests wait their turn (default 16). */
  maxSockets?: number;
  /** TLS options for `https` URLs (the server's certificate and name are verified unless `rejectUnauthorized: false`). */
  sslOptions?: SslOptions;
  /** Bytes of status line and headers a response may have; more rejects with `ERR_PANTS_HTTP_RESPONSE_TOO_LARGE` (default 65536). */
  maxHeaderSize?: number;
  /** Bytes of body a response may have, as received and once decoded; more rejects with `ERR_PANTS_HTTP_RESPONSE_TOO_LARGE` (default 104857600). */
  maxResponseSize?: number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Query parameters, added to the URL's own (arrays repeat a parameter). */
  params?: FormFields;
  /** Headers of this request (over the client's). */
  headers?: HeadersInit;
  /** The body: a string (UTF-8, `text/plain`), bytes (`application/octet-stream`), or any other value sent as JSON (`application/json`). */
  body?: unknown;
  /** Fields sent as `application/x-www-form-urlencoded` (or as `multipart/form-data` parts beside `files`). */
  form?: FormFields;
  /** Files sent as `multipart/form-data`, by field name: bytes or text, or `{ filename, type, body }`. */
  files?: Record<string, FileField | FileField[]>;
  /** Cookies sent with this request, beside those of the client's jar. */
  cookies?: Record<string, string>;
  /** HTTP basic authentication: `[user, password]`. */
  auth?: readonly [string, string];
  /** Seconds, over the client's `timeout`. */
  timeout?: number;
  /** Over the client's `maxRedirects`. */
  maxRedirects?: number;
  /**
   * Streams the body: each piece is passed here as it arrives, and the
   * response's `body` stays empty, so a large download never sits in
   * memory whole (write the pieces to a file, hash them, ...). Pieces are
   * as sent: no `Accept-Encoding` is offered and nothing is decompressed.
   */
  onData?: (piece: Buffer, response: HTTPResponse) => void;
}

/** Bodies of a known length from this size on are gathered into one buffer as they arrive. */
const WHOLE_BODY_MIN = 64 * 1024;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };
/** A header value with a line break would end the header early (response splitting). */
const UNSAFE_VALUE = /[\r\n\0]/;
const USER_AGENT = 'pants-net';

function positiveSeconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `${name} must be a positive number of seconds; got ${String(value)}.`);
  }
  return value;
}

function count(name: string, value: unknown, min: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > 0xffffffff) {
    throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `${name} must be an integer from ${min}; got ${String(value)}.`);
  }
  return value as number;
}

/** Copies `init` into `headers`, replacing same-named ones. */
function mergeHeaders(headers: HTTPHeaders, init: HeadersInit | undefined): void {
  if (init === undefined) return;
  const given = init instanceof HTTPHeaders ? init : new HTTPHeaders(init as Record<string, string>);
  const seen = new Set<string>();
  for (const [name, value] of given) {
    const key = name.toLowerCase();
    if (!seen.has(key)) headers.delete(name);
    seen.add(key);
    headers.append(name, value);
  }
}

/** Undoes the response's `Content-Encoding` (`gzip`, `deflate`, `br`), holding the result to `limit` bytes. */
function decode(body: Buffer, contentEncoding: string | null, limit: number): Buffer {
  if (contentEncoding === null || body.length === 0) return body;
  const codings = contentEncoding
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity')
    .reverse();
  const options = { maxOutputLength: limit, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  try {
    for (const coding of codings) {
      if (coding === 'gzip' || coding === 'x-gzip') body = zlib.gunzipSync(body, options);
      else if (coding === 'deflate') body = body.length > 0 && (body[0] & 0x0f) === 8 ? zlib.inflateSync(body, options) : zlib.inflateRawSync(body, options);
      else if (coding === 'br') body = zlib.brotliDecompressSync(body, { maxOutputLength: limit });
      else break;
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw clientError('ERR_PANTS_HTTP_RESPONSE_TOO_LARGE', `The decoded response body is larger than maxResponseSize (${limit} bytes).`);
    }
    throw error;
  }
  return body;
}

/** The settings a request runs with. */
interface Settings {
  timeout: number;
  maxRedirects: number;
}

/**
 * An HTTP/1.1 client: `await new HTTPClient().get(url)`. Connections are
 * kept per origin (up to `maxSockets`) and reused; cookies set by responses
 * are kept and sent back; redirects are followed. Subclass it to handle
 * responses with `onResponse`, `onProgress` and `onError` as well.
 */
export class HTTPClient {
  /** The engine the connections run on. */
  readonly engine: Engine;
  /** Headers sent with every request. */
  readonly headers: HTTPHeaders = new HTTPHeaders();
  #timeout = 30;
  #maxRedirects = 10;
  /** Keep connections open between requests. */
  keepAlive = true;
  #maxSockets = 16;
  #maxHeaderSize = 65536;
  #maxResponseSize = 104857600;
  /** TLS options for `https` URLs. */
  sslOptions: SslOptions = {};
  readonly #pools = new Map<string, OriginPool>();
  readonly #jar = new CookieJar();

  /** A client; see `HTTPClientOptions`. */
  constructor(options: HTTPClientOptions = {}) {
    if (options.engine !== undefined && !(options.engine instanceof Engine)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', 'options.engine must be an Engine.');
    }
    this.engine = options.engine ?? Engine.instance();
    mergeHeaders(this.headers, options.headers);
    if (options.timeout !== undefined) this.timeout = options.timeout;
    if (options.maxRedirects !== undefined) this.maxRedirects = options.maxRedirects;
    if (options.keepAlive !== undefined) this.keepAlive = Boolean(options.keepAlive);
    if (options.maxSockets !== undefined) this.maxSockets = options.maxSockets;
    if (options.sslOptions !== undefined) this.sslOptions = options.sslOptions;
    if (options.maxHeaderSize !== undefined) this.maxHeaderSize = options.maxHeaderSize;
    if (options.maxResponseSize !== undefined) this.maxResponseSize = options.maxResponseSize;
  }

  /** Seconds a request may take (default 30). */
  get timeout(): number {
    return this.#timeout;
  }

  set timeout(value: number) {
    this.#timeout = positiveSeconds('timeout', value);
  }

  /** Most redirects followed per request (default 10). */
  get maxRedirects(): number {
    return this.#maxRedirects;
  }

  set maxRedirects(value: number) {
    this.#maxRedirects = count('maxRedirects', value, 0);
  }

  /** Most connections per origin (default 16). */
  get maxSockets(): number {
    return this.#maxSockets;
  }

  set maxSockets(value: number) {
    this.#maxSockets = count('maxSockets', value, 1);
  }

  /** Most bytes of response head (default 65536). */
  get maxHeaderSize(): number {
    return this.#maxHeaderSize;
  }

  set maxHeaderSize(value: number) {
    this.#maxHeaderSize = count('maxHeaderSize', value, 1);
  }

  /** Most bytes of response body (default 104857600). */
  get maxResponseSize(): number {
    return this.#maxResponseSize;
  }

  set maxResponseSize(value: number) {
    this.#maxResponseSize = count('maxResponseSize', value, 1);
  }

  /** The cookies the client keeps, by name. */
  get cookies(): Record<string, string> {
    return this.#jar.all();
  }

  /** Open connections (busy and idle) over all origins. */
  get connectionCount(): number {
    let total = 0;
    for (const pool of this.#pools.values()) total += pool.size;
    return total;
  }

  // ----- callbacks ------------------------------------------------------

  /** A request's final response (after redirects) arrived, before its promise resolves. */
  onResponse(response: HTTPResponse): void {}

  /** Body bytes arrived: `received` so far of `total` (the `Content-Length`, or `null` when unknown). Also called once the head arrives (`received` 0). */
  onProgress(response: HTTPResponse, received: number, total: number | null): void {}

  /** A request failed, before its promise rejects with the same error. A subclass that overrides it need not catch the promise. */
  onError(error: Error): void {}

  // ----- requests -------------------------------------------------------

  /** `GET url`. */
  get(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('GET', url, options);
  }

  /** `POST url`. */
  post(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('POST', url, options);
  }

  /** `PUT url`. */
  put(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('PUT', url, options);
  }

  /** `PATCH url`. */
  patch(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('PATCH', url, options);
  }

  /** `DELETE url`. */
  delete(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('DELETE', url, options);
  }

  /** `HEAD url`: the response has headers only. */
  head(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('HEAD', url, options);
  }

  /** `OPTIONS url`. */
  options(url: string | URL, options?: RequestOptions): Promise<HTTPResponse> {
    return this.request('OPTIONS', url, options);
  }

  /**
   * Sends `method url` and resolves with the response, after following
   * redirects (`301`, `302` and `303` turn a `POST` into a `GET`; `307`,
   * `308` keep method and body). Rejects with an error whose `code` says
   * why: `ETIMEDOUT`, `ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET` (the server
   * closed mid-response), `ERR_PANTS_HTTP_PARSE`,
   * `ERR_PANTS_TOO_MANY_REDIRECTS`, `ERR_PANTS_HTTP_RESPONSE_TOO_LARGE`, or
   * a TLS code. Bad arguments reject with `ERR_PANTS_INVALID_ARGUMENT`.
   */
  request(method: string, url: string | URL, options: RequestOptions = {}): Promise<HTTPResponse> {
    const promise = this.#run(method, url, options);
    // A subclass handling errors in onError need not catch every promise.
    if (this.onError !== HTTPClient.prototype.onError) promise.catch(() => undefined);
    return promise;
  }

  /** Closes the idle kept-alive connections (busy ones close after their response). */
  close(): void {
    for (const pool of this.#pools.values()) pool.close();
  }

  async #run(method: string, url: string | URL, options: RequestOptions): Promise<HTTPResponse> {
    try {
      if (typeof method !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) {
        throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `Invalid HTTP method: ${String(method)}.`);
      }
      const settings: Settings = {
        timeout: options.timeout === undefined ? this.#timeout : positiveSeconds('timeout', options.timeout),
        maxRedirects: options.maxRedirects === undefined ? this.#maxRedirects : count('maxRedirects', options.maxRedirects, 0),
      };
      let target = this.#url(url, options.params);
      let verb = method.toUpperCase();
      let { bytes, contentType } = encodeBody(options);
      const history: HTTPResponse[] = [];
      for (;;) {
        const response = await this.#hop(verb, target, bytes, contentType, options, settings.timeout);
        const location = response.headers.get('location');
        if (!REDIRECTS.has(response.status) || location === null) {
          response.history = history;
          this.#callback('onResponse', this.onResponse, response);
          return response;
        }
        if (history.length >= settings.maxRedirects) {
          throw clientError('ERR_PANTS_TOO_MANY_REDIRECTS', `More than ${settings.maxRedirects} redirects, the last from ${target.href}.`);
        }
        history.push(response);
        const next = new URL(location, target);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw clientError('ERR_PANTS_HTTP_PARSE', `A redirect to an unsupported URL: ${next.href}.`);
        if (response.status === 303 ? verb !== 'HEAD' : (response.status === 301 || response.status === 302) && verb === 'POST') {
          verb = 'GET';
          bytes = null;
          contentType = null;
        }
        // Credentials go only to the origin they were given for.
        if (next.origin !== target.origin) options = { ...options, auth: undefined, headers: withoutAuthorization(options.headers) };
        target = next;
      }
    } catch (error) {
      this.#callback('onError', this.onError, error as Error);
      throw error;
    }
  }

  /** Runs a callback the way the engine runs callbacks: what it throws is logged. */
  #callback<A extends unknown[]>(name: string, fn: (...args: A) => unknown, ...args: A): void {
    try {
      const result = fn.apply(this, args);
      if (result !== undefined) watchCallback(result, this, name);
    } catch (error) {
      logCallbackError(this, name, error);
    }
  }

  #url(url: string | URL, params: FormFields | undefined): URL {
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `Invalid URL: ${String(url)}.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `Only http: and https: URLs are supported; got ${parsed.protocol}.`);
    }
    if (params !== undefined) {
      const extra = encodeParams(params);
      if (extra !== '') parsed.search = parsed.search === '' ? `?${extra}` : `${parsed.search}&${extra}`;
    }
    return parsed;
  }

  #pool(url: URL): OriginPool {
    const key = url.origin;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
      const ssl = url.protocol === 'https:' ? this.sslOptions : null;
      pool = new OriginPool(this.engine, { host, port, ssl }, () => this.#maxSockets, () => this.keepAlive);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** The request's head. */
  #head(method: string, url: URL, body: Buffer | null, contentType: string | null, options: RequestOptions): Buffer {
    const headers = new HTTPHeaders();
    headers.set('Host', url.host);
    headers.set('User-Agent', USER_AGENT);
    headers.set('Accept', '*/*');
    if (options.onData === undefined) headers.set('Accept-Encoding', 'gzip, deflate');
    headers.set('Connection', this.keepAlive ? 'keep-alive' : 'close');
    mergeHeaders(headers, this.headers);
    mergeHeaders(headers, options.headers);
    if (body !== null) {
      if (contentType !== null && !headers.has('content-type')) headers.set('Content-Type', contentType);
      headers.set('Content-Length', String(body.length));
    } else if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      headers.set('Content-Length', '0');
    }
    const cookies = [this.#jar.header(url)];
    for (const [name, value] of Object.entries(options.cookies ?? {})) cookies.push(`${name}=${value}`);
    const cookie = cookies.filter((part) => part !== '').join('; ');
    if (cookie !== '') headers.set('Cookie', headers.has('cookie') ? `${headers.get('cookie')}; ${cookie}` : cookie);
    if (options.auth !== undefined) {
      const [user, password] = options.auth;
      headers.set('Authorization', `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`);
    } else if (url.username !== '' && !headers.has('authorization')) {
      headers.set('Authorization', `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`, 'utf8').toString('base64')}`);
    }
    let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
    for (const [name, value] of headers) {
      if (UNSAFE_VALUE.test(name) || UNSAFE_VALUE.test(value) || name === '' || /[\s:]/.test(name)) {
        throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `Invalid header: ${JSON.stringify(name)}.`);
      }
      head += `${name}: ${value}\r\n`;
    }
    return Buffer.from(`${head}\r\n`, 'latin1');
  }

  /** One request and its response, without following redirects. */
  #hop(method: string, url: URL, body: Buffer | null, contentType: string | null, options: RequestOptions, timeout: number): Promise<HTTPResponse> {
    const head = this.#head(method, url, body, contentType, options);
    const pool = this.#pool(url);
    const maxResponseSize = this.#maxResponseSize;
    return new Promise<HTTPResponse>((resolve, reject) => {
      let response: HTTPResponse | null = null;
      let pieces: Buffer[] = [];
      /** A body of known length is read into one buffer as it arrives (in place: see ClientConnection): no pieces held until the end, no concat. */
      let whole: Buffer | null = null;
      let received = 0;
      let total: number | null = null;
      let retried = false;
      let settled = false;
      const settle = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (error !== null) {
          reject(error);
          return;
        }
        try {
          if (options.onData === undefined) {
            const bytes = whole !== null && received === whole.length ? whole : pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
            response!.body = decode(bytes, response!.headers.get('content-encoding'), maxResponseSize);
          }
          resolve(response!);
        } catch (failure) {
          reject(failure as Error);
        }
      };
      const exchange: Exchange = {
        request: body === null ? [head] : [head, body],
        headRequest: method === 'HEAD',
        maxHeaderSize: this.#maxHeaderSize,
        maxResponseSize,
        head: (frame: ResponseFrame) => {
          const headers = frame.headers();
          const cookies = this.#jar.store(url, headers.getAll('set-cookie'));
          const version = (frame.flags & ResponseFlag.Http11) !== 0 ? '1.1' : '1.0';
          response = new HTTPResponse(frame.status, frame.reason, version, headers, url.href, cookies);
          const length = headers.get('content-length');
          total = method === 'HEAD' || length === null || !/^\d+$/.test(length) ? null : Number(length);
          if (options.onData === undefined && total !== null && total >= WHOLE_BODY_MIN && total <= maxResponseSize) whole = Buffer.allocUnsafe(total);
          this.#callback('onProgress', this.onProgress, response, 0, total);
        },
        bodyTarget: () => (whole !== null && received < whole.length ? { buffer: whole, offset: received } : null),
        filled: (count: number) => {
          received += count;
          this.#callback('onProgress', this.onProgress, response!, received, total);
        },
        data: (piece: Buffer) => {
          received += piece.length;
          if (options.onData !== undefined) {
            try {
              options.onData(piece, response!);
            } catch (error) {
              exchange.fail(error as Error, false);
              return;
            }
          } else if (whole !== null && received <= whole.length) {
            piece.copy(whole, received - piece.length);
          } else {
            if (whole !== null) {
              // More than Content-Length said (the framer stops at it, so this is defensive): keep it all.
              pieces = [whole.subarray(0, received - piece.length)];
              whole = null;
            }
            pieces.push(piece);
          }
          this.#callback('onProgress', this.onProgress, response!, received, total);
        },
        end: () => settle(null),
        fail: (error: Error, retry: boolean) => {
          if (retry && !retried && !settled) {
            // The server closed a kept-alive connection as the request went out: once more on another.
            retried = true;
            response = null;
            pieces = [];
            whole = null;
            received = 0;
            pool.dispatch(exchange);
            return;
          }
          settle(error);
        },
      };
      const timer = this.engine.defer(timeout, () => {
        if (settled) return;
        settle(clientError('ETIMEDOUT', `No complete response from ${url.origin} within ${timeout} s.`));
        // Queued, it leaves the queue; on a connection, that connection closes (it cannot be reused mid-response).
        if (!pool.withdraw(exchange)) pool.abandon(exchange);
      });
      pool.dispatch(exchange);
    });
  }
}

/** `headers` without an `Authorization` header. */
function withoutAuthorization(headers: HeadersInit | undefined): HeadersInit | undefined {
  if (headers === undefined) return undefined;
  const copy = new HTTPHeaders();
  mergeHeaders(copy, headers);
  copy.delete('authorization');
  return copy;
}
