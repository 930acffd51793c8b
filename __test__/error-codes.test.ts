// Misuse errors carry stable codes (API.md "Errors"): one test per code,
// each provoking it through the public API (on real sockets wherever a
// socket is involved) and asserting the code and the error class. The last
// tests check that the codes the sources throw, the codes tested here and
// the README's table are the same list.
import test, { ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Datagram, Engine, InvalidAddressFormatError, NetStruct, Server, Stream, Struct } from 'pants-net';
import { HTTPClient, HTTPRequest, HTTPServer, WebSocket } from 'pants-net/http';

import { closeAtEnd, netClient, portOf, signal, startedEngine, waitFor } from './helpers.js';

const ROOT = join(__dirname, '..', '..');

/** The codes this file has a test for. */
const tested = new Set<string>();

/** A test of `code`, named after it. */
function codeTest(code: string, what: string, body: (t: ExecutionContext) => Promise<void> | void): void {
  tested.add(code);
  test(`${code}: ${what}`, body);
}

/** A Pants server on an ephemeral port of `engine`, closed at the end. */
function listening(t: ExecutionContext, engine: Engine): Server {
  return closeAtEnd(t, new Server({ engine }).listen(['127.0.0.1', 0]));
}

/** A Pants stream connected to a Pants server, closed at the end. */
async function connectedStream(t: ExecutionContext, engine: Engine): Promise<Stream> {
  const server = listening(t, engine);
  const connected = signal();
  class Client extends Stream {
    override onConnect() {
      connected.resolve();
    }
  }
  const stream = new Client({ engine }).connect(['127.0.0.1', portOf(server)]);
  t.teardown(() => stream.close(false));
  await connected.promise;
  return stream;
}

/** A node:net server that accepts and holds connections, closed at the end. */
async function netServer(t: ExecutionContext): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

codeTest('ERR_PANTS_ENGINE_STARTED', 'poll() while the engine is started', (t) => {
  const engine = startedEngine(t);
  t.throws(() => engine.poll(0), { instanceOf: Error, code: 'ERR_PANTS_ENGINE_STARTED' });
});

codeTest('ERR_PANTS_POLL_REENTERED', 'poll() from a callback of the same engine', (t) => {
  const engine = new Engine();
  let thrown: unknown = null;
  engine.callback(() => {
    try {
      engine.poll(0);
    } catch (error) {
      thrown = error;
    }
  });
  engine.poll(0);
  t.true(thrown instanceof Error);
  t.is((thrown as { code?: string }).code, 'ERR_PANTS_POLL_REENTERED');
});

codeTest('ERR_PANTS_INVALID_ARGUMENT', 'bad timer delays and functions, write data, writeFile and writePacked arguments, backlog, pollTimeout', async (t) => {
  const engine = startedEngine(t);
  const code = 'ERR_PANTS_INVALID_ARGUMENT';
  t.throws(() => engine.defer(0, () => {}), { instanceOf: RangeError, code });
  t.throws(() => engine.cycle(Infinity, () => {}), { instanceOf: RangeError, code });
  t.throws(() => engine.callback(42 as never), { instanceOf: TypeError, code });
  t.throws(() => new Engine().poll(-1), { instanceOf: RangeError, code });
  t.throws(() => new Engine().start(Number.NaN), { instanceOf: RangeError, code });
  t.throws(() => new Server({ engine }).listen(['127.0.0.1', 0], -1), { instanceOf: TypeError, code });
  const stream = await connectedStream(t, engine);
  t.throws(() => stream.write(42 as never), { instanceOf: TypeError, code });
  t.throws(() => stream.writeFile({} as never), { instanceOf: TypeError, code });
  t.throws(() => stream.writeFile(__filename, -1), { instanceOf: RangeError, code });
  t.throws(() => stream.writePacked('not an array' as never, '!H'), { instanceOf: TypeError, code });
  const datagram = new Datagram({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => datagram.close(false));
  t.throws(() => datagram.write(42 as never, ['127.0.0.1', 9]), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_INVALID_SETTING', 'bad bufferSize, encoding, connectTimeout, maxSenders, senderTimeout, engine option', (t) => {
  const engine = new Engine();
  const code = 'ERR_PANTS_INVALID_SETTING';
  const stream = new Stream({ engine });
  t.throws(() => (stream.bufferSize = 0), { instanceOf: TypeError, code });
  t.throws(() => (stream.encoding = 'klingon' as never), { instanceOf: TypeError, code });
  t.throws(() => (stream.connectTimeout = -1), { instanceOf: RangeError, code });
  t.throws(() => new Stream({ engine, connectTimeout: 0 }), { instanceOf: RangeError, code });
  const datagram = new Datagram({ engine });
  t.throws(() => (datagram.maxSenders = 0.5), { instanceOf: TypeError, code });
  t.throws(() => (datagram.senderTimeout = -2), { instanceOf: TypeError, code });
  t.throws(() => new Stream({ engine: {} as never }), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_INVALID_DELIMITER', 'readDelimiter of no accepted kind', (t) => {
  const engine = new Engine();
  const stream = new Stream({ engine });
  const code = 'ERR_PANTS_INVALID_DELIMITER';
  for (const bad of [0, -3, 1.5, '', Buffer.alloc(0), {}, true, new NetStruct('')]) {
    t.throws(() => (stream.readDelimiter = bad as never), { instanceOf: TypeError, code }, `readDelimiter = ${String(bad)}`);
  }
  t.throws(() => (new Datagram({ engine }).readDelimiter = [] as never), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_INVALID_ADDRESS', 'connect, listen and write to malformed addresses', (t) => {
  const engine = new Engine();
  const code = 'ERR_PANTS_INVALID_ADDRESS';
  t.throws(() => new Stream({ engine }).connect(['127.0.0.1', 70000]), { instanceOf: InvalidAddressFormatError, code });
  t.throws(() => new Server({ engine }).listen({} as never), { instanceOf: TypeError, code });
  t.throws(() => new Datagram({ engine }).listen('./not-for-udp.sock'), { instanceOf: InvalidAddressFormatError, code });
  t.throws(() => new Datagram({ engine }).write('x', './not-for-udp.sock'), { instanceOf: InvalidAddressFormatError, code });
});

codeTest('ERR_PANTS_INVALID_CONNECTION_CLASS', 'a ConnectionClass that is not a Stream', (t) => {
  const engine = new Engine();
  const code = 'ERR_PANTS_INVALID_CONNECTION_CLASS';
  t.throws(() => new Server(Object as never, { engine }), { instanceOf: TypeError, code });
  class Declared extends Server {
    override ConnectionClass = Date as never;
  }
  t.throws(() => new Declared({ engine }).listen(['127.0.0.1', 0]), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_CHANNEL_CLOSED', 'writing, connecting, listening or starting TLS after close()', async (t) => {
  const engine = startedEngine(t);
  const code = 'ERR_PANTS_CHANNEL_CLOSED';
  const stream = await connectedStream(t, engine);
  stream.close();
  t.throws(() => stream.write('late'), { instanceOf: Error, code });
  t.throws(() => stream.writeFile(__filename), { instanceOf: Error, code });
  t.throws(() => stream.writePacked([1], '!H'), { instanceOf: Error, code });
  t.throws(() => stream.connect(['127.0.0.1', 9]), { instanceOf: Error, code });
  t.throws(() => stream.startSSL({}), { instanceOf: Error, code });
  const server = listening(t, engine);
  server.close();
  t.throws(() => server.startSSL({}), { instanceOf: Error, code });
  await waitFor(() => server.fileno === null, 5000, 'the server to close');
  t.throws(() => server.listen(['127.0.0.1', 0]), { instanceOf: Error, code });
  const datagram = new Datagram({ engine }).listen(['127.0.0.1', 0]);
  datagram.close();
  t.throws(() => datagram.write('late', ['127.0.0.1', 9]), { instanceOf: Error, code });
  await waitFor(() => datagram.fileno === null, 5000, 'the datagram channel to close');
  t.throws(() => datagram.listen(['127.0.0.1', 0]), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_NOT_CONNECTED', 'writing to a stream before it is connected', async (t) => {
  const engine = startedEngine(t);
  const code = 'ERR_PANTS_NOT_CONNECTED';
  const idle = new Stream({ engine });
  t.throws(() => idle.write('early'), { instanceOf: Error, code });
  const port = await netServer(t);
  const connecting = new Stream({ engine }).connect(['127.0.0.1', port]);
  t.teardown(() => connecting.close(false));
  t.true(connecting.connecting);
  t.throws(() => connecting.write('early'), { instanceOf: Error, code });
  t.throws(() => connecting.writeFile(__filename), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_WRITE_AFTER_END', 'writing to a stream after end()', async (t) => {
  const engine = startedEngine(t);
  const code = 'ERR_PANTS_WRITE_AFTER_END';
  const port = await netServer(t);
  const connected = signal();
  const stream = new (class extends Stream {
    override onConnect() {
      connected.resolve();
    }
  })({ engine }).connect(['127.0.0.1', port]);
  t.teardown(() => stream.close(false));
  await connected.promise;
  stream.end('last');
  t.throws(() => stream.write('late'), { instanceOf: Error, code });
  t.throws(() => stream.writeFile(__filename), { instanceOf: Error, code });
  t.throws(() => stream.writePacked([1], '!B'), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_ALREADY_CONNECTED', 'connect() on a connecting, a connected and an accepted stream', async (t) => {
  const engine = startedEngine(t);
  const code = 'ERR_PANTS_ALREADY_CONNECTED';
  const port = await netServer(t);
  const connecting = new Stream({ engine }).connect(['127.0.0.1', port]);
  t.teardown(() => connecting.close(false));
  t.throws(() => connecting.connect(['127.0.0.1', port]), { instanceOf: Error, code });
  const connected = await connectedStream(t, engine);
  t.throws(() => connected.connect(['127.0.0.1', port]), { instanceOf: Error, code });
  const accepted = signal<Stream>();
  const server = closeAtEnd(t, new Server({ engine }));
  server.onAccept = (stream) => accepted.resolve(stream);
  server.listen(['127.0.0.1', 0]);
  await netClient(t, portOf(server));
  const acceptedStream = await accepted.promise;
  t.throws(() => acceptedStream.connect(['127.0.0.1', port]), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_ALREADY_LISTENING', 'listen() twice on a server and on a datagram channel', (t) => {
  const engine = new Engine();
  const code = 'ERR_PANTS_ALREADY_LISTENING';
  const server = listening(t, engine);
  t.throws(() => server.listen(['127.0.0.1', 0]), { instanceOf: Error, code });
  const resolving = closeAtEnd(t, new Server({ engine }).listen(['localhost', 0]));
  t.throws(() => resolving.listen(['127.0.0.1', 0]), { instanceOf: Error, code });
  const datagram = new Datagram({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => datagram.close(false));
  t.throws(() => datagram.listen(['127.0.0.1', 0]), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_TLS_ALREADY_STARTED', 'startSSL() twice on a stream', (t) => {
  const engine = new Engine();
  t.throws(() => new Stream({ engine }).startSSL({}).startSSL({}), { instanceOf: Error, code: 'ERR_PANTS_TLS_ALREADY_STARTED' });
  t.throws(() => new Stream({ engine, sslOptions: {} }).startSSL({}), { instanceOf: Error, code: 'ERR_PANTS_TLS_ALREADY_STARTED' });
});

codeTest('ERR_PANTS_NO_DESTINATION', 'a datagram write without an address outside onRead', (t) => {
  const engine = new Engine();
  const datagram = new Datagram({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => datagram.close(false));
  t.throws(() => datagram.write('to nobody'), { instanceOf: Error, code: 'ERR_PANTS_NO_DESTINATION' });
});

codeTest('ERR_PANTS_NO_PACK_FORMAT', 'writePacked() with no format and no Struct delimiter', async (t) => {
  const engine = startedEngine(t);
  const stream = await connectedStream(t, engine);
  t.throws(() => stream.writePacked([1]), { instanceOf: Error, code: 'ERR_PANTS_NO_PACK_FORMAT' });
  t.throws(() => new Stream({ engine }).writePacked([1]), { instanceOf: Error, code: 'ERR_PANTS_NO_PACK_FORMAT' }, 'checked before the connection state');
});

codeTest('ERR_PANTS_INVALID_FORMAT', 'malformed Struct and NetStruct formats', (t) => {
  const code = 'ERR_PANTS_INVALID_FORMAT';
  t.throws(() => new Struct('!Z'), { instanceOf: TypeError, code });
  t.throws(() => new Struct(5 as never), { instanceOf: TypeError, code });
  t.throws(() => new NetStruct('c$'), { instanceOf: TypeError, code });
  t.throws(() => new NetStruct('!H$Z'), { instanceOf: TypeError, code });
  t.throws(() => new NetStruct(null as never), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_INVALID_PACK_VALUE', 'values pack() cannot take, also through writePacked on a connected stream', async (t) => {
  const code = 'ERR_PANTS_INVALID_PACK_VALUE';
  t.throws(() => new Struct('!H').pack(70000), { instanceOf: RangeError, code });
  t.throws(() => new Struct('!H').pack('x'), { instanceOf: TypeError, code });
  t.throws(() => new Struct('!HH').pack(1), { instanceOf: TypeError, code });
  t.throws(() => new Struct('c').pack(Buffer.from('ab')), { instanceOf: RangeError, code });
  t.throws(() => new NetStruct('B$').pack(Buffer.alloc(300)), { instanceOf: RangeError, code });
  t.throws(() => new NetStruct('H$').pack(5), { instanceOf: TypeError, code });
  t.throws(() => new NetStruct('ih$').pack('x', 'y'), { instanceOf: TypeError, code });
  const stream = await connectedStream(t, startedEngine(t));
  t.throws(() => stream.writePacked(['x'], '!H'), { instanceOf: TypeError, code });
});

codeTest('ERR_PANTS_INVALID_UNPACK_BUFFER', 'unpack() of something that is not one record', (t) => {
  const code = 'ERR_PANTS_INVALID_UNPACK_BUFFER';
  const struct = new Struct('!H');
  t.throws(() => struct.unpack(Buffer.alloc(3)), { instanceOf: RangeError, code });
  t.throws(() => struct.unpack('ab' as never), { instanceOf: TypeError, code });
  t.throws(() => struct.unpackFrom(Buffer.alloc(4), 3), { instanceOf: RangeError, code });
  t.throws(() => struct.unpackFrom(Buffer.alloc(4), 0.5), { instanceOf: TypeError, code });
  const record = new NetStruct('H$');
  t.throws(() => record.unpack(Buffer.from([0, 5, 1])), { instanceOf: RangeError, code });
  t.throws(() => record.recordLength(Buffer.from([0, 1, 2]), 9), { instanceOf: RangeError, code });
  t.throws(() => record.recordLength(Buffer.from([0, 1, 2]), 0.5), { instanceOf: TypeError, code });
  t.throws(() => new NetStruct('h$').unpack(Buffer.from([0xff, 0xff])), { instanceOf: RangeError, code });
});

/** A WebSocket that records its failures and how it closed. */
class Recorder extends WebSocket {
  readonly errors: Error[] = [];
  closed: number | null = null;

  override onError(error: Error): void {
    this.errors.push(error);
  }

  override onClose(code: number): void {
    this.closed = code;
  }
}

codeTest('ERR_PANTS_WS_HANDSHAKE', "a WebSocket client whose handshake is answered 200, not 101", async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new HTTPServer((request: HTTPRequest) => request.sendResponse('no sockets here'), { engine }).listen(['127.0.0.1', 0]));
  const client = new Recorder({ engine }).connect(`ws://127.0.0.1:${portOf(server)}/`);
  await waitFor(() => client.closed !== null, 5000, 'the failed handshake');
  t.is(client.closed, 1006);
  t.like(client.errors[0], { code: 'ERR_PANTS_WS_HANDSHAKE', message: 'Unexpected server response: 200' });
  t.true(client.errors[0] instanceof Error);
});

codeTest('ERR_PANTS_WS_NOT_OPEN', 'write, ping and subscribe on a WebSocket that is not open', (t) => {
  const socket = new WebSocket({ engine: new Engine() });
  const code = 'ERR_PANTS_WS_NOT_OPEN';
  t.throws(() => socket.write('x'), { instanceOf: Error, code });
  t.throws(() => socket.ping(), { instanceOf: Error, code });
  t.throws(() => socket.subscribe('news'), { instanceOf: Error, code });
});

codeTest('ERR_PANTS_WS_CLOSE_CODE', 'close() with a code an application may not send', (t) => {
  const socket = new WebSocket({ engine: new Engine() });
  for (const code of [999, 1001, 1005, 1006, 2999, 5000, 1000.5]) {
    t.throws(() => socket.close(code), { instanceOf: RangeError, code: 'ERR_PANTS_WS_CLOSE_CODE' }, String(code));
  }
});

codeTest('ERR_PANTS_WS_PROTOCOL', 'a client that sends an unmasked frame', async (t) => {
  const engine = startedEngine(t);
  let socket: Recorder | null = null;
  class Server extends Recorder {
    override onConnect(): void {
      socket = this;
    }
  }
  const server = closeAtEnd(t, new HTTPServer(Server, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await waitFor(() => socket !== null, 5000, 'the upgrade');
  client.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", unmasked
  await waitFor(() => socket!.closed !== null, 5000, 'the close');
  t.is(socket!.closed, 1002);
  t.like(socket!.errors[0], { code: 'ERR_PANTS_WS_PROTOCOL', closeCode: 1002 });
});

/** A node:net server answering every request head with `answer(n)` (n counts requests from 0), closed at the end. */
async function answeringServer(t: ExecutionContext, answer: (n: number) => string): Promise<string> {
  const sockets: net.Socket[] = [];
  let count = 0;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      if (chunk.includes('\r\n\r\n')) socket.write(answer(count++));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

codeTest('ERR_PANTS_HTTP_PARSE', 'HTTPClient given a malformed response', async (t) => {
  const base = await answeringServer(t, () => 'HTTP/1.1 20x OK\r\n\r\n');
  const client = new HTTPClient({ engine: startedEngine(t) });
  await t.throwsAsync(client.get(base), { instanceOf: Error, code: 'ERR_PANTS_HTTP_PARSE' });
});

codeTest('ERR_PANTS_TOO_MANY_REDIRECTS', 'HTTPClient redirected in a loop', async (t) => {
  const base = await answeringServer(t, () => 'HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n');
  const client = new HTTPClient({ engine: startedEngine(t), maxRedirects: 3 });
  t.teardown(() => client.close());
  await t.throwsAsync(client.get(base), { instanceOf: Error, code: 'ERR_PANTS_TOO_MANY_REDIRECTS' });
});

codeTest('ERR_PANTS_HTTP_RESPONSE_TOO_LARGE', 'HTTPClient given a body over maxResponseSize', async (t) => {
  const base = await answeringServer(t, () => 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world');
  const client = new HTTPClient({ engine: startedEngine(t), maxResponseSize: 10 });
  await t.throwsAsync(client.get(base), { instanceOf: Error, code: 'ERR_PANTS_HTTP_RESPONSE_TOO_LARGE' });
});

/** Every 'ERR_PANTS_...' string in the TypeScript sources, except ts/tls.ts (its codes are its own). */
function codesInSources(): Set<string> {
  const dir = join(ROOT, 'ts');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => /\.m?ts$/.test(name) && name !== 'tls.ts');
  const codes = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(join(dir, file), 'utf8').matchAll(/'(ERR_PANTS_[A-Z0-9_]+)'/g)) codes.add(match[1]);
  }
  return codes;
}

test('every misuse code in the sources has a test here', (t) => {
  const codes = codesInSources();
  t.true(codes.size >= 10, `found ${codes.size} codes`);
  t.deepEqual([...codes].sort(), [...tested].sort());
});

test("the README's table lists every misuse code", (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'));
  const listed = new Set([...section.matchAll(/^\| `(ERR_PANTS_[A-Z0-9_]+)` \|/gm)].map((match) => match[1]));
  t.deepEqual([...listed].sort(), [...codesInSources()].sort());
});
