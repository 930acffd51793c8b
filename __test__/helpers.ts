// Shared helpers for the ava tests: real engines, real node:net peers.
import type { ExecutionContext } from 'ava';
import net from 'node:net';
import { Engine, Server, Stream } from 'pants-net';

/** A new engine, started, stopped when the test ends. */
export function startedEngine(t: ExecutionContext): Engine {
  const engine = new Engine();
  void engine.start();
  t.teardown(() => engine.stop());
  return engine;
}

/** Closes `server` when the test ends. */
export function closeAtEnd<S extends Server>(t: ExecutionContext, server: S): S {
  t.teardown(() => server.close());
  return server;
}

/** The TCP port a listening server was given. */
export function portOf(server: Server): number {
  const address = server.localAddress;
  if (!Array.isArray(address)) throw new Error(`not a TCP server: ${String(address)}`);
  return address[1];
}

/** A connected node:net client, destroyed when the test ends. */
export async function netClient(t: ExecutionContext, port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect(port, host);
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Resolves with everything `socket` receives until it has at least `bytes` bytes. */
export function readBytes(socket: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => {
      if (length < bytes) reject(new Error(`socket closed after ${length} of ${bytes} bytes`));
    });
  });
}

/** Resolves with everything `socket` receives until the peer closes. */
export function readToEnd(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Polls `condition` until true; rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolve function, for callbacks to settle. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** What the streams of a {@link lineRecorder} saw. */
export interface LineRecord {
  /** The '\n'-framed lines read, as strings, in order. */
  lines: string[];
  /** How often onClose ran. */
  closes: number;
  /** Settles at the first onClose. */
  closed: Promise<void>;
}

/** A Stream class that frames '\n' lines and records them and its onClose calls. */
export function lineRecorder(): { Lines: typeof Stream; record: LineRecord } {
  const closed = signal();
  const record: LineRecord = { lines: [], closes: 0, closed: closed.promise };
  class Lines extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      record.lines.push(line.toString());
    }
    override onClose() {
      record.closes += 1;
      closed.resolve();
    }
  }
  return { Lines, record };
}

/** Replaces Engine.logger while `fn` runs and returns what was logged as errors. */
export async function captureErrors(fn: () => Promise<void> | void): Promise<unknown[][]> {
  const previous = Engine.logger;
  const errors: unknown[][] = [];
  Engine.logger = { ...console, error: (...args: unknown[]) => errors.push(args) };
  try {
    await fn();
  } finally {
    Engine.logger = previous;
  }
  return errors;
}

/** What a {@link recordLog} logger was given, one array of arguments per call. */
export interface LogRecord {
  error: unknown[][];
  warn: unknown[][];
}

/** Replaces Engine.logger until the test ends and records its `error` and `warn` calls. */
export function recordLog(t: ExecutionContext): LogRecord {
  const previous = Engine.logger;
  const record: LogRecord = { error: [], warn: [] };
  Engine.logger = { ...console, error: (...args: unknown[]) => record.error.push(args), warn: (...args: unknown[]) => record.warn.push(args) };
  t.teardown(() => (Engine.logger = previous));
  return record;
}

/** True when one of the logged calls was given `value` as an argument. */
export function wasLogged(calls: unknown[][], value: unknown): boolean {
  return calls.some((args) => args.includes(value));
}

/** True when `frame` is a view of the start of `memory` (a frame read into a `readBuffer`). */
export function isIn(frame: Buffer, memory: Uint8Array): boolean {
  return frame.buffer === memory.buffer && frame.byteOffset === memory.byteOffset;
}

/**
 * An echo stream class whose streams read into `memory` (`readBuffer`);
 * `tally` counts the chunks it echoed and those that were views of `memory`.
 */
export function readBufferEcho(memory: Uint8Array): { Echo: typeof Stream; tally: { chunks: number; inMemory: number } } {
  const tally = { chunks: 0, inMemory: 0 };
  class Echo extends Stream {
    override onConnect() {
      this.readBuffer = memory;
    }
    override onRead(data: Buffer) {
      tally.chunks++;
      if (isIn(data, memory)) tally.inMemory++;
      this.write(data);
    }
  }
  return { Echo, tally };
}
