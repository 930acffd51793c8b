// The WebSocket contract (API-HTTP.md "WebSocket (RFC 6455), server and
// client", and ../wsspec.md), member by member, with Pants on both ends
// (HTTPServer and Application routes) and raw node:net peers where a Pants
// peer could not show it.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { Engine } from 'pants-net';
import { EntireMessage, HTTPRequest, HTTPServer, WebSocket } from 'pants-net/http';
import { Application } from 'pants-net/web';

import { recordLog, startedEngine, waitFor } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';
import { sameBytes, EchoRecording, firstOpened, instancesOf, Recording, sleep, within, wsClient, wsServe } from './ws-helpers.js';
import { acceptFor, closeOf, closePayload, newKey, OP, parseHead, RawClient, rawConnect, rawRequest, rawServer, upgradeRequest } from './ws-frames.js';

let certs: TestCerts | undefined;
test.before(() => {
  certs = makeCerts();
});
test.after.always(() => removeCerts(certs));

/** `code` of an error, for assertions. */
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Both ends of one connection: a Pants server of class `Server` and a Pants client of class `Client`. */
async function pair<S extends Recording, C extends Recording>(
  t: ExecutionContext,
  Server: new (...args: never[]) => S,
  Client: new (...args: never[]) => C,
  path = '/',
  setup: (client: C) => void = () => {},
): Promise<{ engine: Engine; server: S; client: C; port: number; http: HTTPServer }> {
  const { engine, server: http, url, port } = wsServe(t, Server as unknown as typeof WebSocket);
  const client = await wsClient(t, Client as never, `${url}${path}`, engine, setup as never);
  const server = await firstOpened(Server);
  return { engine, server, client: client as C, port, http };
}

// ----- messages ----------------------------------------------------------------------

test('echo through HTTPServer: text arrives as string, binary as Buffer, both ways; write(data, binary) overrides the type', async (t) => {
  class Server extends EchoRecording {}
  class Client extends Recording {}
  const { server, client } = await pair(t, Server, Client);
  t.true(client.write('héllo ✓'));
  t.true(client.write(Buffer.from([0, 1, 2, 255])));
  client.write(new Uint8Array([9, 8, 7]));
  client.write('as binary', true);
  client.write(Buffer.from('as text'), false);
  client.write('');
  client.write(Buffer.alloc(0));
  const received = await client.messagesUntil(7);
  t.deepEqual(received, ['héllo ✓', Buffer.from([0, 1, 2, 255]), Buffer.from([9, 8, 7]), Buffer.from('as binary'), 'as text', '', Buffer.alloc(0)]);
  t.deepEqual(server.messages, received);
  for (const message of [...server.messages, ...client.messages]) t.true(typeof message === 'string' || Buffer.isBuffer(message));
});

test('large messages, both types, arrive whole (16-bit and 64-bit lengths, many TCP reads)', async (t) => {
  class Server extends EchoRecording {}
  class Client extends Recording {}
  const { client } = await pair(t, Server, Client);
  const binary = Buffer.alloc(3 * 1024 * 1024 + 7);
  for (let index = 0; index < binary.length; index += 1) binary[index] = (index * 7919) & 0xff;
  const text = 'ü€'.repeat(300_000) + 'end';
  const medium = 'm'.repeat(70_000);
  client.write(binary);
  client.write(text);
  client.write(medium);
  client.write('x'.repeat(126));
  const [a, b, c, d] = await client.messagesUntil(4, 30_000);
  t.true(Buffer.isBuffer(a) && a.equals(binary));
  t.is(b, text);
  t.is(c, medium);
  t.is(d, 'x'.repeat(126));
});

test('a raw client sees what the server writes: masked never, text/binary opcodes, exact payloads', async (t) => {
  class Server extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.write('text');
      this.write(Buffer.from([1, 2, 3]));
      this.write('b'.repeat(200));
      this.write(Buffer.alloc(70_000, 5));
    }
  }
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  const frames = [await raw.next(), await raw.next(), await raw.next(), await raw.next()];
  t.deepEqual(
    frames.map((f) => [f.fin, f.rsv, f.opcode, f.masked, f.payload.length]),
    [
      [true, 0, OP.TEXT, false, 4],
      [true, 0, OP.BINARY, false, 3],
      [true, 0, OP.TEXT, false, 200],
      [true, 0, OP.BINARY, false, 70_000],
    ],
  );
  t.is(frames[0].payload.toString(), 'text');
  t.true(frames[3].payload.equals(Buffer.alloc(70_000, 5)));
  raw.destroy();
});

test('a fragmented message from a raw client arrives as one onRead, with control frames between fragments', async (t) => {
  class Server extends EchoRecording {}
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.TEXT, 'frag', { fin: false });
  raw.sendFrame(OP.PING, 'mid');
  raw.sendFrame(OP.CONT, 'men', { fin: false });
  raw.sendFrame(OP.CONT, 'ted ✓', { fin: true });
  raw.sendFrame(OP.BINARY, Buffer.from([1]), { fin: false });
  raw.sendFrame(OP.CONT, Buffer.from([2]), { fin: true });
  const pong = await raw.next();
  t.is(pong.opcode, OP.PONG);
  t.is(pong.payload.toString(), 'mid');
  const first = await raw.message();
  t.is(first.opcode, OP.TEXT);
  t.is(first.payload.toString(), 'fragmented ✓');
  const second = await raw.message();
  t.is(second.opcode, OP.BINARY);
  t.deepEqual([...second.payload], [1, 2]);
  const server = await firstOpened(Server);
  t.deepEqual(server.messages, ['fragmented ✓', Buffer.from([1, 2])]);
  raw.destroy();
});

// ----- state -------------------------------------------------------------------------

test('state: readyState through its life, protocol, extensions, url, request, addresses, isSecure, engine, constants', async (t) => {
  t.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
  class Server extends Recording {}
  class Client extends Recording {}
  const { engine, url } = wsServe(t, Server);
  const client = new Client({ engine });
  t.is(client.connect(`${url}/some/path?x=1`), client);
  t.is(client.readyState, WebSocket.CONNECTING);
  await within(client.opened.promise, 20_000, 'open');
  const server = await firstOpened(Server);
  t.is(client.readyState, WebSocket.OPEN);
  t.is(server.readyState, WebSocket.OPEN);
  t.is(client.protocol, '');
  t.is(server.protocol, '');
  t.is(client.extensions, '');
  t.is(server.extensions, '');
  t.is(client.url, `${url}/some/path?x=1`);
  t.is(server.url, '/some/path?x=1');
  t.is(client.request, null);
  t.true(server.request instanceof HTTPRequest);
  t.is(server.request?.path, '/some/path');
  t.is(server.request?.query, 'x=1');
  t.is(server.request?.headers.get('upgrade')?.toLowerCase(), 'websocket');
  t.deepEqual(client.remoteAddress, ['127.0.0.1', Number(new URL(url).port)]);
  t.deepEqual(server.localAddress, ['127.0.0.1', Number(new URL(url).port)]);
  const clientLocal = client.localAddress as [string, number];
  t.deepEqual(server.remoteAddress, clientLocal);
  t.false(client.isSecure);
  t.false(server.isSecure);
  t.is(client.engine, engine);
  t.is(server.engine, engine);
  t.is(client.bufferedAmount, 0);
  t.deepEqual(client.connectArgs, []);
  t.deepEqual(server.connectArgs, []);
  client.close(1000);
  t.is(client.readyState, WebSocket.CLOSING);
  await within(client.closed.promise, 20_000, 'client close');
  await within(server.closed.promise, 20_000, 'server close');
  t.is(client.readyState, WebSocket.CLOSED);
  t.is(server.readyState, WebSocket.CLOSED);
});

// ----- routes ------------------------------------------------------------------------

test('Application routes: onConnect gets the route args (converted); other routes still answer; a plain GET to a WebSocket route is 426', async (t) => {
  class Chat extends EchoRecording {}
  class User extends EchoRecording {}
  class Client extends Recording {}
  const app = new Application();
  app.route('/chat/<room>', Chat);
  app.route('/user/<int:id>/<path:rest>', User);
  app.route('/plain', () => 'plain text');
  const { engine, url, port } = wsServe(t, app);
  const chat = await wsClient(t, Client, `${url}/chat/lobby`, engine);
  const room = await firstOpened(Chat);
  t.deepEqual(room.connectArgs, ['lobby']);
  t.is(room.url, '/chat/lobby');
  chat.write('in the lobby');
  t.is(await chat.nextMessage(), 'in the lobby');
  const user = await wsClient(t, Client, `${url}/user/42/a/b`, engine);
  const userSide = await firstOpened(User);
  t.deepEqual(userSide.connectArgs, [42, 'a/b']);
  t.is(typeof userSide.connectArgs?.[0], 'number');
  user.write(Buffer.from('bin'));
  t.deepEqual(await user.nextMessage(), Buffer.from('bin'));
  const plain = await fetch(`http://127.0.0.1:${port}/plain`);
  t.is(await plain.text(), 'plain text');
  const notUpgrade = await fetch(`http://127.0.0.1:${port}/chat/lobby`);
  t.is(notUpgrade.status, 426);
  t.is(notUpgrade.headers.get('upgrade')?.toLowerCase(), 'websocket');
  const missing = await rawRequest(t, port, upgradeRequest('/nowhere'));
  t.is(missing.head.status, 404);
});

test('a route rule with a typed value: an upgrade to a path that does not match is 404, not upgraded', async (t) => {
  class User extends Recording {}
  const app = new Application();
  app.route('/user/<int:id>', User);
  const { port } = wsServe(t, app);
  const { head } = await rawRequest(t, port, upgradeRequest('/user/abc'));
  t.is(head.status, 404);
  const ok = await rawConnect(t, port, '/user/7');
  t.is(ok.head.status, 101);
  t.deepEqual((await firstOpened(User)).connectArgs, [7]);
  ok.destroy();
});

test('HTTPServer with a WebSocket class: every request upgrades, whatever the path; a plain GET is 426 with Upgrade: websocket', async (t) => {
  class Server extends Recording {}
  const { port } = wsServe(t, Server);
  for (const path of ['/', '/a/b', '/x?y=z']) {
    const raw = await rawConnect(t, port, path);
    t.is(raw.head.status, 101);
    raw.destroy();
  }
  const plain = await fetch(`http://127.0.0.1:${port}/`);
  t.is(plain.status, 426);
  t.is(plain.headers.get('upgrade')?.toLowerCase(), 'websocket');
});

// ----- onHandshake -------------------------------------------------------------------

test('onHandshake sees the request and adds response headers; returning false answers 403 and nothing opens', async (t) => {
  const seen: { path: string; token: string | null; headersType: string }[] = [];
  class Guarded extends Recording {
    override onHandshake(request: HTTPRequest, headers: Record<string, string>): boolean {
      seen.push({ path: request.path, token: request.headers.get('x-token'), headersType: Object.prototype.toString.call(headers) });
      headers['X-Welcome'] = 'yes';
      return request.headers.get('x-token') === 'good';
    }
  }
  const { port } = wsServe(t, Guarded);
  const good = await rawConnect(t, port, '/in', { 'X-Token': 'good' });
  t.is(good.head.headers['x-welcome'], 'yes');
  const bad = await rawRequest(t, port, upgradeRequest('/out', newKey(), { 'X-Token': 'bad' }));
  t.is(bad.head.status, 403);
  t.falsy(bad.head.headers['sec-websocket-accept']);
  t.deepEqual(seen, [
    { path: '/in', token: 'good', headersType: '[object Object]' },
    { path: '/out', token: 'bad', headersType: '[object Object]' },
  ]);
  await waitFor(() => instancesOf(Guarded).filter((socket) => socket.connectArgs !== null).length === 1, 5000, 'the good one to open');
  await sleep(100);
  t.is(instancesOf(Guarded).filter((socket) => socket.connectArgs !== null).length, 1, 'the refused one never opens');
  good.destroy();
});

test('a client refused by onHandshake: onError with ERR_PANTS_WS_HANDSHAKE naming the 403, then onClose(1006, "")', async (t) => {
  class Refuse extends Recording {
    override onHandshake(): boolean {
      return false;
    }
  }
  class Client extends Recording {}
  const { engine, url } = wsServe(t, Refuse);
  const client = new Client({ engine }).connect(`${url}/`);
  const [code, reason] = await within(client.closed.promise, 20_000, 'onClose');
  t.deepEqual([code, reason], [1006, '']);
  t.is(client.errors.length, 1);
  t.is(codeOf(client.errors[0]), 'ERR_PANTS_WS_HANDSHAKE');
  t.regex(client.errors[0].message, /Unexpected server response: 403/);
  t.deepEqual(client.eventNames, ['error', 'close']);
  t.is(client.readyState, WebSocket.CLOSED);
});

// ----- client failures ---------------------------------------------------------------

test('client: connection refused → onError (ECONNREFUSED) then onClose(1006, ""); a bad URL throws ERR_INVALID_URL', async (t) => {
  const engine = startedEngine(t);
  class Client extends Recording {}
  const client = new Client({ engine }).connect(`ws://127.0.0.1:${await freePort()}/`);
  t.deepEqual(await within(client.closed.promise, 20_000, 'onClose'), [1006, '']);
  t.deepEqual(client.eventNames, ['error', 'close']);
  t.is(codeOf(client.errors[0]), 'ECONNREFUSED');
  for (const bad of ['http://127.0.0.1:1/', 'ftp://x/', 'not a url', '127.0.0.1:80', '']) {
    const error = t.throws(() => new Client({ engine }).connect(bad), { instanceOf: TypeError }, bad);
    t.is(codeOf(error), 'ERR_INVALID_URL', bad);
  }
});

test('client: handshake answers it must refuse → onError ERR_PANTS_WS_HANDSHAKE, then onClose(1006, "")', async (t) => {
  const engine = startedEngine(t);
  const answers: [string, (accept: string) => string, RegExp][] = [
    ['a 200', () => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', /Unexpected server response: 200/],
    ['a 404', () => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', /Unexpected server response: 404/],
    ['a wrong Sec-WebSocket-Accept', () => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor('x')}\r\n\r\n`, /accept/i],
    ['no Sec-WebSocket-Accept', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', /accept/i],
    ['no Upgrade header', (accept) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, /upgrade/i],
    ['an unoffered protocol', (accept) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: nope\r\n\r\n`, /protocol/i],
    ['an unoffered extension', (accept) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`, /extension/i],
  ];
  for (const [what, answer, message] of answers) {
    const { port } = await rawServer(t, () => {}, (_request, accept) => answer(accept));
    class Client extends Recording {}
    const client = new Client({ engine }).connect(`ws://127.0.0.1:${port}/`);
    t.deepEqual(await within(client.closed.promise, 20_000, `onClose after ${what}`), [1006, ''], what);
    t.deepEqual(client.eventNames, ['error', 'close'], what);
    t.is(codeOf(client.errors[0]), 'ERR_PANTS_WS_HANDSHAKE', what);
    t.regex(client.errors[0]?.message ?? '', message, what);
    t.is(client.connectArgs, null, what);
  }
});

test('client handshake request: GET, Upgrade, Connection, version 13, a fresh 16-byte key, protocols offered, Host', async (t) => {
  const engine = startedEngine(t);
  const { port, requests } = await rawServer(t, (raw) => raw.sendFrame(OP.TEXT, 'hi', { mask: false }));
  class Client extends Recording {}
  const first = await wsClient(t, Client, `ws://127.0.0.1:${port}/p/q?r=s`, engine, (client) => (client.protocols = ['one', 'two']));
  t.deepEqual(await first.messagesUntil(1), ['hi']);
  const second = await wsClient(t, Client, `ws://127.0.0.1:${port}/`, engine);
  t.deepEqual(await second.messagesUntil(1), ['hi']);
  const [a, b] = requests;
  t.is(a.line, 'GET /p/q?r=s HTTP/1.1');
  t.is(a.headers.host, `127.0.0.1:${port}`);
  t.is(a.headers.upgrade?.toLowerCase(), 'websocket');
  t.regex(a.headers.connection ?? '', /upgrade/i);
  t.is(a.headers['sec-websocket-version'], '13');
  t.is(Buffer.from(a.headers['sec-websocket-key'] ?? '', 'base64').length, 16);
  t.not(a.headers['sec-websocket-key'], b.headers['sec-websocket-key']);
  t.deepEqual((a.headers['sec-websocket-protocol'] ?? '').split(/\s*,\s*/), ['one', 'two']);
  t.is(b.headers['sec-websocket-protocol'], undefined);
  t.is(first.protocol, '', 'the server chose none');
});

test('client frames are masked, with a fresh key per frame', async (t) => {
  const engine = startedEngine(t);
  const got = new Promise<{ masked: boolean; payload: string }[]>((resolve) => {
    void rawServer(t, async (raw) => {
      const frames = [await raw.next(), await raw.next(), await raw.next()];
      resolve(frames.map((f) => ({ masked: f.masked, payload: f.payload.toString() })));
    }).then(({ port }) => {
      class Client extends Recording {}
      void wsClient(t, Client, `ws://127.0.0.1:${port}/`, engine).then((client) => {
        client.write('aaaa');
        client.write('aaaa');
        client.write('aaaa');
      });
    });
  });
  const frames = await within(got, 20_000, 'three frames');
  t.deepEqual(frames, [
    { masked: true, payload: 'aaaa' },
    { masked: true, payload: 'aaaa' },
    { masked: true, payload: 'aaaa' },
  ]);
});

test('client: a masked frame from the server fails the connection with 1002', async (t) => {
  const engine = startedEngine(t);
  const closeFrame = new Promise<{ code: number; reason: string }>((resolve) => {
    void rawServer(t, (raw) => {
      raw.sendFrame(OP.TEXT, 'masked', { mask: true });
      void raw.closeFrame().then(resolve);
    }).then(({ port }) => {
      class Client extends Recording {}
      const client = new Client({ engine });
      client.connect(`ws://127.0.0.1:${port}/`);
      t.teardown(() => void client.closed.promise.then(() => t.log('client closed', client.closeArgs)));
    });
  });
  t.is((await within(closeFrame, 20_000, 'a close frame')).code, 1002);
});

// ----- write / close -----------------------------------------------------------------

test('write before open and after close() throws ERR_PANTS_WS_NOT_OPEN', async (t) => {
  class Server extends Recording {}
  class Client extends Recording {}
  const { engine, url } = wsServe(t, Server);
  const early = new Client({ engine });
  t.is(codeOf(t.throws(() => early.write('too soon'))), 'ERR_PANTS_WS_NOT_OPEN');
  early.connect(`${url}/`);
  t.is(codeOf(t.throws(() => early.write('still too soon'))), 'ERR_PANTS_WS_NOT_OPEN');
  await within(early.opened.promise, 20_000, 'open');
  t.true(early.write('now'));
  early.close();
  t.is(codeOf(t.throws(() => early.write('too late'))), 'ERR_PANTS_WS_NOT_OPEN');
  await within(early.closed.promise, 20_000, 'close');
  t.is(codeOf(t.throws(() => early.write('much too late'))), 'ERR_PANTS_WS_NOT_OPEN');
  const server = await firstOpened(Server);
  await within(server.closed.promise, 20_000, 'server close');
  t.deepEqual(server.messages, ['now']);
});

test('close(code, reason): both sides see the code and reason; onClose once; a second close() is a no-op', async (t) => {
  class Server extends Recording {}
  class Client extends Recording {}
  const { server, client } = await pair(t, Server, Client);
  client.close(4001, 'bye ✓');
  client.close(4002, 'again');
  t.deepEqual(await within(server.closed.promise, 20_000, 'server onClose'), [4001, 'bye ✓']);
  // the initiator's onClose has the code of the peer's answering close frame (its reason is the peer's choice)
  t.is((await within(client.closed.promise, 20_000, 'client onClose'))[0], 4001);
  await sleep(100);
  t.is(server.closeCount, 1);
  t.is(client.closeCount, 1);
  client.close();
  server.close();
});

test('close() defaults to 1000 and ""; the server closing reaches the client; the TCP connection closes', async (t) => {
  class Server extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.close();
    }
  }
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  const first = await raw.next();
  t.is(first.opcode, OP.CLOSE);
  t.deepEqual(closeOf(first), { code: 1000, reason: '' });
  t.is(first.payload.length, 2);
  raw.sendFrame(OP.CLOSE, closePayload(1000));
  await within(raw.closed, 20_000, 'the server to close TCP');
  const server = await firstOpened(Server);
  t.deepEqual(await within(server.closed.promise, 20_000, 'onClose'), [1000, '']);
});

test('close() argument checks: codes other than 1000 and 3000–4999, reasons over 123 bytes → RangeError', async (t) => {
  class Server extends Recording {}
  class Client extends Recording {}
  const { client } = await pair(t, Server, Client);
  for (const bad of [0, 999, 1001, 1002, 1005, 1006, 1011, 1015, 2999, 5000, 65535, 1000.5, -1]) {
    const error = t.throws(() => client.close(bad), { instanceOf: RangeError }, String(bad));
    t.is(codeOf(error), 'ERR_PANTS_WS_CLOSE_CODE', String(bad));
  }
  t.throws(() => client.close(1000, 'é'.repeat(62)), { instanceOf: RangeError }, '124 bytes');
  t.throws(() => client.close(1000, 'x'.repeat(124)), { instanceOf: RangeError });
  t.is(client.readyState, WebSocket.OPEN, 'a refused close() leaves it open');
  client.write('still open');
  client.close(3000, 'é'.repeat(61) + 'x');
  const [server] = instancesOf(Server);
  t.deepEqual(await within(server.closed.promise, 20_000, 'server onClose'), [3000, 'é'.repeat(61) + 'x']);
  t.deepEqual(server.messages, ['still open']);
});

test('the peer’s close frame is echoed with its code (none if none) and the server closes TCP; onClose(1005, "") for an empty one', async (t) => {
  class Server extends Recording {}
  const { port } = wsServe(t, Server);
  const withCode = await rawConnect(t, port);
  t.is((await withCode.closeHandshake(4321, 'raw reason')).code, 4321);
  const empty = await rawConnect(t, port);
  empty.sendFrame(OP.CLOSE);
  const answer = await empty.closeFrame();
  t.is(answer.frame?.payload.length, 0, 'an empty close is answered by an empty close');
  await within(empty.closed, 20_000, 'the server to close TCP');
  await waitFor(() => instancesOf(Server).filter((socket) => socket.closeArgs).length === 2, 20_000, 'both onClose');
  t.deepEqual(
    instancesOf(Server).map((socket) => socket.closeArgs),
    [
      [4321, 'raw reason'],
      [1005, ''],
    ],
  );
});

test('TCP ends without a close frame → onClose(1006, ""), once, on the server and on the client', async (t) => {
  class Server extends Recording {}
  const { port, engine } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  const server = await firstOpened(Server);
  raw.destroy();
  t.deepEqual(await within(server.closed.promise, 20_000, 'server onClose'), [1006, '']);
  // and the client side: a raw server that drops the connection
  const { port: rawPort } = await rawServer(t, (peer) => setTimeout(() => peer.destroy(), 50));
  class Client extends Recording {}
  const client = await wsClient(t, Client, `ws://127.0.0.1:${rawPort}/`, engine);
  t.deepEqual(await within(client.closed.promise, 20_000, 'client onClose'), [1006, '']);
  await sleep(100);
  t.is(server.closeCount, 1);
  t.is(client.closeCount, 1);
  t.is(server.readyState, WebSocket.CLOSED);
});

test('close(): when the peer never answers, the TCP connection closes anyway (5 s)', async (t) => {
  class Server extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.close(4000, 'leaving');
    }
  }
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  const frame = await raw.next();
  t.deepEqual(closeOf(frame), { code: 4000, reason: 'leaving' });
  const started = Date.now();
  await within(raw.closed, 15_000, 'the server to give up on the close handshake');
  const waited = Date.now() - started;
  t.true(waited >= 3000, `closed after ${waited} ms, before the peer had its time to answer`);
  const server = await firstOpened(Server);
  await within(server.closed.promise, 5000, 'onClose');
  t.is(server.closeCount, 1);
});

// ----- ping / pong -------------------------------------------------------------------

test('ping(data) → onPong(data); pings are answered automatically with the same payload; ping over 125 bytes → RangeError', async (t) => {
  class Server extends Recording {}
  class Client extends Recording {}
  const { client, port } = await pair(t, Server, Client);
  client.ping(Buffer.from('payload'));
  client.ping();
  client.ping('text ping');
  await waitFor(() => client.pongs.length === 3, 20_000, 'three pongs');
  t.deepEqual(client.pongs.map((data) => data.toString()), ['payload', '', 'text ping']);
  t.true(client.pongs.every((data) => Buffer.isBuffer(data)));
  client.ping(Buffer.alloc(125, 1));
  await waitFor(() => client.pongs.length === 4, 20_000, 'the 125-byte pong');
  t.throws(() => client.ping(Buffer.alloc(126)), { instanceOf: RangeError });
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.PING, Buffer.from([0, 1, 2, 3, 250]));
  const pong = await raw.next();
  t.is(pong.opcode, OP.PONG);
  t.deepEqual([...pong.payload], [0, 1, 2, 3, 250]);
  t.false(pong.masked);
  // an unsolicited pong is fine and reaches onPong
  raw.sendFrame(OP.PONG, 'unasked');
  raw.sendFrame(OP.TEXT, 'after');
  const rawServerSide = instancesOf(Server)[1];
  await waitFor(() => rawServerSide?.messages.length === 1, 20_000, 'the message after the pong');
  t.deepEqual(rawServerSide.pongs.map(String), ['unasked']);
  raw.destroy();
});

test('pingInterval: an idle connection is pinged; the answering pong reaches onPong', async (t) => {
  class Server extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.pingInterval = 1;
    }
  }
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  const ping = await raw.next(10_000);
  t.is(ping.opcode, OP.PING);
  raw.sendFrame(OP.PONG, ping.payload);
  const server = await firstOpened(Server);
  await waitFor(() => server.pongs.length >= 1, 5000, 'onPong');
  t.true(server.pongs[0].equals(ping.payload));
  t.is(server.readyState, WebSocket.OPEN);
  raw.destroy();
});

test('idleTimeout: nothing received for idleTimeout seconds → close 1001 (pingInterval off)', async (t) => {
  class Server extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.idleTimeout = 1;
      this.pingInterval = null;
    }
  }
  const { port } = wsServe(t, Server);
  const before = Date.now();
  const raw = await rawConnect(t, port);
  const started = Date.now();
  const { code } = await raw.closeFrame(15_000);
  t.is(code, 1001);
  t.true(Date.now() - before >= 900, `not before the idle time: closed ${Date.now() - before} ms after the connection began (${started - before} ms to open)`);
  raw.sendFrame(OP.CLOSE, closePayload(1001));
  const server = await firstOpened(Server);
  t.is((await within(server.closed.promise, 20_000, 'onClose'))[0], 1001);
});

test('idleTimeout counts what is received, not what is sent: a server writing to a silent peer still closes it with 1001', async (t) => {
  class Server extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.idleTimeout = 1;
      this.pingInterval = null;
    }
  }
  const { port } = wsServe(t, Server);
  const before = Date.now();
  const raw = await rawConnect(t, port);
  const server = await firstOpened(Server);
  // News every 100 ms: the server keeps sending, the peer never answers.
  const news = setInterval(() => {
    if (server.readyState === WebSocket.OPEN) server.write('news');
  }, 100);
  t.teardown(() => clearInterval(news));
  const { code } = await raw.closeFrame(15_000);
  t.is(code, 1001);
  t.true(Date.now() - before >= 900, `closed ${Date.now() - before} ms after the connection began`);
});

test('idleTimeout: frames received keep the connection alive; null turns it off', async (t) => {
  class Server extends EchoRecording {
    constructor(...args: any[]) {
      super(...args);
      this.idleTimeout = 2;
      this.pingInterval = null;
    }
  }
  const { port } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  // a frame every 250 ms for 5 s: never 2 s without one (unless the machine stalls for seconds)
  const started = Date.now();
  let sent = 0;
  let last = started;
  let longestGap = 0;
  while (Date.now() - started < 5000 && !raw.ended) {
    raw.sendFrame(OP.TEXT, `keep ${sent}`);
    sent += 1;
    await sleep(250);
    longestGap = Math.max(longestGap, Date.now() - last);
    last = Date.now();
  }
  const closes = raw.frames.filter((received) => received.opcode === OP.CLOSE).map(closeOf);
  // This process (both peers) stalling for most of the 2 s would excuse a close; nothing else does.
  if (longestGap < 1500) {
    t.deepEqual(closes, [], `no idle close while frames keep coming (longest gap between frames ${longestGap} ms)`);
    t.false(raw.ended);
    t.is((await firstOpened(Server)).messages.length, sent);
  } else {
    t.log(`the test process stalled for ${longestGap} ms; the idle close ${JSON.stringify(closes)} is excused`);
  }
  class Never extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.idleTimeout = null;
      this.pingInterval = null;
    }
  }
  const { port: neverPort } = wsServe(t, Never);
  const quiet = await rawConnect(t, neverPort);
  await sleep(1500);
  t.is(quiet.frames.length, 0);
  t.false(quiet.ended);
  raw.destroy();
  quiet.destroy();
});

// ----- settings ----------------------------------------------------------------------

test('settings: defaults; bad values make connect() throw ERR_PANTS_INVALID_SETTING (TypeError or RangeError) naming them', (t) => {
  const engine = new Engine();
  const socket = new WebSocket({ engine });
  t.is(socket.maxPayload, 16777216);
  t.is(socket.idleTimeout, 120);
  t.is(socket.pingInterval, 30);
  t.deepEqual(socket.protocols, []);
  t.is(socket.compression, false);
  t.is(socket.readDelimiter, EntireMessage);
  t.is(typeof EntireMessage, 'symbol');
  t.is(socket.readyState, WebSocket.CONNECTING);
  t.is(socket.protocol, '');
  t.is(socket.extensions, '');
  t.is(socket.request, null);
  t.is(socket.engine, engine);
  const bad: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['maxPayload', -1, RangeError],
    ['maxPayload', 1.5, RangeError],
    ['maxPayload', Number.NaN, RangeError],
    ['maxPayload', '100', TypeError],
    ['idleTimeout', -1, RangeError],
    ['idleTimeout', 'soon', TypeError],
    ['pingInterval', -5, RangeError],
    ['pingInterval', {}, TypeError],
    ['protocols', 'chat', TypeError],
    ['protocols', [1], TypeError],
    ['protocols', ['has space'], TypeError],
    ['compression', 'yes', TypeError],
  ];
  for (const [name, value, type] of bad) {
    const client = new WebSocket({ engine });
    (client as unknown as Record<string, unknown>)[name] = value;
    const error = t.throws(() => client.connect('ws://127.0.0.1:1/'), { message: new RegExp(name) }, `${name} = ${String(value)}`);
    t.true(error instanceof TypeError || error instanceof RangeError, `${name} = ${String(value)}: a TypeError or RangeError`);
    t.true(error instanceof type, `${name} = ${String(value)}: ${type.name} expected, got ${error?.constructor.name}`);
    t.is(codeOf(error), 'ERR_PANTS_INVALID_SETTING', name);
  }
  socket.maxPayload = 10;
  socket.idleTimeout = null;
  socket.pingInterval = null;
  socket.protocols = ['a', 'b'];
  socket.compression = true;
  t.deepEqual([socket.maxPayload, socket.idleTimeout, socket.pingInterval, socket.protocols, socket.compression], [10, null, null, ['a', 'b'], true]);
});

test('settings declared as class fields take effect on server-side instances', async (t) => {
  // Written without `override`/types so it compiles whether the settings are fields or accessors.
  const Base = Recording as unknown as new (...args: unknown[]) => Recording;
  class Fields extends Base {
    maxPayload = 10;
    protocols = ['field-proto'];
    idleTimeout = null;
    pingInterval = null;
  }
  const { port } = wsServe(t, Fields as unknown as typeof WebSocket);
  const raw = await rawConnect(t, port, '/', { 'Sec-WebSocket-Protocol': 'other, field-proto' });
  t.is(raw.head.headers['sec-websocket-protocol'], 'field-proto');
  raw.sendFrame(OP.BINARY, Buffer.alloc(11));
  t.is((await raw.failure()).code, 1009);
});

// ----- maxPayload --------------------------------------------------------------------

test('maxPayload: a message of exactly maxPayload passes; one byte more closes 1009 on both sides', async (t) => {
  class Server extends EchoRecording {
    constructor(...args: any[]) {
      super(...args);
      this.maxPayload = 1000;
    }
  }
  class Client extends Recording {}
  const { server, client } = await pair(t, Server, Client);
  client.write(Buffer.alloc(1000, 1));
  t.deepEqual(await client.nextMessage(), Buffer.alloc(1000, 1));
  client.write('x'.repeat(1001));
  const [code] = await within(client.closed.promise, 20_000, 'client onClose');
  t.is(code, 1009);
  t.is((await within(server.closed.promise, 20_000, 'server onClose'))[0], 1009);
  t.deepEqual(server.messages, [Buffer.alloc(1000, 1)]);
});

test('maxPayload counts the whole fragmented message; the client enforces its own too', async (t) => {
  class Server extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.maxPayload = 100;
    }
  }
  const { port, engine } = wsServe(t, Server);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.TEXT, 'a'.repeat(60), { fin: false });
  raw.sendFrame(OP.CONT, 'a'.repeat(60), { fin: true });
  t.is((await raw.failure()).code, 1009);
  // client side: a raw server sends 11 bytes to a client with maxPayload 10
  const answer = new Promise<{ code: number }>((resolve) => {
    void rawServer(t, (peer) => {
      peer.sendFrame(OP.BINARY, Buffer.alloc(11), { mask: false });
      void peer.closeFrame().then(resolve);
    }).then(({ port: rawPort }) => {
      class Client extends Recording {
        constructor(...args: any[]) {
          super(...args);
          this.maxPayload = 10;
        }
      }
      new Client({ engine }).connect(`ws://127.0.0.1:${rawPort}/`);
    });
  });
  t.is((await within(answer, 20_000, 'the client’s close frame')).code, 1009);
});

// ----- readDelimiter -----------------------------------------------------------------

test('readDelimiter: a string or a byte count frames the stream of message payloads; encoding gives strings', async (t) => {
  const lines: unknown[] = [];
  const counted: unknown[] = [];
  class Lines extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.readDelimiter = '\n';
      this.encoding = 'utf8';
    }
    override onRead(data: string | Buffer) {
      lines.push(data);
    }
  }
  class Fours extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.readDelimiter = 4;
    }
    override onRead(data: string | Buffer) {
      counted.push(data);
    }
  }
  class Client extends Recording {}
  const app = new Application();
  app.route('/lines', Lines);
  app.route('/fours', Fours);
  const { engine, url } = wsServe(t, app);
  const a = await wsClient(t, Client, `${url}/lines`, engine);
  a.write('ab');
  a.write('c\nd');
  a.write(Buffer.from('e\nf\n'));
  a.write('ü\n');
  await waitFor(() => lines.length === 4, 20_000, 'four lines');
  t.deepEqual(lines, ['abc', 'de', 'f', 'ü']);
  const b = await wsClient(t, Client, `${url}/fours`, engine);
  b.write('12');
  b.write('345678');
  b.write(Buffer.from('9abc'));
  await waitFor(() => counted.length === 3, 20_000, 'three 4-byte reads');
  t.deepEqual(counted, [Buffer.from('1234'), Buffer.from('5678'), Buffer.from('9abc')]);
});

// ----- subprotocols, compression -----------------------------------------------------

test('protocols: the server picks by its own preference among those offered; none in common → "" and no header', async (t) => {
  class Server extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.protocols = ['v2', 'v1'];
    }
  }
  class Client extends Recording {}
  const { engine, url, port } = wsServe(t, Server);
  const both = await wsClient(t, Client, `${url}/`, engine, (client) => (client.protocols = ['v1', 'v2']));
  t.is(both.protocol, 'v2');
  const serverSide = await firstOpened(Server);
  t.is(serverSide.protocol, 'v2');
  const one = await wsClient(t, Client, `${url}/`, engine, (client) => (client.protocols = ['v1', 'v3']));
  t.is(one.protocol, 'v1');
  const none = await wsClient(t, Client, `${url}/`, engine, (client) => (client.protocols = ['v9']));
  t.is(none.protocol, '');
  const raw = await rawConnect(t, port, '/', { 'Sec-WebSocket-Protocol': 'x, y' });
  t.is(raw.head.headers['sec-websocket-protocol'], undefined);
  const rawPick = await rawConnect(t, port, '/', { 'Sec-WebSocket-Protocol': 'v1, v2' });
  t.is(rawPick.head.headers['sec-websocket-protocol'], 'v2');
  raw.destroy();
  rawPick.destroy();
});

test('compression: both sides on → permessage-deflate negotiated and shown in extensions; messages intact; one side off → ""', async (t) => {
  class Server extends EchoRecording {
    constructor(...args: any[]) {
      super(...args);
      this.compression = true;
    }
  }
  class Plain extends EchoRecording {}
  class Client extends Recording {}
  const app = new Application();
  app.route('/deflate', Server);
  app.route('/plain', Plain);
  const { engine, url, port } = wsServe(t, app);
  const client = await wsClient(t, Client, `${url}/deflate`, engine, (c) => (c.compression = true));
  t.regex(client.extensions, /^permessage-deflate\b/);
  t.regex((await firstOpened(Server)).extensions, /^permessage-deflate\b/);
  const big = 'compress me '.repeat(100_000);
  client.write(big);
  client.write(Buffer.alloc(200_000, 7));
  client.write('small');
  const [a, b, c] = await client.messagesUntil(3, 30_000);
  t.is(a, big);
  t.true(sameBytes(b, Buffer.alloc(200_000, 7)), 'the bytes arrived intact');
  t.is(c, 'small');
  // offered by a raw client, the server answers with the extension and compresses (RSV1) what is worth it
  const raw = await rawConnect(t, port, '/deflate', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
  t.regex(raw.head.headers['sec-websocket-extensions'] ?? '', /^permessage-deflate/);
  raw.destroy();
  // only one side on: nothing negotiated
  const offPlain = await wsClient(t, Client, `${url}/plain`, engine, (c) => (c.compression = true));
  t.is(offPlain.extensions, '');
  offPlain.write('uncompressed');
  t.is(await offPlain.nextMessage(), 'uncompressed');
  const offClient = await wsClient(t, Client, `${url}/deflate`, engine);
  t.is(offClient.extensions, '');
  offClient.write('uncompressed too');
  t.is(await offClient.nextMessage(), 'uncompressed too');
  const rawPlain = await rawConnect(t, port, '/plain', { 'Sec-WebSocket-Extensions': 'permessage-deflate' });
  t.is(rawPlain.head.headers['sec-websocket-extensions'], undefined);
  rawPlain.destroy();
});

// ----- flow control ------------------------------------------------------------------

test('write returns false above the high-water mark, bufferedAmount counts the queue, onWrite says when it drained', async (t) => {
  let falseAt = -1;
  let bufferedAtFalse = 0;
  const bufferedAtWrite: number[] = [];
  class Flood extends Recording {
    override onWrite() {
      super.onWrite();
      if (falseAt >= 0) bufferedAtWrite.push(this.bufferedAmount);
    }
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      const chunk = Buffer.alloc(256 * 1024, 3);
      for (let index = 0; index < 400; index += 1) {
        if (!this.write(chunk)) {
          falseAt = index;
          bufferedAtFalse = this.bufferedAmount;
          return;
        }
      }
    }
  }
  const { port } = wsServe(t, Flood);
  const raw = await rawConnect(t, port);
  raw.socket.pause();
  const server = await firstOpened(Flood);
  await waitFor(() => falseAt >= 0, 20_000, 'write to return false');
  t.true(bufferedAtFalse > 0, `bufferedAmount ${bufferedAtFalse} when write returned false`);
  raw.socket.resume();
  await waitFor(() => bufferedAtWrite.length >= 1, 20_000, 'onWrite after write returned false');
  t.true(bufferedAtWrite[0] < bufferedAtFalse, `bufferedAmount ${bufferedAtWrite[0]} at onWrite, ${bufferedAtFalse} when write returned false`);
  t.true(server.writeCount >= 1);
  let total = 0;
  for (let index = 0; index <= falseAt; index += 1) total += (await raw.message(20_000)).payload.length;
  t.is(total, (falseAt + 1) * 256 * 1024);
  raw.destroy();
});

// ----- errors ------------------------------------------------------------------------

test('a protocol error of the peer: onError, then onClose with the code; by default logged with Engine.logger.warn', async (t) => {
  class Server extends Recording {}
  class Quiet extends WebSocket {
    static closes: [number, string][] = [];
    override onClose(code: number, reason: string) {
      Quiet.closes.push([code, reason]);
    }
  }
  const log = recordLog(t);
  const app = new Application();
  app.route('/recorded', Server);
  app.route('/default', Quiet);
  const { port } = wsServe(t, app);
  const raw = await rawConnect(t, port, '/recorded');
  raw.sendFrame(OP.TEXT, 'unmasked', { mask: false });
  t.is((await raw.failure()).code, 1002);
  const server = await firstOpened(Server);
  await within(server.closed.promise, 20_000, 'onClose');
  t.deepEqual(server.eventNames, ['connect', 'error', 'close']);
  t.true(server.errors[0] instanceof Error);
  t.is(server.closeArgs?.[0], 1002);
  t.is(log.warn.length, 0, 'an overridden onError does not log');
  const other = await rawConnect(t, port, '/default');
  other.sendFrame(OP.TEXT, 'unmasked', { mask: false });
  t.is((await other.failure()).code, 1002);
  await waitFor(() => Quiet.closes.length === 1, 20_000, 'onClose');
  t.is(Quiet.closes[0][0], 1002);
  t.true(log.warn.length >= 1, 'the default onError warns');
  t.is(log.error.length, 0);
});

// ----- TLS ---------------------------------------------------------------------------

test('wss://: a client with sslOptions { ca } against a Pants TLS server; isSecure on both sides', async (t) => {
  class Server extends EchoRecording {}
  class Client extends Recording {}
  const { engine, port } = wsServe(t, Server, { sslOptions: { cert: certs!.cert, key: certs!.key } });
  const client = await wsClient(t, Client, `wss://localhost:${port}/secure`, engine, () => {}, { ca: certs!.ca });
  const server = await firstOpened(Server);
  t.true(client.isSecure);
  t.true(server.isSecure);
  t.is(server.request?.scheme, 'https');
  client.write('over TLS');
  client.write(Buffer.alloc(1024 * 1024, 9));
  const [a, b] = await client.messagesUntil(2, 20_000);
  t.is(a, 'over TLS');
  t.true(sameBytes(b, Buffer.alloc(1024 * 1024, 9)), 'the bytes arrived intact');
  // without the CA the certificate is not trusted: onError, then onClose(1006, '')
  const untrusting = new Client({ engine }).connect(`wss://localhost:${port}/`);
  t.deepEqual(await within(untrusting.closed.promise, 20_000, 'onClose'), [1006, '']);
  t.is(untrusting.errors.length, 1);
  t.is(untrusting.connectArgs, null);
});

test('an HTTPServer stays healthy: many clients at once, then more after they all left', async (t) => {
  class Server extends EchoRecording {}
  class Client extends Recording {}
  const { engine, url, server: http } = wsServe(t, Server);
  for (let round = 0; round < 2; round += 1) {
    const clients = await Promise.all(Array.from({ length: 50 }, () => wsClient(t, Client, `${url}/`, engine)));
    clients.forEach((client, index) => client.write(`client ${index}`));
    const answers = await Promise.all(clients.map((client) => client.nextMessage()));
    t.deepEqual(answers, clients.map((_, index) => `client ${index}`));
    for (const client of clients) client.close();
    await Promise.all(clients.map((client) => within(client.closed.promise, 20_000, 'close')));
  }
  await waitFor(() => http.channels.size === 0, 20_000, 'all connections gone');
});

test('order: 5,000 small messages each way arrive in order, interleaved with pings', async (t) => {
  class Server extends EchoRecording {}
  class Client extends Recording {}
  const { client } = await pair(t, Server, Client);
  const sent: (string | Buffer)[] = [];
  for (let index = 0; index < 5000; index += 1) {
    const message = index % 3 === 0 ? Buffer.from(`b${index}`) : `t${index}`;
    sent.push(message);
    client.write(message);
    if (index % 500 === 0) client.ping(String(index));
  }
  t.deepEqual(await client.messagesUntil(5000, 30_000), sent);
  await waitFor(() => client.pongs.length === 10, 20_000, 'ten pongs');
  t.deepEqual(client.pongs.map(String), Array.from({ length: 10 }, (_, index) => String(index * 500)));
});

test('close() after writes: the queued messages are delivered before the close frame', async (t) => {
  class Server extends Recording {
    override onConnect(...args: unknown[]) {
      super.onConnect(...args);
      this.write(Buffer.alloc(2 * 1024 * 1024, 1));
      this.write('last words');
      this.close(4000, 'done');
    }
  }
  class Client extends Recording {}
  const { engine, url } = wsServe(t, Server);
  const client = new Client({ engine }).connect(`${url}/`);
  t.deepEqual(await within(client.closed.promise, 20_000, 'onClose'), [4000, 'done']);
  t.is(client.messages.length, 2);
  t.true(sameBytes(client.messages[0], Buffer.alloc(2 * 1024 * 1024, 1)), 'the bytes arrived intact');
  t.is(client.messages[1], 'last words');
  t.deepEqual(client.eventNames.filter((name) => name !== 'write'), ['connect', 'read', 'read', 'close']);
});

test('an upgrade on a kept-alive connection after plain requests (Application with both kinds of route)', async (t) => {
  class Chat extends EchoRecording {}
  const app = new Application();
  app.route('/hello', () => 'hi there');
  app.route('/chat', Chat);
  const { port } = wsServe(t, app);
  const key = newKey();
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let received = Buffer.alloc(0);
  let wake = () => {};
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake();
  });
  socket.on('error', () => {});
  /** Waits until `received` satisfies `done`. */
  const until = (done: () => boolean, what: string) =>
    within(
      new Promise<void>((resolve) => {
        const check = () => (done() ? resolve() : undefined);
        wake = check;
        check();
      }),
      10_000,
      `${what}; got ${JSON.stringify(received.toString('latin1'))}`,
    );
  socket.write('GET /hello HTTP/1.1\r\nHost: a\r\n\r\n');
  await until(() => received.includes('hi there'), 'the plain response');
  const plain = received.toString('latin1');
  t.regex(plain, /^HTTP\/1\.1 200 /);
  t.true(plain.endsWith('\r\n\r\nhi there'), plain);
  received = Buffer.alloc(0);
  socket.write(upgradeRequest('/chat', key));
  await until(() => received.includes('\r\n\r\n'), 'the 101');
  const end = received.indexOf('\r\n\r\n');
  const upgraded = parseHead(received.subarray(0, end).toString('latin1'));
  t.is(upgraded.status, 101);
  t.is(upgraded.headers['sec-websocket-accept'], acceptFor(key));
  socket.removeAllListeners('data');
  const raw = new RawClient(socket, received.subarray(end + 4));
  raw.sendFrame(OP.TEXT, 'upgraded later');
  t.is((await raw.message()).payload.toString(), 'upgraded later');
  raw.destroy();
});

test('a client without onError: a refused connection is logged with Engine.logger.warn, then onClose(1006, "")', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const closes: [number, string][] = [];
  class Plain extends WebSocket {
    override onClose(code: number, reason: string) {
      closes.push([code, reason]);
    }
  }
  new Plain({ engine }).connect(`ws://127.0.0.1:${await freePort()}/`);
  await waitFor(() => closes.length === 1, 20_000, 'onClose');
  t.deepEqual(closes, [[1006, '']]);
  t.true(log.warn.length >= 1, 'warned');
  t.is(log.error.length, 0);
});
