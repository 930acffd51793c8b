/**
 * One HTTP request, and the response written to it: in parts
 * (`sendStatus`, `sendHeaders`, `send`, `finish`) or at once
 * (`sendResponse`, `sendJSON`, `sendFile`).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, statSync, type Stats } from 'node:fs';

import type { Address } from '../address.js';
import type { Engine } from '../engine.js';
import { OUTGOING_HIGH_WATER } from '../contract.js';
import type { Stream } from '../stream.js';
import { CookieAttributes, parseCookies, serializeCookie, signCookie, verifyCookie } from './cookies.js';
import { Params, parseHeaderParams, parseMultipart, parseParams, splitTarget, Target, UploadedFile } from './forms.js';
import { FrameFlag, RequestFrame } from './frame.js';
import { HTTPHeaders } from './headers.js';
import { contentTypeOf } from './mime.js';
import { ByteRange, parseRange } from './ranges.js';
import { hasNoBody, reasonPhrase } from './status.js';
import { kConnection, kUpgrade, MessageSink } from './upgrade.js';

/** What a request needs of the connection and server it came through. @internal */
export interface RequestHost {
  /** The connection. */
  readonly stream: Stream;
  /** The server's settings. */
  readonly httpKeepAlive: boolean;
  readonly xheaders: boolean;
  readonly cookieSecret: string | Buffer;
  /** The response is complete; `keepAlive`: the connection may take the next request. */
  responseFinished(request: HTTPRequest, keepAlive: boolean): void;
  /** A response waits for the connection to drain (`onDrain`). */
  wantDrain(): void;
  /** The connection carries a WebSocket from now on, framed by the engine for messages up to `maxPayload` bytes. */
  upgrade(sink: MessageSink, maxPayload: number, flags: number): void;
}

/** Options of `sendFile`. */
export interface SendFileOptions {
  /** `Content-Type` (default: from the file's extension). */
  contentType?: string;
  /** More response headers. */
  headers?: Record<string, string | string[] | number>;
}

/** An error a handler throws to answer with `status` (see `pants-net/web`'s `abort`). */
export class HTTPException extends Error {
  /** The status code to answer with. */
  readonly status: number;
  /** Headers to add to the answer. */
  readonly headers: Record<string, string>;
  /** An exception answering `status`; `message` is the body (default: the reason phrase). */
  constructor(status: number, message?: string, headers: Record<string, string> = {}) {
    super(message ?? reasonPhrase(status));
    this.status = status;
    this.headers = headers;
  }
}

/** The `Date` header, made once per second of engine time (the start of the engine's iteration, read once per iteration). */
let dateSecond = -1;
let dateText = '';
function httpDate(engine: Engine): string {
  const second = Math.floor(engine.latestPollTime);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** The latest content type `sendResponse` found free of line breaks: most responses repeat it. */
let checkedContentType = '';

/** Random bytes in a `multipart/byteranges` boundary. */
const MULTIPART_BOUNDARY_BYTES = 12;

/** A file's validators: its weak `ETag` (size and modification time) and its modification time to the second. */
interface Validators {
  size: number;
  mtimeMs: number;
  etag: string;
  modified: Date;
  lastModified: string;
}

/** The latest file's validators: a file served again and again costs no new strings. */
let latestValidators: Validators | null = null;

/** The validators of a file of `size` bytes modified at `mtimeMs`. */
function validatorsOf(size: number, mtimeMs: number): Validators {
  if (latestValidators?.size !== size || latestValidators.mtimeMs !== mtimeMs) {
    const modified = new Date(Math.floor(mtimeMs / 1000) * 1000);
    const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
    latestValidators = { size, mtimeMs, etag, modified, lastModified: modified.toUTCString() };
  }
  return latestValidators;
}

/** An HTTP request: what came in, and the methods that answer it. */
export class HTTPRequest {
  readonly #frame: RequestFrame;
  readonly #host: RequestHost;
  readonly #started = performance.now();
  #target: Target | null = null;
  #get: Params | null = null;
  #form: { post: Params; files: Record<string, UploadedFile[]> } | null = null;
  #cookies: Record<string, string> | null = null;
  #status = 200;
  #reason: string | null = null;
  #headersSent = false;
  #finished = false;
  #chunked = false;
  #closeAfter = false;
  /** Made on first use: most responses set no cookie and wait for no drain or close. */
  #outgoingCookies: string[] | null = null;
  #onDrain: (() => void)[] | null = null;
  #onClose: (() => void)[] | null = null;

  /** @internal */
  constructor(frame: RequestFrame, host: RequestHost) {
    this.#frame = frame;
    this.#host = host;
  }

  // ----- what came in ----------------------------------------------------

  /** `'GET'`, `'POST'`, ... */
  get method(): string {
    return this.#frame.method;
  }

  /** The request target as sent: `'/a/b?x=1'`. */
  get url(): string {
    return this.#frame.target;
  }

  /** `'HTTP/1.1'` or `'HTTP/1.0'`. */
  get protocol(): string {
    return this.#frame.flags & FrameFlag.Http11 ? 'HTTP/1.1' : 'HTTP/1.0';
  }

  #parts(): Target {
    return (this.#target ??= splitTarget(this.url));
  }

  /** The percent-decoded path: `'/a b'` for `/a%20b?x=1`. */
  get path(): string {
    return this.#parts().path;
  }

  /** The raw query string, without `?` (`''` when none). */
  get query(): string {
    return this.#parts().query;
  }

  /** The fragment, without `#` (`''` when none). */
  get fragment(): string {
    return this.#parts().fragment;
  }

  /** The headers, case-insensitive; repeated headers are kept (`getAll`). */
  get headers(): HTTPHeaders {
    return this.#frame.headers;
  }

  /** The whole body (empty for none). */
  get body(): Buffer {
    return this.#frame.body;
  }

  /** Query parameters; a repeated key gives an array. */
  get get(): Params {
    return (this.#get ??= parseParams(this.query));
  }

  #readForm(): { post: Params; files: Record<string, UploadedFile[]> } {
    if (this.#form === null) {
      const { type, params } = parseHeaderParams(this.headers.get('content-type') ?? '');
      const empty = { post: Object.create(null) as Params, files: Object.create(null) as Record<string, UploadedFile[]> };
      if (type === 'application/x-www-form-urlencoded') this.#form = { ...empty, post: parseParams(this.body.toString('utf8')) };
      else if (type === 'multipart/form-data') {
        const parsed = parseMultipart(this.body, params.get('boundary') ?? '');
        this.#form = parsed === null ? empty : { post: parsed.fields, files: parsed.files };
      } else this.#form = empty;
    }
    return this.#form;
  }

  /** Fields of an `application/x-www-form-urlencoded` or `multipart/form-data` body. */
  get post(): Params {
    return this.#readForm().post;
  }

  /** Files of a `multipart/form-data` body, by field name. */
  get files(): Record<string, UploadedFile[]> {
    return this.#readForm().files;
  }

  /** The body parsed as JSON; invalid JSON throws an `HTTPException` 400 (a `400` when thrown from a handler). */
  json(): unknown {
    try {
      return JSON.parse(this.body.toString('utf8'));
    } catch {
      throw new HTTPException(400, 'The request body is not valid JSON.');
    }
  }

  /** The request's cookies. */
  get cookies(): Record<string, string> {
    return (this.#cookies ??= parseCookies(this.headers.get('cookie')));
  }

  /** The peer's IP address (with the server's `xheaders`: `X-Real-IP` or the first `X-Forwarded-For`). */
  get remoteIp(): string {
    if (this.#host.xheaders) {
      const forwarded = this.headers.get('x-real-ip') ?? this.headers.get('x-forwarded-for')?.split(',')[0];
      if (forwarded !== undefined && forwarded !== null && forwarded.trim() !== '') return forwarded.trim();
    }
    const address: Address | null = this.#host.stream.remoteAddress;
    return Array.isArray(address) ? address[0] : '';
  }

  /** `'https'` under TLS, else `'http'` (with `xheaders`: `X-Forwarded-Proto` when it says one of them). */
  get scheme(): string {
    if (this.#host.xheaders) {
      const proto = this.headers.get('x-forwarded-proto')?.split(',')[0].trim().toLowerCase();
      if (proto === 'http' || proto === 'https') return proto;
    }
    return this.isSecure ? 'https' : 'http';
  }

  /** The `Host` header (`''` when none). */
  get host(): string {
    return this.headers.get('host') ?? '';
  }

  /** The host without its port: `'example.com'`, `'::1'`. */
  get hostname(): string {
    const host = this.host;
    if (host.startsWith('[')) return host.slice(1, Math.max(1, host.indexOf(']')));
    const colon = host.lastIndexOf(':');
    return colon < 0 ? host : host.slice(0, colon);
  }

  /** True when the request came over TLS. */
  get isSecure(): boolean {
    return this.#host.stream.secure;
  }

  /** Seconds since the request arrived. */
  get time(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** The connection the request came on. */
  get connection(): Stream {
    return this.#host.stream;
  }

  // ----- the response ------------------------------------------------------

  /** True once the status line and headers are written. */
  get headersSent(): boolean {
    return this.#headersSent;
  }

  /** True once the response is complete. */
  get finished(): boolean {
    return this.#finished;
  }

  get #isHead(): boolean {
    return this.method === 'HEAD';
  }

  /** Sets the status (and reason phrase) of the response; before `sendHeaders`. */
  sendStatus(code = 200, reason?: string): void {
    if (this.#headersSent) throw new Error('sendStatus() after the headers were sent');
    if (!Number.isInteger(code) || code < 100 || code > 999) throw new RangeError(`status must be an integer from 100 to 999; got ${String(code)}`);
    if (reason !== undefined && /[\r\n]/.test(reason)) throw new TypeError('the reason phrase holds a line break');
    this.#status = code;
    this.#reason = reason ?? null;
  }

  /** Adds a `Set-Cookie` header to the response; before `sendHeaders`. */
  setCookie(name: string, value: string, attributes?: CookieAttributes): void {
    if (this.#headersSent) throw new Error('setCookie() after the headers were sent');
    (this.#outgoingCookies ??= []).push(serializeCookie(name, value, attributes));
  }

  /** Sets a cookie signed with the server's `cookieSecret` (HMAC-SHA256), read back with `getSecureCookie`. */
  setSecureCookie(name: string, value: string, attributes: CookieAttributes = {}): void {
    this.setCookie(name, signCookie(this.#host.cookieSecret, name, value, attributes, Date.now() / 1000), attributes);
  }

  /** The value of a cookie set by `setSecureCookie`; `null` when missing, tampered with or expired. */
  getSecureCookie(name: string): string | null {
    return verifyCookie(this.#host.cookieSecret, name, this.cookies[name], Date.now() / 1000);
  }

  /**
   * Writes the status line and `headers`, adding `Date`, `Server`, and
   * `Content-Length: 0` or `Transfer-Encoding: chunked` (HTTP/1.0: the
   * connection closes after the body) when the headers give no length.
   */
  sendHeaders(headers: HTTPHeaders | Record<string, string | readonly string[] | number> = {}): void {
    if (this.#headersSent) throw new Error('sendHeaders() twice');
    const out = headers instanceof HTTPHeaders ? headers : new HTTPHeaders(headers);
    if (!out.has('date')) out.set('Date', httpDate(this.#host.stream.engine));
    if (!out.has('server')) out.set('Server', 'pants-net');
    if (this.#outgoingCookies !== null) for (const cookie of this.#outgoingCookies) out.append('Set-Cookie', cookie);
    const noBody = hasNoBody(this.#status);
    if (noBody) {
      out.delete('content-length');
      out.delete('transfer-encoding');
    } else if (!out.has('content-length') && !out.has('transfer-encoding')) {
      if (this.protocol === 'HTTP/1.1') {
        out.set('Transfer-Encoding', 'chunked');
        this.#chunked = !this.#isHead;
      } else {
        this.#closeAfter = true;
      }
    } else if (/\bchunked\b/i.test(out.get('transfer-encoding') ?? '')) {
      this.#chunked = !this.#isHead;
    }
    const wantsClose = /\bclose\b/i.test(out.get('connection') ?? '');
    out.delete('connection');
    const head = `${this.#statusLine()}${out.toWire()}`;
    this.#headersSent = true;
    this.#host.stream.write(`${head}${this.#connectionLine(wantsClose)}\r\n`);
  }

  #statusLine(): string {
    return `${this.protocol} ${this.#status} ${this.#reason ?? reasonPhrase(this.#status)}\r\n`;
  }

  /** Decides whether the connection stays open after this response; its `Connection` line, if one is needed. */
  #connectionLine(wantsClose: boolean): string {
    this.#closeAfter ||= wantsClose || !this.#host.httpKeepAlive || !(this.#frame.flags & FrameFlag.KeepAlive);
    if (this.#closeAfter) return 'Connection: close\r\n';
    return this.protocol === 'HTTP/1.0' ? 'Connection: keep-alive\r\n' : '';
  }

  /**
   * Writes part of the body (headers first if they were not sent); returns
   * `false` above the connection's high-water mark: wait for `onDrain`.
   */
  send(data: string | Uint8Array): boolean {
    if (this.#finished) throw new Error('send() after finish()');
    if (!this.#headersSent) this.sendHeaders();
    const stream = this.#host.stream;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#isHead || hasNoBody(this.#status) || bytes.length === 0) return stream.bufferedAmount < OUTGOING_HIGH_WATER;
    if (!this.#chunked) return stream.write(bytes);
    stream.write(`${bytes.length.toString(16)}\r\n`);
    stream.write(bytes);
    return stream.write('\r\n');
  }

  /** Same as `send`. */
  write(data: string | Uint8Array): boolean {
    return this.send(data);
  }

  /** Completes the response; the connection then takes the next request, or closes. */
  finish(): void {
    if (this.#finished) return;
    if (!this.#headersSent) this.sendHeaders({ 'Content-Length': '0' });
    if (this.#chunked) this.#host.stream.write('0\r\n\r\n');
    this.#finished = true;
    this.#onClose = null;
    this.#host.responseFinished(this, !this.#closeAfter);
  }

  /** The connection this request came through. @internal */
  get [kConnection](): Stream {
    return this.#host.stream;
  }

  /**
   * Hands the connection over to a WebSocket: writes the `101` head, and
   * the request counts as answered (the connection takes no more requests).
   * @internal
   */
  [kUpgrade](sink: MessageSink, maxPayload: number, flags: number, head: string): Stream {
    this.#headersSent = true;
    this.#finished = true;
    this.#onClose = [];
    this.#host.stream.write(head);
    this.#host.upgrade(sink, maxPayload, flags);
    // The socket may keep this request for as long as it lives: keep the bytes, not the parsed headers.
    this.#frame.forgetHeaders();
    return this.#host.stream;
  }

  /** The whole response at once, with its exact `Content-Length`. */
  sendResponse(body: string | Uint8Array, code = 200, contentType = 'text/plain; charset=utf-8'): void {
    this.sendStatus(code);
    if (!this.#mayWriteHeadAtOnce()) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      this.sendHeaders({ 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
      if (!this.#isHead && !hasNoBody(code)) this.#host.stream.write(bytes);
      this.finish();
      return;
    }
    // The common case, written directly: one head string, and the body with it when it is a string.
    if (contentType !== checkedContentType) {
      if (/[\r\n]/.test(contentType)) throw new TypeError('the content type holds a line break');
      checkedContentType = contentType;
    }
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const head = this.#headAtOnce(`Content-Type: ${contentType}\r\nContent-Length: ${length}\r\n`);
    const stream = this.#host.stream;
    if (this.#isHead) stream.write(head);
    else if (typeof body === 'string') stream.write(head + body);
    else {
      stream.write(head);
      stream.write(body);
    }
    this.finish();
  }

  /** True when the head may be written as one string by `#headAtOnce`: no cookies, not sent yet, and a status with a body. */
  #mayWriteHeadAtOnce(): boolean {
    return this.#outgoingCookies === null && !this.#headersSent && !hasNoBody(this.#status);
  }

  /**
   * The head with `fields` (`Name: value\r\n` lines without line breaks
   * inside, giving the length), then `Date`, `Server` and the connection's
   * line, as `sendHeaders` would write it; the headers count as sent.
   */
  #headAtOnce(fields: string): string {
    this.#headersSent = true;
    return `${this.#statusLine()}${fields}Date: ${httpDate(this.#host.stream.engine)}\r\nServer: pants-net\r\n${this.#connectionLine(false)}\r\n`;
  }

  #writeHeadAtOnce(fields: string): void {
    this.#host.stream.write(this.#headAtOnce(fields));
  }

  /** `value` as JSON (`application/json`). */
  sendJSON(value: unknown, code = 200): void {
    this.sendResponse(JSON.stringify(value) ?? 'null', code, 'application/json');
  }

  /**
   * Sends a file: `ETag`, `Last-Modified`, `Accept-Ranges: bytes`; `304`
   * for a matching `If-None-Match` / `If-Modified-Since`; `Range` requests
   * (one: `206`; several: `multipart/byteranges`; none satisfiable: `416`),
   * honoured under `If-Range`; `404` when missing, `403` when unreadable.
   * The bytes go with `sendfile` on plain TCP. Resolves once it is sent
   * (or answered otherwise).
   */
  async sendFile(path: string, options: SendFileOptions = {}): Promise<void> {
    // Synchronous, as nginx does: a stat on a local disk costs less than a thread-pool round trip.
    let stat: Stats;
    try {
      stat = statSync(path);
    } catch (error) {
      this.#fileError(error);
      return;
    }
    this.sendStatedFile(path, stat, options);
  }

  /** `sendFile` of a file already stat'ed: `stat` is what `statSync(path)` gave. @internal */
  sendStatedFile(path: string, stat: Stats, options: SendFileOptions = {}): void {
    try {
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      accessSync(path, constants.R_OK);
    } catch (error) {
      this.#fileError(error);
      return;
    }
    const size = stat.size;
    const { etag, modified, lastModified } = validatorsOf(size, stat.mtimeMs);
    const notModified = this.#notModified(etag, modified);
    const type = options.contentType ?? contentTypeOf(path);
    const ranges = notModified ? null : this.#rangesWanted(size, etag, modified);
    // The common case, written directly: the whole file, no headers but ours.
    if (!notModified && ranges === null && options.headers === undefined && this.#mayWriteHeadAtOnce() && !/[\r\n]/.test(type)) {
      this.#writeHeadAtOnce(`ETag: ${etag}\r\nLast-Modified: ${lastModified}\r\nAccept-Ranges: bytes\r\nContent-Type: ${type}\r\nContent-Length: ${size}\r\n`);
      if (!this.#isHead && size > 0) this.#sendFileBytes(path, 0, size);
      this.finish();
      return;
    }
    const headers = new HTTPHeaders({ ...options.headers });
    headers.set('ETag', etag);
    headers.set('Last-Modified', lastModified);
    headers.set('Accept-Ranges', 'bytes');
    if (notModified) {
      this.sendStatus(304);
      this.sendHeaders(headers);
      this.finish();
      return;
    }
    if (ranges === 'unsatisfiable') {
      headers.set('Content-Range', `bytes */${size}`);
      headers.set('Content-Type', 'text/plain; charset=utf-8');
      headers.set('Content-Length', String(reasonPhrase(416).length));
      this.sendStatus(416);
      this.sendHeaders(headers);
      if (!this.#isHead) this.#host.stream.write(reasonPhrase(416));
      this.finish();
      return;
    }
    if (ranges === null) {
      headers.set('Content-Type', type);
      headers.set('Content-Length', String(size));
      this.sendHeaders(headers);
      if (!this.#isHead && size > 0) this.#sendFileBytes(path, 0, size);
    } else if (ranges.length === 1) {
      const [{ start, end }] = ranges;
      headers.set('Content-Type', type);
      headers.set('Content-Range', `bytes ${start}-${end}/${size}`);
      headers.set('Content-Length', String(end - start + 1));
      this.sendStatus(206);
      this.sendHeaders(headers);
      if (!this.#isHead) this.#sendFileBytes(path, start, end - start + 1);
    } else {
      this.#sendByteRanges(path, ranges, size, type, headers);
    }
    this.finish();
  }

  /** Answers a file that could not be stat'ed or read: `404` when missing, else `403`. */
  #fileError(error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') this.sendResponse('Not Found', 404);
    else this.sendResponse('Forbidden', 403);
  }

  #notModified(etag: string, modified: Date): boolean {
    const noneMatch = this.headers.get('if-none-match');
    if (noneMatch !== null) {
      const bare = (tag: string): string => tag.trim().replace(/^W\//, '');
      return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => bare(tag) === bare(etag));
    }
    const since = Date.parse(this.headers.get('if-modified-since') ?? '');
    return (this.method === 'GET' || this.method === 'HEAD') && Number.isFinite(since) && modified.getTime() <= since;
  }

  #rangesWanted(size: number, etag: string, modified: Date): ByteRange[] | 'unsatisfiable' | null {
    if (this.method !== 'GET' && this.method !== 'HEAD') return null;
    const ifRange = this.headers.get('if-range');
    if (ifRange !== null) {
      // A strong comparison: our ETags are weak, so only the date form can match.
      const matches = ifRange.startsWith('"') ? ifRange === etag : Date.parse(ifRange) === modified.getTime();
      if (!matches) return null;
    }
    return parseRange(this.headers.get('range'), size);
  }

  #sendByteRanges(path: string, ranges: ByteRange[], size: number, type: string, headers: HTTPHeaders): void {
    const boundary = randomBytes(MULTIPART_BOUNDARY_BYTES).toString('hex');
    const partHead = ({ start, end }: ByteRange): string => `--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${start}-${end}/${size}\r\n\r\n`;
    const closing = `--${boundary}--\r\n`;
    const length = ranges.reduce((total, range) => total + Buffer.byteLength(partHead(range)) + (range.end - range.start + 1) + 2, 0) + closing.length;
    headers.set('Content-Type', `multipart/byteranges; boundary=${boundary}`);
    headers.set('Content-Length', String(length));
    this.sendStatus(206);
    this.sendHeaders(headers);
    if (this.#isHead) return;
    for (const range of ranges) {
      this.#host.stream.write(partHead(range));
      this.#sendFileBytes(path, range.start, range.end - range.start + 1);
      this.#host.stream.write('\r\n');
    }
    this.#host.stream.write(closing);
  }

  /** `length` bytes of the file from `offset`, by the engine (sendfile on plain TCP). */
  #sendFileBytes(path: string, offset: number, length: number): void {
    this.#host.stream.writeFile(path, length, offset);
  }

  /** `fn` runs once the response's buffered bytes fall below the high-water mark. */
  onDrain(fn: () => void): void {
    const stream = this.#host.stream;
    if (stream.bufferedAmount < OUTGOING_HIGH_WATER) {
      stream.engine.callback(fn);
      return;
    }
    (this.#onDrain ??= []).push(fn);
    this.#host.wantDrain();
  }

  /** `fn` runs if the connection closes before `finish()` (the client went away). */
  onClose(fn: () => void): void {
    if (!this.#finished) (this.#onClose ??= []).push(fn);
  }

  /** The connection drained: run the `onDrain` callbacks. @internal */
  drained(): Array<() => void> {
    const callbacks = this.#onDrain ?? [];
    this.#onDrain = null;
    return callbacks;
  }

  /** The connection closed: the `onClose` callbacks to run (none once finished). @internal */
  closed(): Array<() => void> {
    const callbacks = this.#onClose ?? [];
    this.#onClose = null;
    return callbacks;
  }
}
