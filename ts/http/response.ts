/**
 * `HTTPResponse`: what an `HTTPClient` request resolves with. The body is
 * whole and decoded (chunks joined, `gzip` / `deflate` undone) unless the
 * request streamed it to `onData`.
 */
import type { HTTPHeaders } from './headers.js';

/** A response received by `HTTPClient`. */
export class HTTPResponse {
  /** The status code (`200`). */
  readonly status: number;
  /** The reason phrase as sent (`'OK'`). */
  readonly statusText: string;
  /** `'1.1'` or `'1.0'`. */
  readonly httpVersion: string;
  /** Response headers, case-insensitive; repeated ones kept (`getAll`). */
  readonly headers: HTTPHeaders;
  /** The URL this response answered (after redirects: the last one). */
  readonly url: string;
  /** The redirect responses that led here, oldest first (empty without redirects). */
  history: HTTPResponse[] = [];
  /** The body, decoded; empty for none, and when streamed to `onData`. */
  body: Buffer = Buffer.alloc(0);
  /** Cookies this response set (`Set-Cookie`), by name. */
  readonly cookies: Record<string, string>;

  /** @internal */
  constructor(status: number, statusText: string, httpVersion: string, headers: HTTPHeaders, url: string, cookies: Record<string, string>) {
    this.status = status;
    this.statusText = statusText;
    this.httpVersion = httpVersion;
    this.headers = headers;
    this.url = url;
    this.cookies = cookies;
  }

  /** True for a `2xx` status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** The body as text (UTF-8 unless the `Content-Type` names `latin1` / `iso-8859-1` / `ascii`). */
  text(): string {
    const charset = /charset="?([^";\s]+)/i.exec(this.headers.get('content-type') ?? '')?.[1]?.toLowerCase();
    const encoding: BufferEncoding = charset === 'iso-8859-1' || charset === 'latin1' ? 'latin1' : charset === 'us-ascii' || charset === 'ascii' ? 'ascii' : 'utf8';
    return this.body.toString(encoding);
  }

  /** The body parsed as JSON; throws `SyntaxError` when it is not JSON. */
  json(): unknown {
    return JSON.parse(this.text());
  }
}
