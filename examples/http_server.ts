// A small HTTP/1.1 server. Each request head is framed by readDelimiter
// '\r\n\r\n'; a Content-Length body by switching readDelimiter to that byte
// count, and back to '\r\n\r\n' for the next request on the same keep-alive
// connection.
//   node build/examples/http_server.js [port]   then   curl -i localhost:8080/
//                                                      curl -i -d 'some data' localhost:8080/echo
import { Engine, Server, StreamClass, Stream } from 'pants-net';

/** A request as the handler sees it. */
export interface HttpRequest {
  method: string;
  /** The request target: path and query, as sent (`/search?q=pants`). */
  target: string;
  /** `'HTTP/1.1'` or `'HTTP/1.0'`. */
  version: string;
  /** Header values by lower-case name; repeated headers joined with `', '`. */
  headers: Map<string, string>;
  body: Buffer;
}

/** What the handler answers. `Content-Length` and `Date` are added for you. */
export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Longest request head (request line and headers) accepted, like node:http's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Largest request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) (HTTP\/1\.[01])$/;

/** Parses a request head (without its final blank line); `null` if malformed. */
export function parseHead(head: Buffer): HttpRequest | null {
  // Stray CRLFs before a request line are allowed (RFC 9112, 2.2).
  const lines = head.toString('latin1').replace(/^(\r\n)+/, '').split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]);
  if (requestLine === null) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon < 1 || !TOKEN.test(name)) return null;
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  const [, method, target, version] = requestLine;
  return { method, target, version, headers, body: Buffer.alloc(0) };
}

/** HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 closes it unless asked not to. */
function keepsAlive(request: HttpRequest): boolean {
  const connection = request.headers.get('connection')?.toLowerCase() ?? '';
  if (request.version === 'HTTP/1.0') return /\bkeep-alive\b/.test(connection);
  return !/\bclose\b/.test(connection);
}

/** The `Date` header, computed once per second of engine time. */
let dateSecond = -1;
let dateValue = '';
function httpDate(engine: Engine): string {
  const second = Math.floor(engine.latestPollTime);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString();
  }
  return dateValue;
}

/** One HTTP connection: any number of requests, one after another. */
export class HttpConnection extends Stream {
  /** The request whose body is being read, else `null`. */
  #request: HttpRequest | null = null;

  override onConnect(): void {
    this.bufferSize = MAX_HEAD_BYTES;
    this.readDelimiter = '\r\n\r\n';
  }

  override onRead(data: Buffer): void {
    if (this.#request !== null) {
      // The body: exactly Content-Length bytes.
      const request = this.#request;
      this.#request = null;
      request.body = data;
      this.bufferSize = MAX_HEAD_BYTES;
      this.readDelimiter = '\r\n\r\n';
      this.#respond(request);
      return;
    }

    const request = parseHead(data);
    if (request === null) return this.#refuse(400);
    if (request.headers.has('transfer-encoding')) return this.#refuse(501);
    const contentLength = request.headers.get('content-length') ?? '0';
    if (!/^\d+$/.test(contentLength)) return this.#refuse(400);
    const length = Number(contentLength);
    if (length > MAX_BODY_BYTES) return this.#refuse(413);
    if (length === 0) return this.#respond(request);

    if (request.headers.get('expect')?.toLowerCase() === '100-continue') {
      this.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.#request = request;
    this.bufferSize = Math.max(MAX_HEAD_BYTES, length);
    this.readDelimiter = length;
  }

  /** A request head longer than `MAX_HEAD_BYTES`. */
  override onOverflowError(): void {
    this.#refuse(431);
  }

  /**
   * Answers one request. Override it to serve your own routes; this one
   * says hello on `/` and echoes what is posted to `/echo`.
   */
  handle(request: HttpRequest): HttpResponse {
    if (request.target === '/') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return { status: 405, headers: { Allow: 'GET, HEAD' } };
      }
      return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'Hello, World!\n' };
    }
    if (request.target === '/echo') {
      if (request.method !== 'POST') return { status: 405, headers: { Allow: 'POST' } };
      const type = request.headers.get('content-type') ?? 'application/octet-stream';
      return { status: 200, headers: { 'Content-Type': type }, body: request.body };
    }
    return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: 'Not Found\n' };
  }

  #respond(request: HttpRequest): void {
    let response: HttpResponse;
    try {
      response = this.handle(request);
    } catch (error) {
      Engine.logger.error(`${this.constructor.name}.handle:`, error);
      return this.#refuse(500);
    }
    const keepAlive = keepsAlive(request);
    // HTTP/1.0 clients need to hear that the connection stays open; HTTP/1.1 ones that it closes.
    const connection = !keepAlive ? 'close' : request.version === 'HTTP/1.0' ? 'keep-alive' : null;
    this.#send(response, request.method === 'HEAD', connection);
    if (!keepAlive) this.close();
  }

  /** Answers with an error status and closes the connection. */
  #refuse(status: number): void {
    this.#send({ status, headers: { 'Content-Type': 'text/plain' }, body: `${REASONS[status]}\n` }, false, 'close');
    this.close();
  }

  #send(response: HttpResponse, headOnly: boolean, connection: string | null): void {
    const body = typeof response.body === 'string' ? Buffer.from(response.body) : (response.body ?? Buffer.alloc(0));
    let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? 'Unknown'}\r\n`;
    for (const [name, value] of Object.entries(response.headers ?? {})) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${body.length}\r\nDate: ${httpDate(this.engine)}\r\n`;
    if (connection !== null) head += `Connection: ${connection}\r\n`;
    this.write(`${head}\r\n`);
    if (!headOnly && body.length > 0) this.write(body);
  }
}

/** An HTTP server: every connection is an `HttpConnection`. */
export class HttpServer extends Server {
  override ConnectionClass: StreamClass = HttpConnection;
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  new HttpServer().listen(port);
  console.log(`HTTP server on http://localhost:${port}/`);
  void Engine.instance().start();
}
