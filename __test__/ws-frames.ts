// Raw WebSocket (RFC 6455) for the tests: a node:net client that does the
// HTTP upgrade by hand, builds any frame (masked or not, any opcode, RSV
// bits, any length encoding), writes it whole or a byte at a time, and
// parses what the server sends back (data, control and close frames).
import type { ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** The `Sec-WebSocket-Accept` value RFC 6455 §4.2.2 derives from `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes. */
export function newKey(): string {
  return randomBytes(16).toString('base64');
}

export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1..3 as a 3-bit number (4 = RSV1, 2 = RSV2, 1 = RSV3); default 0. */
  rsv?: number;
  /** Mask the payload (clients must); default true. */
  mask?: boolean;
  /** The masking key; default random. */
  maskKey?: Buffer;
  /** Force the length encoding: 7-bit, 16-bit (126) or 64-bit (127); default the shortest. */
  lengthForm?: 7 | 16 | 64;
  /** Claim this payload length in the header instead of the real one (for limit tests). */
  claimedLength?: number;
}

/** One frame's bytes. */
export function frame(opcode: number, payload: string | Buffer = Buffer.alloc(0), options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const { fin = true, rsv = 0, mask = true } = options;
  const length = options.claimedLength ?? data.length;
  const form = options.lengthForm ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const head: number[] = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf)];
  const maskBit = mask ? 0x80 : 0;
  let header: Buffer;
  if (form === 7) {
    header = Buffer.from([...head, maskBit | length]);
  } else if (form === 16) {
    header = Buffer.alloc(4);
    header[0] = head[0];
    header[1] = maskBit | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = head[0];
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!mask) return Buffer.concat([header, data]);
  const key = options.maskKey ?? randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let index = 0; index < data.length; index += 1) masked[index] = data[index] ^ key[index & 3];
  return Buffer.concat([header, key, masked]);
}

/** A close frame's payload: a 2-byte code and a reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

/** A parsed frame. */
export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** The code and reason of a close frame (1005 and '' when it had no payload). */
export function closeOf(received: Frame): { code: number; reason: string } {
  if (received.payload.length < 2) return { code: 1005, reason: '' };
  return { code: received.payload.readUInt16BE(0), reason: received.payload.subarray(2).toString('utf8') };
}

/** Parses frames out of a byte stream, as they arrive. */
export class FrameParser {
  #buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns every frame now complete. */
  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) break;
      const masked = (buffer[1] & 0x80) !== 0;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const keyLength = masked ? 4 : 0;
      if (buffer.length < offset + keyLength + length) break;
      let payload = Buffer.from(buffer.subarray(offset + keyLength, offset + keyLength + length));
      if (masked) {
        const key = buffer.subarray(offset, offset + 4);
        for (let index = 0; index < payload.length; index += 1) payload[index] ^= key[index & 3];
      }
      frames.push({ fin: (buffer[0] & 0x80) !== 0, rsv: (buffer[0] >> 4) & 7, opcode: buffer[0] & 0xf, masked, payload });
      this.#buffer = buffer.subarray(offset + keyLength + length);
      payload = Buffer.alloc(0);
    }
    return frames;
  }

  /** Bytes received that do not yet make a frame. */
  get pending(): number {
    return this.#buffer.length;
  }
}

/** The parsed HTTP response head of an upgrade. */
export interface ResponseHead {
  status: number;
  reason: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string | undefined>;
  /** The head's raw text. */
  raw: string;
}

export function parseHead(text: string): ResponseHead {
  const [statusLine, ...lines] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string | undefined> = {};
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(match[1]), reason: match[2], headers, raw: text };
}

/** The request head of a valid upgrade to `path`, with `extra` headers (a null value removes a default one). */
export function upgradeRequest(path = '/', key = newKey(), extra: Record<string, string | null> = {}, requestLine?: string): string {
  const headers: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
  };
  for (const [name, value] of Object.entries(extra)) {
    const existing = Object.keys(headers).find((known) => known.toLowerCase() === name.toLowerCase());
    if (existing) delete headers[existing];
    headers[name] = value;
  }
  const lines = Object.entries(headers)
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return `${requestLine ?? `GET ${path} HTTP/1.1`}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * A raw WebSocket client on a node:net socket: frames in and out by hand.
 * Received frames queue up; `next()` takes them in order.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly parser = new FrameParser();
  readonly frames: Frame[] = [];
  /** Set once the TCP connection closed (either side). */
  ended = false;
  /** Resolves when the TCP connection has closed. */
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(socket: net.Socket, leftover: Buffer = Buffer.alloc(0)) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        resolve();
        this.#wake();
      }),
    );
    if (leftover.length > 0) this.#receive(leftover);
  }

  #receive(chunk: Buffer): void {
    this.frames.push(...this.parser.push(chunk));
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until a frame is queued (or the connection ended); rejects after `timeoutMs`. */
  async #wait(timeoutMs: number, what: string): Promise<void> {
    if (this.frames.length > 0 || this.ended) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The next frame; rejects if the connection ends first or after `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<Frame> {
    for (;;) {
      const queued = this.frames.shift();
      if (queued) return queued;
      if (this.ended) throw new Error('the connection closed before another frame came');
      await this.#wait(timeoutMs, 'a frame');
    }
  }

  /** The next non-control data message (fragments joined). */
  async message(timeoutMs = 20_000): Promise<{ opcode: number; payload: Buffer }> {
    let opcode = -1;
    const parts: Buffer[] = [];
    for (;;) {
      const received = await this.next(timeoutMs);
      if (received.opcode === OP.PING || received.opcode === OP.PONG) continue;
      if (received.opcode === OP.CLOSE) throw new Error(`got a close frame ${JSON.stringify(closeOf(received))} instead of a message`);
      if (opcode === -1) opcode = received.opcode;
      parts.push(received.payload);
      if (received.fin) return { opcode, payload: Buffer.concat(parts) };
    }
  }

  /**
   * Reads until the server's close frame (skipping anything before it) and the
   * TCP close; resolves with the close frame's code and reason, or code 1006 if
   * the connection ended without one.
   */
  async closeFrame(timeoutMs = 20_000): Promise<{ code: number; reason: string; frame: Frame | null; before: Frame[] }> {
    const before: Frame[] = [];
    for (;;) {
      let received: Frame;
      try {
        received = await this.next(timeoutMs);
      } catch (error) {
        if (this.ended) return { code: 1006, reason: '', frame: null, before };
        throw error;
      }
      if (received.opcode === OP.CLOSE) return { ...closeOf(received), frame: received, before };
      before.push(received);
    }
  }

  /**
   * What a failed connection looks like from here: the server's close frame
   * (its code), and then the TCP connection closing (the server closes after
   * failing, RFC 6455 §7.1.7; we do not answer). Rejects if either does not come.
   */
  async failure(timeoutMs = 20_000): Promise<{ code: number; reason: string; before: Frame[] }> {
    const { code, reason, frame: received, before } = await this.closeFrame(timeoutMs);
    // Answer like a well-behaved peer, so a server that waits for our close frame is not slowed down.
    if (received && !this.ended) this.socket.write(frame(OP.CLOSE, received.payload.length >= 2 ? received.payload.subarray(0, 2) : Buffer.alloc(0)));
    await Promise.race([
      this.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the server did not close the TCP connection after its close frame')), timeoutMs)),
    ]);
    return { code, reason, before };
  }

  /** Writes bytes. */
  send(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Writes one frame. */
  sendFrame(opcode: number, payload: string | Buffer = Buffer.alloc(0), options: FrameOptions = {}): void {
    this.socket.write(frame(opcode, payload, options));
  }

  /** Writes `bytes` one byte per TCP write, letting the event loop turn between them (Nagle off). */
  async sendByteByByte(bytes: Buffer): Promise<void> {
    this.socket.setNoDelay(true);
    for (let index = 0; index < bytes.length; index += 1) {
      await new Promise<void>((resolve, reject) => this.socket.write(bytes.subarray(index, index + 1), (error) => (error ? reject(error) : resolve())));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sends a close frame with `code` (and `reason`) and returns the close frame that answers it. */
  async closeHandshake(code = 1000, reason = ''): Promise<{ code: number; reason: string }> {
    this.sendFrame(OP.CLOSE, closePayload(code, reason));
    const { code: answered, reason: answeredReason } = await this.failure();
    return { code: answered, reason: answeredReason };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects to `port` and sends `request` verbatim; resolves with the response head, the socket, and bytes after the head. */
export async function rawRequest(t: ExecutionContext, port: number, request: string | Buffer, host = '127.0.0.1'): Promise<{ head: ResponseHead; socket: net.Socket; leftover: Buffer }> {
  const socket = net.connect(port, host);
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no response head within 20 s; got ${JSON.stringify(received.toString('latin1'))}`)), 20_000);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      clearTimeout(timer);
      socket.pause();
      try {
        resolve({ head: parseHead(received.subarray(0, end).toString('latin1')), socket, leftover: received.subarray(end + 4) });
      } catch (error) {
        reject(error);
      }
    };
    const onClose = () => {
      clearTimeout(timer);
      reject(new Error(`connection closed before a response head; got ${JSON.stringify(received.toString('latin1'))}`));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Upgrades a new connection to `port` at `path` by hand and checks the 101
 * (status, Upgrade, Connection, Sec-WebSocket-Accept); rejects otherwise.
 */
export async function rawConnect(t: ExecutionContext, port: number, path = '/', extra: Record<string, string | null> = {}): Promise<RawClient & { head: ResponseHead }> {
  const key = newKey();
  const { head, socket, leftover } = await rawRequest(t, port, upgradeRequest(path, key, extra));
  if (head.status !== 101) throw new Error(`upgrade refused: ${head.raw}`);
  if (head.headers['sec-websocket-accept'] !== acceptFor(key)) throw new Error(`bad Sec-WebSocket-Accept: ${head.raw}`);
  if (head.headers.upgrade?.toLowerCase() !== 'websocket') throw new Error(`no Upgrade: websocket: ${head.raw}`);
  if (!/\bupgrade\b/i.test(head.headers.connection ?? '')) throw new Error(`no Connection: Upgrade: ${head.raw}`);
  const client = new RawClient(socket, leftover) as RawClient & { head: ResponseHead };
  client.head = head;
  socket.resume();
  return client;
}

/** Reads everything a connection sends until it closes (for refused handshakes). */
export function rest(socket: net.Socket, leftover: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [leftover];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/**
 * A minimal raw WebSocket *server* on node:net, for client-side tests: it
 * answers the upgrade (or not, as `answer` decides) and hands each connection
 * to `onClient` as a RawClient (frames it receives must be masked).
 */
export async function rawServer(
  t: ExecutionContext,
  onClient: (client: RawClient, request: { line: string; headers: Record<string, string | undefined> }) => void,
  answer: (request: { line: string; headers: Record<string, string | undefined> }, accept: string) => string = (_request, accept) =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
): Promise<{ server: net.Server; port: number; requests: { line: string; headers: Record<string, string | undefined> }[] }> {
  const sockets = new Set<net.Socket>();
  const requests: { line: string; headers: Record<string, string | undefined> }[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const [line, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string | undefined> = {};
      for (const header of lines) {
        const colon = header.indexOf(':');
        headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
      }
      const request = { line, headers };
      requests.push(request);
      socket.write(answer(request, acceptFor(headers['sec-websocket-key'] ?? '')));
      onClient(new RawClient(socket, received.subarray(end + 4)), request);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, port: (server.address() as net.AddressInfo).port, requests };
}
