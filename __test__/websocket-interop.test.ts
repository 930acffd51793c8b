// WebSocket interoperability with other implementations, both directions:
// the npm `ws` package (client against our server, server for our client)
// and Python's `websockets` (spawned python3 scripts), over ws:// and wss://.
// `websockets` must be installed (`python3 -m pip install websockets`,
// done by .ci/run): without it these tests fail, they do not skip.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Application } from 'pants-net/web';
import { WebSocket as NodeWs, WebSocketServer, type RawData } from 'ws';

import { startedEngine } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';

import { sameBytes, EchoRecording, firstOpened, instancesOf, Recording, within, wsClient, wsServe } from './ws-helpers.js';

let certs!: TestCerts;
let scripts!: string;

const PY_CLIENT = String.raw`
import asyncio, json, ssl, sys
from websockets.asyncio.client import connect

async def main():
    url, ca, compression = sys.argv[1], sys.argv[2], sys.argv[3]
    context = ssl.create_default_context(cafile=ca) if ca != '-' else None
    out = {}
    async with connect(url, ssl=context, subprotocols=['py-proto', 'other'], max_size=None,
                       compression=('deflate' if compression == 'on' else None)) as ws:
        out['subprotocol'] = ws.subprotocol
        out['extensions'] = ws.response.headers.get('Sec-WebSocket-Extensions')
        await ws.send('hello from python ✓')
        out['text'] = await ws.recv()
        await ws.send(b'\x00\x01\xff')
        received = await ws.recv()
        out['binary'] = received.hex()
        out['binaryType'] = type(received).__name__
        big = bytes(range(256)) * 4096
        await ws.send(big)
        out['big'] = (await ws.recv()) == big
        await ws.send(['frag', 'mented ', 'text'])
        out['fragmented'] = await ws.recv()
        pong = await ws.ping(b'py-ping')
        await asyncio.wait_for(pong, 10)
        out['pong'] = True
        await ws.close(4000, 'py bye')
        out['closeCode'] = ws.close_code
        out['closeReason'] = ws.close_reason
    print(json.dumps(out), flush=True)

asyncio.run(main())
`;

const PY_SERVER = String.raw`
import asyncio, json, ssl, sys
from websockets.asyncio.server import serve

async def handler(ws):
    try:
        async for message in ws:
            if message == 'close please':
                await ws.close(4002, 'py server bye')
                break
            await ws.send(message)
    except Exception as error:
        print(json.dumps({'event': 'error', 'error': repr(error)}), flush=True)
    finally:
        print(json.dumps({'event': 'closed', 'code': ws.close_code, 'reason': ws.close_reason,
                          'subprotocol': ws.subprotocol, 'path': ws.request.path,
                          'extensions': ws.response.headers.get('Sec-WebSocket-Extensions')}), flush=True)

async def main():
    cert, key = sys.argv[1], sys.argv[2]
    context = None
    if cert != '-':
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    async with serve(handler, '127.0.0.1', 0, ssl=context, subprotocols=['py-a', 'py-b'], max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({'event': 'listening', 'port': port}), flush=True)
        await asyncio.get_running_loop().create_future()

asyncio.run(main())
`;

const PY_LIMITS = String.raw`
import asyncio, json, sys
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

async def main():
    base = sys.argv[1]
    out = {}
    try:
        async with connect(base + '/refused') as ws:
            out['refused'] = 'opened'
    except InvalidStatus as error:
        out['refused'] = error.response.status_code
    async with connect(base + '/small', max_size=None) as ws:
        await ws.send(b'x' * 2000)
        try:
            await ws.recv()
            out['small'] = 'answered'
        except ConnectionClosed as error:
            out['small'] = error.rcvd.code if error.rcvd else None
    print(json.dumps(out), flush=True)

asyncio.run(main())
`;

test.before(() => {
  const check = spawnSync('python3', ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8' });
  if (check.status !== 0) {
    throw new Error(`the Python WebSocket tests need the python3 module "websockets": run \`python3 -m pip install websockets\` (${check.error?.message ?? check.stderr.trim()})`);
  }
  certs = makeCerts();
  scripts = mkdtempSync(join(tmpdir(), 'pants-ws-py-'));
  writeFileSync(join(scripts, 'client.py'), PY_CLIENT);
  writeFileSync(join(scripts, 'server.py'), PY_SERVER);
  writeFileSync(join(scripts, 'limits.py'), PY_LIMITS);
});

test.after.always(() => {
  removeCerts(certs);
  if (scripts) rmSync(scripts, { recursive: true, force: true });
});

/** A python3 script from `scripts`, killed when the test ends; its stdout as JSON lines. */
function python(t: ExecutionContext, script: string, args: string[]): { child: ChildProcessWithoutNullStreams; lines: Record<string, unknown>[]; line: (match: (line: Record<string, unknown>) => boolean, ms?: number) => Promise<Record<string, unknown>>; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn('python3', [join(scripts, script), ...args]);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ unparsed: text });
      }
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    for (const wake of waiters.splice(0)) wake();
    resolve(code);
  }));
  const line = async (match: (line: Record<string, unknown>) => boolean, ms = 20_000) => {
    const start = Date.now();
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`python3 ${script} exited ${child.exitCode}: ${stderr}`);
      if (Date.now() - start > ms) throw new Error(`python3 ${script}: no such line within ${ms} ms; stdout ${JSON.stringify(lines)}, stderr ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { child, lines, line, exited, stderr: () => stderr };
}

class ProtoEcho extends EchoRecording {
  constructor(...args: any[]) {
    super(...args);
    this.protocols = ['py-proto', 'ws-proto'];
  }
}

// ----- Python websockets as the client --------------------------------------------------

for (const [scheme, compression] of [['ws', 'off'], ['ws', 'on'], ['wss', 'off']] as const) {
  test(`Python websockets client → Pants server over ${scheme}:// (client compression ${compression}): echo, fragments, ping, close code`, async (t) => {
    class Server extends ProtoEcho {}
    const sslOptions = scheme === 'wss' ? { cert: certs.cert, key: certs.key } : undefined;
    const { port } = wsServe(t, Server, sslOptions ? { sslOptions } : {});
    const host = scheme === 'wss' ? 'localhost' : '127.0.0.1';
    const py = python(t, 'client.py', [`${scheme}://${host}:${port}/py/path`, scheme === 'wss' ? certs.caPath : '-', compression]);
    const code = await within(py.exited, 30_000, 'the Python client');
    t.is(code, 0, py.stderr());
    const out = py.lines[0];
    t.like(out, {
      subprotocol: 'py-proto',
      extensions: null,
      text: 'hello from python ✓',
      binary: '0001ff',
      binaryType: 'bytes',
      big: true,
      fragmented: 'fragmented text',
      pong: true,
      closeCode: 4000,
    });
    const server = await firstOpened(Server);
    t.deepEqual(await within(server.closed.promise, 20_000, 'server onClose'), [4000, 'py bye']);
    t.is(server.url, '/py/path');
    t.is(server.isSecure, scheme === 'wss');
    t.deepEqual(server.messages.slice(0, 2), ['hello from python ✓', Buffer.from([0, 1, 0xff])]);
  });
}

test('Python websockets client (permessage-deflate offered) → Pants server with compression: negotiated, messages intact', async (t) => {
  class Server extends ProtoEcho {
    constructor(...args: any[]) {
      super(...args);
      this.compression = true;
    }
  }
  const { port } = wsServe(t, Server);
  const py = python(t, 'client.py', [`ws://127.0.0.1:${port}/`, '-', 'on']);
  t.is(await within(py.exited, 30_000, 'the Python client'), 0, py.stderr());
  const out = py.lines[0];
  t.regex(String(out.extensions), /^permessage-deflate/);
  t.like(out, { text: 'hello from python ✓', binary: '0001ff', big: true, fragmented: 'fragmented text', closeCode: 4000 });
  t.regex((await firstOpened(Server)).extensions, /^permessage-deflate/);
});

test('Python websockets client: refused by onHandshake → status 403; a message over maxPayload → closed 1009', async (t) => {
  class Refuse extends Recording {
    override onHandshake(): boolean {
      return false;
    }
  }
  class Small extends EchoRecording {
    constructor(...args: any[]) {
      super(...args);
      this.maxPayload = 1000;
    }
  }
  const app = new Application();
  app.route('/refused', Refuse);
  app.route('/small', Small);
  const { port } = wsServe(t, app);
  const py = python(t, 'limits.py', [`ws://127.0.0.1:${port}`]);
  t.is(await within(py.exited, 30_000, 'the Python client'), 0, py.stderr());
  t.deepEqual(py.lines[0], { refused: 403, small: 1009 });
  const [small] = instancesOf(Small);
  t.is((await within(small.closed.promise, 20_000, 'server onClose'))[0], 1009);
});

// ----- Python websockets as the server --------------------------------------------------

for (const scheme of ['ws', 'wss'] as const) {
  test(`Pants client → Python websockets server over ${scheme}://: echo both types, protocol, close both ways`, async (t) => {
    const engine = startedEngine(t);
    const py = python(t, 'server.py', scheme === 'wss' ? [join(certs.dir, 'server.pem'), join(certs.dir, 'server.key')] : ['-', '-']);
    const { port } = (await py.line((line) => line.event === 'listening')) as { port: number };
    const host = scheme === 'wss' ? 'localhost' : '127.0.0.1';
    class Client extends Recording {}
    const sslOptions = scheme === 'wss' ? { ca: certs.ca } : undefined;
    const client = await wsClient(t, Client, `${scheme}://${host}:${port}/from/pants`, engine, (c) => (c.protocols = ['py-b', 'zzz']), sslOptions);
    t.is(client.protocol, 'py-b');
    t.is(client.isSecure, scheme === 'wss');
    client.write('hello python ✓');
    client.write(Buffer.from([0, 255, 1]));
    const big = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < big.length; index += 1) big[index] = index % 251;
    client.write(big);
    const [text, binary, echoedBig] = await client.messagesUntil(3, 20_000);
    t.is(text, 'hello python ✓');
    t.deepEqual(binary, Buffer.from([0, 255, 1]));
    t.true(Buffer.isBuffer(echoedBig) && echoedBig.equals(big));
    client.ping('pants ping');
    await within(
      (async () => {
        while (client.pongs.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      10_000,
      'the pong',
    );
    t.is(client.pongs[0].toString(), 'pants ping');
    client.close(4100, 'pants bye');
    t.is((await within(client.closed.promise, 20_000, 'client onClose'))[0], 4100);
    const closed = await py.line((line) => line.event === 'closed');
    t.like(closed, { code: 4100, reason: 'pants bye', subprotocol: 'py-b', path: '/from/pants' });
    // the server closing: Pants sees its code and reason
    const second = await wsClient(t, Client, `${scheme}://${host}:${port}/second`, engine, (c) => (c.protocols = ['py-a']), sslOptions);
    second.write('close please');
    t.deepEqual(await within(second.closed.promise, 20_000, 'onClose after the server closed'), [4002, 'py server bye']);
    t.deepEqual(second.errors, []);
  });
}

test('Pants client with compression → Python websockets server: permessage-deflate negotiated, messages intact', async (t) => {
  const engine = startedEngine(t);
  const py = python(t, 'server.py', ['-', '-']);
  const { port } = (await py.line((line) => line.event === 'listening')) as { port: number };
  class Client extends Recording {}
  const client = await wsClient(t, Client, `ws://127.0.0.1:${port}/`, engine, (c) => {
    c.protocols = ['py-a'];
    c.compression = true;
  });
  t.regex(client.extensions, /^permessage-deflate/);
  const text = 'squeeze '.repeat(50_000);
  client.write(text);
  client.write(Buffer.alloc(300_000, 1));
  const [a, b] = await client.messagesUntil(2, 20_000);
  t.is(a, text);
  t.true(sameBytes(b, Buffer.alloc(300_000, 1)), 'the bytes arrived intact');
  client.close();
  const closed = await py.line((line) => line.event === 'closed');
  t.regex(String(closed.extensions), /^permessage-deflate/);
  t.is(closed.code, 1000);
});

// ----- npm ws as the client --------------------------------------------------------------

/** A `ws` client, terminated at the end; resolves once open. */
async function nodeWsClient(t: ExecutionContext, url: string, protocols: string[] = [], options: ConstructorParameters<typeof NodeWs>[2] = {}): Promise<NodeWs> {
  const socket = new NodeWs(url, protocols, options);
  t.teardown(() => socket.terminate());
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }),
    10_000,
    `ws to open ${url}`,
  );
  return socket;
}

function nextWsMessage(socket: NodeWs): Promise<{ data: RawData; isBinary: boolean }> {
  return within(
    new Promise((resolve) => socket.once('message', (data: RawData, isBinary: boolean) => resolve({ data, isBinary }))),
    20_000,
    'a ws message',
  );
}

for (const scheme of ['ws', 'wss'] as const) {
  test(`ws client → Pants server over ${scheme}://: echo, types, 4 MiB, protocol, ping/pong both ways, close code and reason`, async (t) => {
    class Server extends ProtoEcho {}
    const { port } = wsServe(t, Server, scheme === 'wss' ? { sslOptions: { cert: certs.cert, key: certs.key } } : {});
    const url = `${scheme}://${scheme === 'wss' ? 'localhost' : '127.0.0.1'}:${port}/ws/client`;
    const socket = await nodeWsClient(t, url, ['ws-proto'], scheme === 'wss' ? { ca: certs.ca } : {});
    t.is(socket.protocol, 'ws-proto');
    t.is(socket.extensions, '');
    socket.send('text ✓');
    const text = await nextWsMessage(socket);
    t.false(text.isBinary);
    t.is(text.data.toString(), 'text ✓');
    socket.send(Buffer.from([1, 2, 3]));
    const binary = await nextWsMessage(socket);
    t.true(binary.isBinary);
    t.deepEqual(binary.data, Buffer.from([1, 2, 3]));
    const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    socket.send(big);
    t.true(((await nextWsMessage(socket)).data as Buffer).equals(big));
    socket.send('frag', { fin: false });
    socket.send('ments', { fin: true });
    t.is((await nextWsMessage(socket)).data.toString(), 'fragments');
    const pong = within(new Promise<Buffer>((resolve) => socket.once('pong', resolve)), 20_000, 'pong');
    socket.ping('ws ping');
    t.is((await pong).toString(), 'ws ping');
    const server = await firstOpened(Server);
    const ping = within(new Promise<Buffer>((resolve) => socket.once('ping', resolve)), 20_000, 'ping');
    server.ping('pants ping');
    t.is((await ping).toString(), 'pants ping');
    await within((async () => {
      while (server.pongs.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 20_000, 'onPong');
    t.is(server.pongs[0].toString(), 'pants ping');
    const closed = within(new Promise<[number, string]>((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))), 20_000, 'ws close');
    socket.close(4321, 'ws bye');
    t.is((await closed)[0], 4321, 'the answering close frame echoes the code');
    t.deepEqual(await within(server.closed.promise, 20_000, 'server onClose'), [4321, 'ws bye']);
  });
}

test('ws client → Pants server: the server closes with a code and reason; ws sees them, and wasClean', async (t) => {
  class Server extends EchoRecording {
    override onRead(data: string | Buffer) {
      if (data === 'close me') this.close(4004, 'as you wish');
    }
  }
  const { url } = wsServe(t, Server);
  const socket = await nodeWsClient(t, `${url}/`);
  const closed = within(new Promise<[number, string]>((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))), 20_000, 'ws close');
  socket.send('close me');
  t.deepEqual(await closed, [4004, 'as you wish']);
  t.deepEqual(await within((await firstOpened(Server)).closed.promise, 20_000, 'onClose'), [4004, 'as you wish']);
});

test('ws client with perMessageDeflate → Pants server with compression: negotiated, messages intact', async (t) => {
  class Server extends EchoRecording {
    constructor(...args: any[]) {
      super(...args);
      this.compression = true;
    }
  }
  const { url } = wsServe(t, Server);
  const socket = await nodeWsClient(t, `${url}/`, [], { perMessageDeflate: true });
  t.regex(socket.extensions, /^permessage-deflate/);
  const text = 'deflate me please '.repeat(20_000);
  socket.send(text);
  t.is((await nextWsMessage(socket)).data.toString(), text);
  socket.send(Buffer.alloc(500_000, 3));
  t.true(((await nextWsMessage(socket)).data as Buffer).equals(Buffer.alloc(500_000, 3)));
  for (let index = 0; index < 20; index += 1) socket.send(`small ${index}`);
  for (let index = 0; index < 20; index += 1) t.is((await nextWsMessage(socket)).data.toString(), `small ${index}`);
});

test('ws client with perMessageDeflate → Pants server without compression: nothing negotiated, plain frames work', async (t) => {
  class Server extends EchoRecording {}
  const { url } = wsServe(t, Server);
  const socket = await nodeWsClient(t, `${url}/`, [], { perMessageDeflate: true });
  t.is(socket.extensions, '');
  socket.send('plain');
  t.is((await nextWsMessage(socket)).data.toString(), 'plain');
});

test('ws client refused by onHandshake: the 403 reaches ws as an unexpected-response', async (t) => {
  class Refuse extends Recording {
    override onHandshake(): boolean {
      return false;
    }
  }
  const { url } = wsServe(t, Refuse);
  const socket = new NodeWs(`${url}/`);
  t.teardown(() => socket.terminate());
  const status = await within(
    new Promise<number>((resolve) => {
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.once('error', () => resolve(-1));
    }),
    10_000,
    'the refusal',
  );
  t.is(status, 403);
});

// ----- npm ws as the server --------------------------------------------------------------

/** A `ws` echo server (plain or on an https server), closed at the end. */
async function nodeWsServer(t: ExecutionContext, options: { tls?: boolean; perMessageDeflate?: boolean; protocols?: string[] } = {}): Promise<{ port: number; server: WebSocketServer; closes: [number, string][]; paths: string[] }> {
  const httpsServer = options.tls ? https.createServer({ cert: certs.cert, key: certs.key }) : undefined;
  const server = httpsServer
    ? new WebSocketServer({ server: httpsServer, perMessageDeflate: options.perMessageDeflate ?? false, handleProtocols: (offered) => [...offered].find((p) => options.protocols?.includes(p)) ?? false })
    : new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: options.perMessageDeflate ?? false, handleProtocols: (offered) => [...offered].find((p) => options.protocols?.includes(p)) ?? false });
  if (httpsServer) await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  else await new Promise<void>((resolve) => (server.address() ? resolve() : server.once('listening', resolve)));
  const closes: [number, string][] = [];
  const paths: string[] = [];
  server.on('connection', (socket, request) => {
    paths.push(request.url ?? '');
    socket.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close please') socket.close(4003, 'ws server bye');
      else socket.send(data, { binary: isBinary });
    });
    socket.on('close', (code, reason) => closes.push([code, reason.toString()]));
  });
  t.teardown(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
    if (httpsServer) await new Promise((resolve) => httpsServer.close(resolve));
  });
  const address = (httpsServer ? httpsServer.address() : server.address()) as AddressInfo;
  return { port: address.port, server, closes, paths };
}

for (const scheme of ['ws', 'wss'] as const) {
  test(`Pants client → ws server over ${scheme}://: echo both types, 2 MiB, protocol, close both ways`, async (t) => {
    const engine = startedEngine(t);
    const { port, closes, paths } = await nodeWsServer(t, { tls: scheme === 'wss', protocols: ['wanted'] });
    const host = scheme === 'wss' ? 'localhost' : '127.0.0.1';
    class Client extends Recording {}
    const sslOptions = scheme === 'wss' ? { ca: certs.ca } : undefined;
    const client = await wsClient(t, Client, `${scheme}://${host}:${port}/to/ws?q=1`, engine, (c) => (c.protocols = ['unwanted', 'wanted']), sslOptions);
    t.is(client.protocol, 'wanted');
    t.is(client.isSecure, scheme === 'wss');
    t.deepEqual(paths, ['/to/ws?q=1']);
    client.write('to ws ✓');
    client.write(Buffer.from([7, 7]));
    client.write('binary string', true);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x42);
    client.write(big);
    const [a, b, c, d] = await client.messagesUntil(4, 20_000);
    t.is(a, 'to ws ✓');
    t.deepEqual(b, Buffer.from([7, 7]));
    t.deepEqual(c, Buffer.from('binary string'));
    t.true(Buffer.isBuffer(d) && d.equals(big));
    client.close(4200, 'pants leaves');
    t.is((await within(client.closed.promise, 20_000, 'onClose'))[0], 4200);
    await within((async () => {
      while (closes.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 20_000, 'ws close');
    t.deepEqual(closes, [[4200, 'pants leaves']]);
    const second = await wsClient(t, Client, `${scheme}://${host}:${port}/`, engine, (c) => (c.protocols = ['wanted']), sslOptions);
    second.write('close please');
    t.deepEqual(await within(second.closed.promise, 20_000, 'onClose'), [4003, 'ws server bye']);
  });
}

test('Pants client with compression → ws server with perMessageDeflate: negotiated, intact', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeWsServer(t, { perMessageDeflate: true });
  class Client extends Recording {}
  const client = await wsClient(t, Client, `ws://127.0.0.1:${port}/`, engine, (c) => (c.compression = true));
  t.regex(client.extensions, /^permessage-deflate/);
  const text = 'shrink '.repeat(80_000);
  client.write(text);
  client.write(Buffer.alloc(100_000, 9));
  const [a, b] = await client.messagesUntil(2, 20_000);
  t.is(a, text);
  t.true(sameBytes(b, Buffer.alloc(100_000, 9)), 'the bytes arrived intact');
});

test('Pants client over wss:// without the CA: the ws server is not trusted → onError, onClose(1006, "")', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeWsServer(t, { tls: true });
  class Client extends Recording {}
  const client = new Client({ engine }).connect(`wss://localhost:${port}/`);
  t.deepEqual(await within(client.closed.promise, 20_000, 'onClose'), [1006, '']);
  t.is(client.errors.length, 1);
  t.is(client.connectArgs, null);
});
