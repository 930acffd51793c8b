// The examples beyond the tutorial: the line-based chat client (against a
// node:net server and the chat example) and the HTTP/1.1 server (against
// node:http and raw node:net clients).
import test, { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { EchoLineToAllServer } from '../examples/chat.js';
import { LineChatClient } from '../examples/chat_client.js';
import { HttpServer, MAX_BODY_BYTES, MAX_HEAD_BYTES } from '../examples/http_server.js';
import { closeAtEnd, netClient, portOf, readToEnd, startedEngine, waitFor } from './helpers.js';

/** A node:net server on an ephemeral port, closed when the test ends; resolves with it and its first connection. */
async function netServer(t: ExecutionContext): Promise<{ port: number; accepted: Promise<net.Socket> }> {
  let accept!: (socket: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (accept = resolve));
  const server = net.createServer((socket) => {
    t.teardown(() => socket.destroy());
    accept(socket);
  });
  t.teardown(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, accepted };
}

/** Collects what is written to `stream` as text. */
function collect(stream: NodeJS.ReadableStream): { text: () => string } {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  return { text: () => text };
}

/** Reads from `socket` until `text` has arrived; resolves with everything read. */
function readUntil(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes(text)) {
        socket.off('data', onData);
        resolve(received);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

// ----- the line-based chat client ------------------------------------------

test('chat client: each typed line goes to the server, ended by CRLF', async (t) => {
  const engine = startedEngine(t);
  const { port, accepted } = await netServer(t);
  const input = new PassThrough();
  new LineChatClient({ engine, input, output: new PassThrough() }).connect(['127.0.0.1', port]);
  const server = await accepted;
  input.write('hello, everyone\nsecond ');
  input.write('line\n');
  t.is(await readUntil(server, 'second line\r\n'), 'hello, everyone\r\nsecond line\r\n');
});

test('chat client: each line from the server is printed, however it is split', async (t) => {
  const engine = startedEngine(t);
  const { port, accepted } = await netServer(t);
  const output = new PassThrough();
  const printed = collect(output);
  new LineChatClient({ engine, input: new PassThrough(), output }).connect(['127.0.0.1', port]);
  const server = await accepted;
  for (const piece of ['Connected: 127', '.0.0.1\r', '\nbob: hi\r\nalice: h', 'ello\r\n']) {
    server.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await waitFor(() => printed.text().includes('alice: hello\n'), 5000, 'the printed lines');
  t.is(printed.text(), 'Connected: 127.0.0.1\nbob: hi\nalice: hello\n');
});

test('chat client: the end of input closes the connection once everything typed is sent', async (t) => {
  const engine = startedEngine(t);
  const { port, accepted } = await netServer(t);
  const input = new PassThrough();
  const client = new LineChatClient({ engine, input, output: new PassThrough() }).connect(['127.0.0.1', port]);
  const server = await accepted;
  input.end('last words\n');
  t.is((await readToEnd(server)).toString(), 'last words\r\n');
  await client.closed;
  t.false(client.connected);
});

test('chat client: the server hanging up closes the client', async (t) => {
  const engine = startedEngine(t);
  const { port, accepted } = await netServer(t);
  const client = new LineChatClient({ engine, input: new PassThrough(), output: new PassThrough() }).connect(['127.0.0.1', port]);
  (await accepted).end('Bye\r\n');
  await client.closed;
  t.false(client.connected);
});

test('chat client: a refused connection is reported and the client closes', async (t) => {
  const engine = startedEngine(t);
  const { port } = await netServer(t);
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const closedPort = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  t.not(closedPort, port);
  const output = new PassThrough();
  const printed = collect(output);
  const client = new LineChatClient({ engine, input: new PassThrough(), output }).connect(['127.0.0.1', closedPort]);
  await client.closed;
  t.is(printed.text(), 'Could not connect: ECONNREFUSED\n');
});

test('chat client program: two terminals chat through the chat server example', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new EchoLineToAllServer({ engine }).listen(['127.0.0.1', 0]));
  const program = join(__dirname, '..', 'examples', 'chat_client.js');
  const child = spawn(process.execPath, [program, '127.0.0.1', String(portOf(server))]);
  t.teardown(() => child.kill());
  const printed = collect(child.stdout);
  await waitFor(() => printed.text().includes('Connected: 127.0.0.1\n'), 5000, 'the greeting');
  const other = await netClient(t, portOf(server));
  other.write('hi from telnet\r\n');
  await waitFor(() => printed.text().includes('127.0.0.1: hi from telnet\n'), 5000, "the other client's line");
  const heard = readUntil(other, '127.0.0.1: hi from the program\r\n');
  child.stdin.write('hi from the program\n');
  await heard;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end();
  t.is(await exited, 0);
});

// ----- the HTTP/1.1 server -------------------------------------------------

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: net.Socket;
}

/** An HttpServer of the examples on an ephemeral port, closed when the test ends. */
function httpServer(t: ExecutionContext): { server: HttpServer; port: number } {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new HttpServer({ engine }).listen(['127.0.0.1', 0]));
  return { server, port: portOf(server) };
}

/** A node:http agent with one keep-alive connection, destroyed when the test ends. */
function keepAliveAgent(t: ExecutionContext): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  return agent;
}

/** One request with node:http. */
function request(port: number, options: http.RequestOptions, body?: Buffer | string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), socket: req.socket! }),
      );
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

test('http server: GET / says hello with Content-Length and Date', async (t) => {
  const { port } = httpServer(t);
  const reply = await request(port, { path: '/', agent: false });
  t.is(reply.status, 200);
  t.is(reply.body.toString(), 'Hello, World!\n');
  t.is(reply.headers['content-type'], 'text/plain');
  t.is(reply.headers['content-length'], '14');
  t.false(Number.isNaN(Date.parse(reply.headers.date ?? '')));
});

test('http server: POST /echo answers with the Content-Length body, at every size', async (t) => {
  const { port } = httpServer(t);
  const agent = keepAliveAgent(t);
  for (const size of [0, 1, 2, 100, MAX_HEAD_BYTES, MAX_HEAD_BYTES + 1, 200_000, MAX_BODY_BYTES]) {
    const body = Buffer.alloc(size, 'pants ');
    const reply = await request(port, { method: 'POST', path: '/echo', agent, headers: { 'Content-Type': 'text/plain' } }, body);
    t.is(reply.status, 200, `size ${size}`);
    t.true(reply.body.equals(body), `size ${size}`);
  }
});

test('http server: requests take turns on one keep-alive connection', async (t) => {
  const { server, port } = httpServer(t);
  const agent = keepAliveAgent(t);
  const first = await request(port, { path: '/', agent });
  const second = await request(port, { method: 'POST', path: '/echo', agent }, 'between two GETs');
  const third = await request(port, { path: '/', agent });
  t.deepEqual([first.status, second.status, third.status], [200, 200, 200]);
  t.is(second.body.toString(), 'between two GETs');
  t.is(first.socket, third.socket);
  t.is(server.channels.size, 1);
});

test('http server: Expect: 100-continue gets a 100 before the body is sent', async (t) => {
  const { port } = httpServer(t);
  const reply = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', agent: false, headers: { Expect: '100-continue', 'Content-Length': 5 } });
    req.once('continue', () => req.end('later'));
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve(body));
    });
    req.once('error', reject);
    req.flushHeaders();
  });
  t.is(reply, 'later');
});

test('http server: pipelined requests are answered in order, fed in pieces of every size', async (t) => {
  const { port } = httpServer(t);
  const requests =
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world' +
    'GET / HTTP/1.1\r\nHost: x\r\n\r\n' +
    'GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  for (const size of [1, 2, 3, 5, 8, 13, 64, requests.length]) {
    const client = await netClient(t, port);
    client.setNoDelay(true);
    const replies = readToEnd(client);
    for (let offset = 0; offset < requests.length; offset += size) {
      client.write(requests.slice(offset, offset + size));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const text = (await replies).toString();
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]);
    t.deepEqual(statuses, ['200', '200', '404'], `pieces of ${size}`);
    t.true(text.includes('\r\n\r\nhello worldHTTP/1.1 200 OK'), `pieces of ${size}`);
    t.true(text.endsWith('Connection: close\r\n\r\nNot Found\n'), `pieces of ${size}`);
  }
});

test('http server: HEAD gets the headers of GET without the body', async (t) => {
  const { port } = httpServer(t);
  const client = await netClient(t, port);
  client.write('HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const text = (await readToEnd(client)).toString();
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(text, /\r\nContent-Length: 14\r\n/);
  t.true(text.endsWith('\r\n\r\n'));
});

test('http server: HTTP/1.0 closes after the response unless asked to keep alive', async (t) => {
  const { port } = httpServer(t);
  const once = await netClient(t, port);
  once.write('GET / HTTP/1.0\r\n\r\n');
  t.regex((await readToEnd(once)).toString(), /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\nHello, World!\n$/);

  const kept = await netClient(t, port);
  kept.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  t.regex(await readUntil(kept, 'Hello, World!\n'), /Connection: keep-alive\r\n/);
  kept.write('GET / HTTP/1.0\r\n\r\n');
  t.regex((await readToEnd(kept)).toString(), /Connection: close\r\n\r\nHello, World!\n$/);
});

test('http server: wrong routes and methods get 404 and 405', async (t) => {
  const { port } = httpServer(t);
  const agent = keepAliveAgent(t);
  t.is((await request(port, { path: '/nowhere', agent })).status, 404);
  const wrongMethod = await request(port, { method: 'DELETE', path: '/', agent });
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.allow, 'GET, HEAD');
  t.is((await request(port, { method: 'GET', path: '/echo', agent })).status, 405);
});

/** Sends `data` on a new connection and resolves with everything until the server closes it. */
async function exchange(t: ExecutionContext, port: number, data: string): Promise<string> {
  const client = await netClient(t, port);
  const reply = readToEnd(client);
  client.write(data);
  return (await reply).toString();
}

test('http server: a malformed request gets 400 and the connection is closed', async (t) => {
  const { port } = httpServer(t);
  t.regex(await exchange(t, port, 'NONSENSE\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n/);
  t.regex(await exchange(t, port, 'GET / HTTP/1.1\r\nno colon here\r\n\r\n'), /^HTTP\/1\.1 400 /);
  t.regex(await exchange(t, port, 'POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n'), /^HTTP\/1\.1 400 /);
});

test('http server: a head over MAX_HEAD_BYTES gets 431', async (t) => {
  const { port } = httpServer(t);
  const head = `GET / HTTP/1.1\r\nX-Filler: ${'x'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
  t.regex(await exchange(t, port, head), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
});

test('http server: a body over MAX_BODY_BYTES gets 413, chunked bodies 501', async (t) => {
  const { port } = httpServer(t);
  const tooLarge = `POST /echo HTTP/1.1\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`;
  t.regex(await exchange(t, port, tooLarge), /^HTTP\/1\.1 413 /);
  const chunked = 'POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
  t.regex(await exchange(t, port, chunked), /^HTTP\/1\.1 501 /);
});

test('http server program: node build/examples/http_server.js PORT serves curl-style clients', async (t) => {
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const child = spawn(process.execPath, [join(__dirname, '..', 'examples', 'http_server.js'), String(port)]);
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const reply = await request(port, { path: '/', agent: false });
  t.is(reply.body.toString(), 'Hello, World!\n');
});
