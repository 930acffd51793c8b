// Pants WebSocket helpers for the tests: a WebSocket subclass that records
// every event, and servers on started engines that close at the end.
import type { ExecutionContext } from 'ava';
import { Engine } from 'pants-net';
import { HTTPRequest, HTTPServer, HTTPServerOptions, WebSocket } from 'pants-net/http';
import { Application } from 'pants-net/web';

import { portOf, startedEngine } from './helpers.js';

/** A deferred value. */
export class Deferred<T> {
  promise: Promise<T>;
  resolve!: (value: T) => void;
  settled = false;
  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolve = (value: T) => {
        this.settled = true;
        resolve(value);
      };
    });
  }
}

/** Rejects with `what` after `ms` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** True when `received` is a Buffer with exactly the bytes of `expected` (ava's deepEqual is very slow on big Buffers). */
export function sameBytes(received: unknown, expected: Buffer): boolean {
  return Buffer.isBuffer(received) && received.equals(expected);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every event, in order, as [name, ...args]. */
export type WsEvent = [string, ...unknown[]];

/**
 * A WebSocket that records its events. `echo` makes it write every message
 * back (same type). Instances made by a server are listed in `Recording.made`
 * of the subclass returned by {@link recording}.
 */
export class Recording extends WebSocket {
  events: WsEvent[] = [];
  messages: (string | Buffer)[] = [];
  errors: Error[] = [];
  pongs: Buffer[] = [];
  connectArgs: unknown[] | null = null;
  closeArgs: [number, string] | null = null;
  closeCount = 0;
  writeCount = 0;
  opened = new Deferred<unknown[]>();
  closed = new Deferred<[number, string]>();
  errored = new Deferred<Error>();
  #waiters: (() => void)[] = [];
  /** Every Recording made, in order (tests filter with {@link instancesOf}). */
  static all: Recording[] = [];

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(...args: any[]) {
    // @ts-ignore whatever the server or the test passes on, as given
    super(...args);
    Recording.all.push(this);
  }

  override onConnect(...args: unknown[]) {
    this.events.push(['connect', ...args]);
    this.connectArgs = args;
    this.opened.resolve(args);
  }

  override onRead(data: string | Buffer, ...more: unknown[]) {
    this.events.push(['read', data, ...more]);
    this.messages.push(data);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  override onWrite() {
    this.events.push(['write']);
    this.writeCount += 1;
  }

  override onClose(code: number, reason: string) {
    this.events.push(['close', code, reason]);
    this.closeCount += 1;
    this.closeArgs = [code, reason];
    this.closed.resolve([code, reason]);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  override onPong(data: Buffer) {
    this.events.push(['pong', data]);
    this.pongs.push(data);
  }

  override onError(error: Error) {
    this.events.push(['error', error]);
    this.errors.push(error);
    this.errored.resolve(error);
  }

  /** Waits until `count` messages arrived in all; resolves with them. */
  async messagesUntil(count: number, ms = 20_000): Promise<(string | Buffer)[]> {
    const start = Date.now();
    while (this.messages.length < count) {
      if (this.closeArgs) throw new Error(`closed ${JSON.stringify(this.closeArgs)} after ${this.messages.length} of ${count} messages`);
      if (Date.now() - start > ms) throw new Error(`timed out: ${this.messages.length} of ${count} messages`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.slice(0, count);
  }

  /** The next message after those already seen (`messages.length` now). */
  async nextMessage(ms = 20_000): Promise<string | Buffer> {
    const count = this.messages.length + 1;
    return (await this.messagesUntil(count, ms))[count - 1];
  }

  /** Names of the events so far. */
  get eventNames(): string[] {
    return this.events.map(([name]) => name);
  }
}

/** An echoing Recording. */
export class EchoRecording extends Recording {
  override onRead(data: string | Buffer, ...more: unknown[]) {
    super.onRead(data, ...more);
    if (this.readyState === WebSocket.OPEN) this.write(data);
  }
}

/** Every instance of `Class` (or its subclasses) made so far, server- or client-side. */
export function instancesOf<T extends Recording>(Class: abstract new (...args: never[]) => T): T[] {
  return Recording.all.filter((socket): socket is T => socket instanceof Class);
}

/** Resolves with the first instance of `Class` that has opened. */
export async function firstOpened<T extends Recording>(Class: abstract new (...args: never[]) => T, ms = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const open = instancesOf(Class).find((socket) => socket.connectArgs !== null);
    if (open) return open;
    if (Date.now() - start > ms) throw new Error(`no ${Class.name} opened within ${ms} ms`);
    await sleep(5);
  }
}

/** An HTTPServer for `handler` on a started engine, on a free port; closed at the end. */
export function wsServe(
  t: ExecutionContext,
  handler: typeof WebSocket | Application | ((request: HTTPRequest) => unknown),
  options: HTTPServerOptions = {},
  engine?: Engine,
): { engine: Engine; server: HTTPServer; port: number; url: string } {
  const theEngine = engine ?? startedEngine(t);
  const server = new HTTPServer(handler as never, { engine: theEngine, ...options }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  const port = portOf(server);
  return { engine: theEngine, server, port, url: `ws://127.0.0.1:${port}` };
}

/** A client of class `Class` on `engine`, connected to `url`, closed at the end; resolves once open. */
export async function wsClient<T extends Recording>(
  t: ExecutionContext,
  Class: new (options?: { engine?: Engine; sslOptions?: unknown }) => T,
  url: string,
  engine: Engine,
  setup: (client: T) => void = () => {},
  sslOptions?: unknown,
): Promise<T> {
  const client = new Class(sslOptions === undefined ? { engine } : { engine, sslOptions });
  setup(client);
  t.teardown(() => {
    if (client.readyState === WebSocket.OPEN) client.close();
  });
  t.is(client.connect(url), client);
  await within(
    Promise.race([
      client.opened.promise,
      client.closed.promise.then((args) => {
        throw new Error(`closed ${JSON.stringify(args)} before open; errors: ${client.errors.map((error) => `${(error as NodeJS.ErrnoException).code}: ${error.message}`).join('; ')}`);
      }),
    ]),
    20_000,
    `the client to open ${url}`,
  );
  return client;
}
