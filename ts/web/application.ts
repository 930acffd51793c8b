/**
 * `Application`: Pants' web layer. Routes map rules to handlers; a
 * handler's result becomes the response; `404`, `405` with `Allow`,
 * `OPTIONS` and `HEAD` are answered for you.
 */
import type { Address } from '../address.js';
import { Engine } from '../engine.js';
import { HTTPException, HTTPRequest } from '../http/request.js';
import { HTTPServer, HTTPServerOptions } from '../http/server.js';
import type { WebSocketClass } from '../http/websocket.js';
import { acceptUpgrade, isWebSocketClass } from '../http/websocket_server.js';
import { RouteIndex, RouteValue, Rule } from './routing.js';

/** A full answer as a value: what a handler may return. */
export class Response {
  /** The body. */
  readonly body: string | Uint8Array;
  /** The status code. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Record<string, string>;
  /** An answer with `body`, `status` (default 200) and `headers`. */
  constructor(body: string | Uint8Array = '', status = 200, headers: Record<string, string> = {}) {
    this.body = body;
    this.status = status;
    this.headers = headers;
  }
}

/** Throws an `HTTPException`: the handler's request is answered with `status` (and `message` as the body). */
export function abort(status: number, message?: string): never {
  throw new HTTPException(status, message);
}

/** Throws an `HTTPException` that redirects to `url` (default `302 Found`). */
export function redirect(url: string, status = 302): never {
  if (/[\r\n]/.test(url)) throw new TypeError('a redirect URL holds a line break');
  throw new HTTPException(status, `Redirecting to ${url}`, { Location: url });
}

/** What a route handler gets: the request, then the rule's values in order. */
export type RouteHandler = (request: HTTPRequest, ...values: any[]) => unknown;

/** Wraps every handler: call `next()` for the handler's (or the next middleware's) result, return what to answer with. */
export type Middleware = (request: HTTPRequest, next: () => Promise<unknown>) => unknown;

/** Options of `route()`. */
export interface RouteOptions {
  /** Methods the route answers (default `['GET', 'HEAD']`; a GET route always answers HEAD). */
  methods?: string[];
  /** A name for `urlFor` (default: the handler's name). */
  name?: string;
  /** Headers added to every response of the route. */
  headers?: Record<string, string>;
  /** The `Content-Type` of string results (default: `text/html` if it starts with `<`, else `text/plain`). */
  contentType?: string;
}

interface Route {
  rule: Rule;
  handler: RouteHandler;
  /** The WebSocket class the route upgrades to, instead of a handler. */
  socket: WebSocketClass | null;
  methods: Set<string>;
  headers: Record<string, string>;
  contentType: string | undefined;
}

/** A web application: `app.route('/', () => 'Hello')`, then `app.run(8080)` or `new HTTPServer(app)`. */
export class Application {
  readonly #routes = new RouteIndex<Route>();
  readonly #named = new Map<string, Rule>();
  readonly #middleware: Middleware[] = [];

  /** An application without routes: add them with `route()`. */
  constructor() {}

  /**
   * Routes requests matching `rule` to `handler`. Rules are paths with
   * values: `<name>` (one segment), `<int:name>`, `<float:name>`,
   * `<path:name>` (the rest, slashes included), `<any(a,b):name>`,
   * `<regex("[a-z]+"):name>`. Bad rules throw `TypeError`. A `WebSocket`
   * class as the handler upgrades the route's requests; its `onConnect`
   * gets the rule's values.
   */
  route(rule: string, handler: RouteHandler | WebSocketClass, options: RouteOptions = {}): this {
    if (typeof handler !== 'function') throw new TypeError(`route ${rule}: the handler must be a function`);
    const compiled = new Rule(rule);
    const methods = new Set((options.methods ?? ['GET', 'HEAD']).map((method) => method.toUpperCase()));
    if (methods.has('GET')) methods.add('HEAD');
    const socket = isWebSocketClass(handler) ? handler : null;
    this.#routes.add({ rule: compiled, handler: handler as RouteHandler, socket, methods, headers: options.headers ?? {}, contentType: options.contentType });
    const name = options.name ?? (handler.name || undefined);
    if (name !== undefined && !this.#named.has(name)) this.#named.set(name, compiled);
    return this;
  }

  /** Adds a middleware around every handler; the first added is the outermost. */
  use(middleware: Middleware): this {
    if (typeof middleware !== 'function') throw new TypeError('a middleware must be a function');
    this.#middleware.push(middleware);
    return this;
  }

  /** The URL of the route named `name` with `values` (those the rule lacks go to the query string). */
  urlFor(name: string, values: Record<string, RouteValue> = {}): string {
    const rule = this.#named.get(name);
    if (rule === undefined) throw new TypeError(`urlFor: no route is named ${JSON.stringify(name)}`);
    return rule.build(values);
  }

  /** `new HTTPServer(this, options).listen(address)`, and starts its engine; returns the server. */
  run(address: Address = 80, options: HTTPServerOptions = {}): HTTPServer {
    const server = new HTTPServer(this, options).listen(address);
    void (options.engine ?? Engine.instance()).start();
    return server;
  }

  /** Answers one request: what `HTTPServer` calls, so an `Application` is a handler. */
  async handle(request: HTTPRequest): Promise<void> {
    const found = this.#find(request);
    const route = Array.isArray(found) ? found[0] : null;
    try {
      // Without middleware the handler is called at once, and its result awaited only when it is a promise (or thenable).
      let result = this.#middleware.length === 0 ? this.#dispatch(request, found) : await this.#around(request, 0, async () => this.#dispatch(request, found));
      if (isThenable(result)) result = await result;
      if (!request.finished) this.#answer(request, result, route);
    } catch (error) {
      if (!(error instanceof HTTPException) || request.headersSent) throw error;
      const response = new Response(error.message, error.status, { 'Content-Type': 'text/plain; charset=utf-8', ...error.headers });
      this.#answer(request, response, route);
    }
  }

  #find(request: HTTPRequest): [Route, RouteValue[]] | 'method' | null {
    const path = request.path;
    const method = request.method;
    let pathMatched = false;
    for (const route of this.#routes.candidates(path)) {
      const values = route.rule.match(path);
      if (values === null) continue;
      if (route.methods.has(method)) return [route, values];
      pathMatched = true;
    }
    return pathMatched ? 'method' : null;
  }

  #around(request: HTTPRequest, index: number, innermost: () => Promise<unknown>): Promise<unknown> {
    const middleware = this.#middleware[index];
    if (middleware === undefined) return innermost();
    return Promise.resolve(middleware(request, () => this.#around(request, index + 1, innermost)));
  }

  /** The handler's result (a promise when it is `async`); throws the `HTTPException` of a `404` or `405`. */
  #dispatch(request: HTTPRequest, found: [Route, RouteValue[]] | 'method' | null): unknown {
    if (found === null) abort(404);
    if (found === 'method') {
      const allow = this.#allowed(request.path);
      if (request.method === 'OPTIONS') return new Response('', 200, { Allow: allow });
      throw new HTTPException(405, undefined, { Allow: allow });
    }
    const [route, values] = found;
    if (route.socket !== null) {
      acceptUpgrade(request, route.socket, values);
      return undefined;
    }
    return route.handler(request, ...values);
  }

  /** The methods some route answers at `path`, for `Allow`. */
  #allowed(path: string): string {
    const methods = new Set<string>(['OPTIONS']);
    for (const [route] of this.#routes.matches(path)) for (const method of route.methods) methods.add(method);
    return [...methods].sort().join(', ');
  }

  /** Turns a handler's result into the response. */
  #answer(request: HTTPRequest, result: unknown, route: Route | null): void {
    if (result === undefined) {
      if (!request.finished && !request.headersSent) throw new Error(`the handler of ${request.method} ${request.path} returned nothing and did not answer`);
      return;
    }
    const routeHeaders = route?.headers ?? {};
    const contentType = route?.contentType;
    let body: unknown = result;
    let status = 200;
    let headers: Record<string, string> = {};
    if (result instanceof Response) ({ body, status, headers } = result);
    else if (Array.isArray(result) && typeof result[1] === 'number' && result.length <= 3) {
      [body, status, headers = {}] = result as [unknown, number, Record<string, string>?];
    }
    let text: string | Uint8Array;
    let type: string;
    if (typeof body === 'string') {
      text = body;
      type = contentType ?? (body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8');
    } else if (body instanceof Uint8Array) {
      text = body;
      type = 'application/octet-stream';
    } else {
      text = JSON.stringify(body) ?? 'null';
      type = 'application/json';
    }
    // No headers of its own: the response goes out as sendResponse writes it, in one piece.
    if (isEmpty(routeHeaders) && isEmpty(headers)) {
      request.sendResponse(text, status, type);
      return;
    }
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    request.sendStatus(status);
    const all: Record<string, string> = { 'Content-Type': type, ...routeHeaders, ...headers, 'Content-Length': String(bytes.length) };
    request.sendHeaders(all);
    if (request.method !== 'HEAD' && status !== 204 && status !== 304) request.send(bytes);
    request.finish();
  }
}

/** True for what `await` would wait on: a promise, or any object with a `then` method. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** True when `record` has no enumerable key (own or inherited): nothing to spread into the headers. */
function isEmpty(record: Record<string, string> | null | undefined): boolean {
  for (const _ in record) return false;
  return true;
}
