// HTTPClient against real node:http and node:https servers (and raw
// node:net ones for what node:http will not send): every row of the
// contract's HTTPClient table, redirects, codings, the pool, and bad input.
// Each server counts the sockets it accepted and the ones still open, so
// tests can assert reuse and that nothing leaks.
import test, { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import zlib from 'node:zlib';
import { Engine } from 'pants-net';
import { HTTPClient, HTTPClientOptions, HTTPResponse } from 'pants-net/http';

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTodo, Downloader } from '../examples/http_client.js';
import { todoApp } from '../examples/web_api.js';
import { HTTPServer } from 'pants-net/http';
import { portOf, startedEngine, waitFor } from './helpers.js';
import { makeCerts, removeCerts, TestCerts } from './tls-certs.js';

interface Served {
  base: string;
  port: number;
  /** Sockets accepted so far. */
  accepted: () => number;
  /** Sockets still open on the server side. */
  open: () => number;
}

/** Counts a server's sockets; destroys them and closes the server when the test ends. */
function track(t: ExecutionContext, server: net.Server, scheme: string, port: number): Served {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { base: `${scheme}://127.0.0.1:${port}`, port, accepted: () => accepted, open: () => sockets.size };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A node:http server answering with `handler`. */
async function serve(t: ExecutionContext, handler: http.RequestListener): Promise<Served> {
  const server = http.createServer(handler);
  return track(t, server, 'http', await listen(server));
}

/** A node:net server that answers every connection with `respond(socket, request bytes so far)`. */
async function raw(t: ExecutionContext, respond: (socket: net.Socket) => void): Promise<Served> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    respond(socket);
    // Read what the client sends even when not answering, so that its close is seen.
    socket.resume();
  });
  return track(t, server, 'http', await listen(server));
}

/** Waits for a request head on a raw socket, then calls `reply`. */
function onHead(socket: net.Socket, reply: (head: string) => void): void {
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = text.slice(0, end);
      text = text.slice(end + 4);
      reply(head);
    }
  });
}

/** A client on its own engine; its idle connections close when the test ends. */
function client(t: ExecutionContext, options: HTTPClientOptions = {}): HTTPClient {
  const engine = startedEngine(t);
  const made = new HTTPClient({ engine, ...options });
  t.teardown(() => made.close());
  return made;
}

/** Everything a handler saw of the request. */
async function echoServer(t: ExecutionContext): Promise<Served> {
  return serve(t, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
  });
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

test('new HTTPClient(options): the defaults, options as properties, bad values refused', (t) => {
  const engine = new Engine();
  const defaults = new HTTPClient({ engine });
  t.like(defaults, { engine, timeout: 30, maxRedirects: 10, keepAlive: true, maxSockets: 16, maxHeaderSize: 65536, maxResponseSize: 104857600 });
  t.deepEqual(defaults.sslOptions, {});
  t.deepEqual([...defaults.headers], []);
  const ca = 'PEM';
  const given = new HTTPClient({ engine, headers: { 'X-A': 'b' }, timeout: 2.5, maxRedirects: 0, keepAlive: false, maxSockets: 1, sslOptions: { ca } });
  t.like(given, { timeout: 2.5, maxRedirects: 0, keepAlive: false, maxSockets: 1, sslOptions: { ca } });
  t.is(given.headers.get('x-a'), 'b');
  for (const options of [{ timeout: 0 }, { maxRedirects: -1 }, { maxSockets: 0 }, { maxSockets: 1.5 }, { engine: {} as Engine }]) {
    t.throws(() => new HTTPClient({ engine, ...options }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_SETTING' }, JSON.stringify(options));
  }
});

test('bad arguments reject with ERR_PANTS_INVALID_ARGUMENT', async (t) => {
  const http = client(t);
  await t.throwsAsync(http.get('not a url'), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' });
  await t.throwsAsync(http.get('ftp://127.0.0.1/'), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' });
  await t.throwsAsync(http.request('GE T', 'http://127.0.0.1/'), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' });
  await t.throwsAsync(http.get('http://127.0.0.1/', { headers: { 'x-a': 'b\r\nInjected: yes' } }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' });
  await t.throwsAsync(http.post('http://127.0.0.1/', { body: 'a', form: { b: 'c' } }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' });
});

test('get: status, statusText, httpVersion, headers, url, body, text(), json()', async (t) => {
  const { base } = await serve(t, (request, response) => {
    response.writeHead(201, 'Made It', { 'content-type': 'application/json; charset=utf-8', 'x-two': ['a', 'b'] });
    response.end('{"hello":"wörld"}');
  });
  const response = await client(t).get(`${base}/x?y=1`);
  t.true(response instanceof HTTPResponse);
  t.is(response.status, 201);
  t.is(response.statusText, 'Made It');
  t.is(response.httpVersion, '1.1');
  t.is(response.headers.get('Content-Type'), 'application/json; charset=utf-8');
  t.deepEqual(response.headers.getAll('x-two'), ['a', 'b']);
  t.is(response.url, `${base}/x?y=1`);
  t.deepEqual(response.history, []);
  t.true(Buffer.isBuffer(response.body));
  t.is(response.text(), '{"hello":"wörld"}');
  t.deepEqual(response.json(), { hello: 'wörld' });
});

test('every method helper sends its method; head has no body', async (t) => {
  const { base } = await echoServer(t);
  const http = client(t);
  for (const method of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
    const response = await http[method](`${base}/m`);
    t.is((response.json() as Echo).method, method.toUpperCase());
  }
  const head = await http.head(`${base}/m`);
  t.is(head.status, 200);
  t.is(head.body.length, 0);
  t.is((await http.request('PROPFIND', `${base}/m`)).json() instanceof Object, true);
});

test('params, headers (client and request), body string / Buffer / JSON', async (t) => {
  const { base } = await echoServer(t);
  const http = client(t, { headers: { 'x-client': 'c', 'x-over': 'client' } });
  let echo = (await http.get(`${base}/p?a=1`, { params: { b: 'two words', c: ['3', '4'] }, headers: { 'X-Over': 'request' } })).json() as Echo;
  t.is(echo.url, '/p?a=1&b=two+words&c=3&c=4');
  t.is(echo.headers['x-client'], 'c');
  t.is(echo.headers['x-over'], 'request');
  t.is(echo.headers.host, base.slice('http://'.length));
  echo = (await http.post(`${base}/s`, { body: 'héllo' })).json() as Echo;
  t.is(Buffer.from(echo.body, 'latin1').toString('utf8'), 'héllo');
  t.is(echo.headers['content-type'], 'text/plain; charset=utf-8');
  t.is(echo.headers['content-length'], '6');
  echo = (await http.put(`${base}/b`, { body: Buffer.from([0, 255, 1]) })).json() as Echo;
  t.deepEqual(Buffer.from(echo.body, 'latin1'), Buffer.from([0, 255, 1]));
  t.is(echo.headers['content-type'], 'application/octet-stream');
  echo = (await http.patch(`${base}/j`, { body: { a: [1, 2] } })).json() as Echo;
  t.deepEqual(JSON.parse(echo.body), { a: [1, 2] });
  t.is(echo.headers['content-type'], 'application/json');
});

test('form, files (multipart), cookies, auth', async (t) => {
  const { base } = await echoServer(t);
  const http = client(t);
  let echo = (await http.post(`${base}/f`, { form: { a: '1 2', b: ['x', 'y'] } })).json() as Echo;
  t.is(echo.headers['content-type'], 'application/x-www-form-urlencoded');
  t.is(echo.body, 'a=1+2&b=x&b=y');
  echo = (await http.post(`${base}/m`, { form: { field: 'v' }, files: { up: { filename: 'a.txt', type: 'text/plain', body: 'file body' }, raw: Buffer.from('xyz'), tuple: ['t.bin', Buffer.from('tt'), 'x/y'] } })).json() as Echo;
  const boundary = /boundary=(.+)$/.exec(echo.headers['content-type'])![1];
  t.true(echo.headers['content-type'].startsWith('multipart/form-data'));
  t.true(echo.body.includes(`--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nv\r\n`));
  t.true(echo.body.includes('Content-Disposition: form-data; name="up"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n'));
  t.true(echo.body.includes('name="raw"; filename="raw"\r\nContent-Type: application/octet-stream\r\n\r\nxyz\r\n'));
  t.true(echo.body.includes('name="tuple"; filename="t.bin"\r\nContent-Type: x/y\r\n\r\ntt\r\n'));
  t.true(echo.body.endsWith(`--${boundary}--\r\n`));
  echo = (await http.get(`${base}/c`, { cookies: { session: 'abc', two: '2' } })).json() as Echo;
  t.is(echo.headers.cookie, 'session=abc; two=2');
  echo = (await http.get(`${base}/a`, { auth: ['user', 'pä ss'] })).json() as Echo;
  t.is(echo.headers.authorization, `Basic ${Buffer.from('user:pä ss').toString('base64')}`);
});

test('a multipart upload is read back by node as the files it was', async (t) => {
  // Checked by a parser other than ours: the busboy-free way, node's own fetch Request.formData().
  const { base } = await serve(t, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': request.headers['content-type']! }, body: Buffer.concat(chunks) }).formData();
      const file = form.get('up') as File;
      response.end(JSON.stringify({ field: form.get('field'), name: file.name, type: file.type, text: await file.text() }));
    });
  });
  const response = await client(t).post(base, { form: { field: 'value' }, files: { up: { filename: 'é.txt', type: 'text/plain', body: 'contents\r\n--' } } });
  t.deepEqual(response.json(), { field: 'value', name: 'é.txt', type: 'text/plain', text: 'contents\r\n--' });
});

test('cookies set by responses are kept per client and sent back; response.cookies', async (t) => {
  const { base } = await serve(t, (request, response) => {
    if (request.url === '/set') {
      response.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/only', 'gone=x; Max-Age=0']);
    }
    response.end(request.headers.cookie ?? '');
  });
  const http = client(t);
  const set = await http.get(`${base}/set`);
  t.deepEqual(set.cookies, { a: '1', b: '2' });
  t.is((await http.get(`${base}/other`)).text(), 'a=1');
  t.is((await http.get(`${base}/only/x`)).text(), 'b=2; a=1');
  t.deepEqual(http.cookies, { a: '1', b: '2' });
  t.is((await client(t).get(`${base}/other`)).text(), '', 'another client has its own jar');
});

test('timeout: a server that never answers rejects with ETIMEDOUT, per request or per client', async (t) => {
  const { base, open, accepted } = await raw(t, () => undefined);
  const http = client(t, { timeout: 0.3 });
  const started = Date.now();
  await t.throwsAsync(http.get(base), { code: 'ETIMEDOUT' });
  t.true(Date.now() - started >= 250);
  await t.throwsAsync(http.get(base, { timeout: 0.2 }), { code: 'ETIMEDOUT' });
  t.is(accepted(), 2);
  await waitFor(() => open() === 0, 5000, `the timed-out connections to close (${open()} open)`);
  t.is(http.connectionCount, 0);
});

test('maxRedirects: 301/302/303/307/308 are followed; 303 turns into GET; history; loops reject', async (t) => {
  const { base } = await serve(t, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const match = /^\/r(\d{3})$/.exec(request.url!);
      if (match !== null) {
        response.writeHead(Number(match[1]), { location: '/final' });
        response.end();
      } else if (request.url === '/loop') {
        response.writeHead(302, { location: '/loop' });
        response.end();
      } else if (request.url?.startsWith('/chain/')) {
        const n = Number(request.url.slice(7));
        response.writeHead(302, { location: n > 0 ? `/chain/${n - 1}` : '/final' });
        response.end();
      } else {
        response.end(`${request.method} ${Buffer.concat(chunks).toString()}`);
      }
    });
  });
  const http = client(t);
  for (const [status, expected] of [
    [301, 'GET '],
    [302, 'GET '],
    [303, 'GET '],
    [307, 'POST data'],
    [308, 'POST data'],
  ] as const) {
    const response = await http.post(`${base}/r${status}`, { body: 'data' });
    t.is(response.text(), expected, `status ${status}`);
    t.is(response.url, `${base}/final`);
    t.deepEqual(
      response.history.map((r) => [r.status, r.url]),
      [[status, `${base}/r${status}`]],
    );
  }
  t.is((await http.put(`${base}/r303`, { body: 'data' })).text(), 'GET ');
  const ten = await http.get(`${base}/chain/9`);
  t.is(ten.history.length, 10);
  await t.throwsAsync(http.get(`${base}/chain/10`), { code: 'ERR_PANTS_TOO_MANY_REDIRECTS' });
  await t.throwsAsync(http.get(`${base}/loop`), { code: 'ERR_PANTS_TOO_MANY_REDIRECTS' });
  await t.throwsAsync(http.get(`${base}/chain/2`, { maxRedirects: 2 }), { code: 'ERR_PANTS_TOO_MANY_REDIRECTS' });
  t.is((await http.get(`${base}/chain/1`, { maxRedirects: 2 })).text(), 'GET ');
  await t.throwsAsync(client(t, { maxRedirects: 0 }).get(`${base}/r302`), { code: 'ERR_PANTS_TOO_MANY_REDIRECTS' });
});

test('a redirect to another origin drops the Authorization header', async (t) => {
  const other = await echoServer(t);
  const { base } = await serve(t, (request, response) => {
    response.writeHead(302, { location: `${other.base.replace('127.0.0.1', 'localhost')}/x` });
    response.end();
  });
  const response = await client(t).get(base, { auth: ['u', 'p'], headers: { 'x-keep': '1' } });
  const echo = response.json() as Echo;
  t.false('authorization' in echo.headers);
  t.is(echo.headers['x-keep'], '1');
});

test('chunked bodies are joined; gzip and deflate bodies are decoded', async (t) => {
  const text = 'line of text\n'.repeat(5000);
  const { base } = await serve(t, (request, response) => {
    const accept = String(request.headers['accept-encoding']);
    if (request.url === '/chunked') {
      for (let i = 0; i < 100; i++) response.write(`chunk ${i};`);
      response.end();
    } else if (request.url === '/gzip' && accept.includes('gzip')) {
      response.setHeader('content-encoding', 'gzip');
      response.end(zlib.gzipSync(text));
    } else if (request.url === '/deflate' && accept.includes('deflate')) {
      response.setHeader('content-encoding', 'deflate');
      response.end(zlib.deflateSync(text));
    } else if (request.url === '/raw-deflate') {
      response.setHeader('content-encoding', 'deflate');
      response.end(zlib.deflateRawSync(text));
    } else if (request.url === '/gzip-chunked') {
      response.setHeader('content-encoding', 'gzip');
      const gzip = zlib.createGzip();
      gzip.pipe(response);
      gzip.end(text);
    } else {
      response.end('plain');
    }
  });
  const http = client(t);
  t.is((await http.get(`${base}/chunked`)).text(), Array.from({ length: 100 }, (_, i) => `chunk ${i};`).join(''));
  t.is((await http.get(`${base}/gzip`)).text(), text);
  t.is((await http.get(`${base}/deflate`)).text(), text);
  t.is((await http.get(`${base}/raw-deflate`)).text(), text);
  const streamed = await http.get(`${base}/gzip-chunked`);
  t.is(streamed.headers.get('transfer-encoding'), 'chunked');
  t.is(streamed.text(), text);
});

test('keepAlive: requests reuse one connection; maxSockets bounds concurrent ones per origin', async (t) => {
  const served = await serve(t, (request, response) => {
    setTimeout(() => response.end('ok'), 20);
  });
  const http = client(t, { maxSockets: 3 });
  for (let i = 0; i < 5; i++) t.is((await http.get(served.base)).text(), 'ok');
  t.is(served.accepted(), 1, 'sequential requests share one connection');
  const all = await Promise.all(Array.from({ length: 12 }, () => http.get(served.base)));
  t.true(all.every((response) => response.text() === 'ok'));
  t.is(served.accepted(), 3, 'at most maxSockets connections');
  t.is(http.connectionCount, 3);
  http.close();
  await waitFor(() => served.open() === 0, 5000, 'the idle connections to close');
  t.is(http.connectionCount, 0);
});

test('keepAlive false: one connection per request, each closed', async (t) => {
  const served = await serve(t, (request, response) => response.end(String(request.headers.connection)));
  const http = client(t, { keepAlive: false });
  for (let i = 0; i < 3; i++) t.is((await http.get(served.base)).text(), 'close');
  t.is(served.accepted(), 3);
  await waitFor(() => served.open() === 0, 5000, 'the connections to close');
});

test('a kept-alive connection the server closed while idle is dropped; the next request opens another', async (t) => {
  const server = http.createServer((request, response) => response.end('ok'));
  server.keepAliveTimeout = 100;
  const served = track(t, server, 'http', await listen(server));
  const client_ = client(t);
  t.is((await client_.get(served.base)).text(), 'ok');
  await waitFor(() => served.open() === 0, 5000, 'the server to close the idle connection');
  await waitFor(() => client_.connectionCount === 0, 5000, 'the client to notice');
  t.is((await client_.get(served.base)).text(), 'ok');
  t.is(served.accepted(), 2);
});

test('a request sent as the server closes the idle connection is retried once on a new one', async (t) => {
  let calls = 0;
  const served = await raw(t, (socket) =>
    onHead(socket, () => {
      calls++;
      // The first connection answers once, then closes when the second request arrives on it.
      if (calls === 2) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }),
  );
  const http = client(t);
  t.is((await http.get(served.base)).text(), 'ok');
  t.is((await http.get(served.base)).text(), 'ok');
  t.is(served.accepted(), 2);
});

test('a server closing mid-body rejects with ECONNRESET, and the pool stays healthy', async (t) => {
  let calls = 0;
  const served = await raw(t, (socket) => {
    onHead(socket, () => {
      calls++;
      if (calls === 1) {
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
      } else if (calls === 2) {
        socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      } else {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  const http = client(t);
  await t.throwsAsync(http.get(served.base), { code: 'ECONNRESET' });
  await t.throwsAsync(http.get(served.base), { code: 'ECONNRESET' });
  t.is((await http.get(served.base)).text(), 'ok');
  t.is(http.connectionCount, 1);
});

test('a connection the server sent stray bytes on is not reused', async (t) => {
  const served = await raw(t, (socket) => onHead(socket, () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray')));
  const http = client(t);
  t.is((await http.get(served.base)).text(), 'ok');
  t.is((await http.get(served.base)).text(), 'ok');
  t.is(served.accepted(), 2);
});

test('a body that ends with the connection is read to the end', async (t) => {
  const served = await raw(t, (socket) => onHead(socket, () => socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end')));
  const response = await client(t).get(served.base);
  t.is(response.httpVersion, '1.0');
  t.is(response.text(), 'until the end');
});

test('interim 1xx responses are skipped; 204 and 304 have no body', async (t) => {
  let calls = 0;
  const served = await raw(t, (socket) =>
    onHead(socket, () => {
      calls++;
      if (calls === 1) socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
      else if (calls === 2) socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n');
      else socket.write('HTTP/1.1 304 Not Modified\r\n\r\n');
    }),
  );
  const http = client(t);
  t.is((await http.get(served.base)).text(), 'abc');
  t.is((await http.get(served.base)).status, 204);
  const notModified = await http.get(served.base);
  t.is(notModified.status, 304);
  t.is(notModified.body.length, 0);
  t.is(served.accepted(), 1);
});

test('malformed responses reject with ERR_PANTS_HTTP_PARSE and close their connection', async (t) => {
  const answers = [
    'HTTP/1.1 abc OK\r\n\r\n',
    'garbage\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/2.0 200 OK\r\n\r\n',
  ];
  let next = 0;
  const served = await raw(t, (socket) => onHead(socket, () => socket.write(answers[next++])));
  const http = client(t);
  for (const answer of answers) await t.throwsAsync(http.get(served.base), { code: 'ERR_PANTS_HTTP_PARSE' }, JSON.stringify(answer));
  await waitFor(() => served.open() === 0, 5000, 'the connections to close');
  t.is(served.accepted(), answers.length);
});

test('a response over the limits rejects with ERR_PANTS_HTTP_RESPONSE_TOO_LARGE', async (t) => {
  const big = 'x'.repeat(5000);
  const served = await serve(t, (request, response) => {
    if (request.url === '/length') response.end(big);
    else if (request.url === '/chunked') {
      response.write(big);
      response.end(big);
    } else if (request.url === '/gzip') {
      response.setHeader('content-encoding', 'gzip');
      response.end(zlib.gzipSync(big));
    } else if (request.url === '/head') {
      response.setHeader('x-big', big);
      response.end('ok');
    } else response.end('small');
  });
  const http = client(t, { maxResponseSize: 4096, maxHeaderSize: 2048 });
  for (const path of ['/length', '/chunked', '/gzip', '/head']) {
    await t.throwsAsync(http.get(`${served.base}${path}`), { code: 'ERR_PANTS_HTTP_RESPONSE_TOO_LARGE' }, path);
  }
  t.is((await http.get(`${served.base}/small`)).text(), 'small');
});

test('an IPv6 literal URL: connects to the address, sends Host with brackets', async (t) => {
  const server = http.createServer((request, response) => response.end(request.headers.host));
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const response = await client(t).get(`http://[::1]:${port}/`);
  t.is(response.text(), `[::1]:${port}`);
});

test('connection errors: ECONNREFUSED and ENOTFOUND', async (t) => {
  const closed = net.createServer();
  const port = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const http = client(t);
  await t.throwsAsync(http.get(`http://127.0.0.1:${port}/`), { code: 'ECONNREFUSED' });
  await t.throwsAsync(http.get('http://nowhere.invalid/'), { code: 'ENOTFOUND' });
  t.is(http.connectionCount, 0);
});

test('onResponse, onProgress and onError run as well as the promise', async (t) => {
  const body = Buffer.alloc(300000, 7);
  const served = await serve(t, (request, response) => {
    if (request.url === '/missing') {
      request.socket.destroy();
      return;
    }
    response.setHeader('content-length', body.length);
    response.end(body);
  });
  const seen: unknown[] = [];
  const progress: [number, number | null][] = [];
  class Watching extends HTTPClient {
    override onResponse(response: HTTPResponse) {
      seen.push(['response', response.status, response.body.length]);
    }
    override onProgress(response: HTTPResponse, received: number, total: number | null) {
      progress.push([received, total]);
    }
    override onError(error: Error) {
      seen.push(['error', (error as { code?: string }).code]);
    }
  }
  const engine = startedEngine(t);
  const http = new Watching({ engine });
  t.teardown(() => http.close());
  const response = await http.get(served.base);
  t.is(response.body.length, body.length);
  t.deepEqual(progress[0], [0, body.length]);
  t.deepEqual(progress[progress.length - 1], [body.length, body.length]);
  t.true(progress.every(([received], i) => i === 0 || received > progress[i - 1][0]));
  await t.throwsAsync(http.get(`${served.base}/missing`), { code: 'ECONNRESET' });
  // onError handles errors: an uncaught request promise is no unhandled rejection.
  void http.get(`${served.base}/missing`);
  await waitFor(() => seen.length === 3);
  t.deepEqual(seen, [['response', 200, body.length], ['error', 'ECONNRESET'], ['error', 'ECONNRESET']]);
});

test('onData streams a large body without keeping it', async (t) => {
  const body = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
  const served = await serve(t, (request, response) => response.end(body));
  const hash = createHash('sha256');
  let pieces = 0;
  const response = await client(t).get(served.base, {
    onData: (piece) => {
      pieces++;
      hash.update(piece);
    },
  });
  t.is(response.body.length, 0);
  t.true(pieces > 1);
  t.is(hash.digest('hex'), createHash('sha256').update(body).digest('hex'));
});

/** `size` bytes that differ from offset to offset (and from `seed` to `seed`). */
function numbered(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return bytes;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Writes `body` in `piece`-byte writes, each after the last has drained and a turn of the event loop. */
function trickle(socket: net.Socket, body: Buffer, piece: number): void {
  let at = 0;
  const next = (): void => {
    if (socket.destroyed || at >= body.length) return;
    const end = Math.min(at + piece, body.length);
    const flushed = socket.write(body.subarray(at, end));
    at = end;
    if (flushed) setImmediate(next);
    else socket.once('drain', next);
  };
  next();
}

test('large bodies of known length arrive whole and in step on one kept-alive connection, sent fast or in pieces', async (t) => {
  const bodies = [numbered(5 * 1024 * 1024 + 3, 1), numbered(70000, 2), numbered(1 << 20, 3)];
  let requests = 0;
  const served = await raw(t, (socket) =>
    onHead(socket, (head) => {
      const index = Number(/^GET \/(\d+)/.exec(head)![1]);
      requests++;
      if (index === 3) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall');
        return;
      }
      const body = bodies[index];
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      // The head alone first; then the body all at once, or in pieces that arrive one poll at a time.
      if (requests % 2 === 1) socket.write(body);
      else trickle(socket, body, 9000);
    }),
  );
  const http = client(t);
  for (let round = 0; round < 2; round++) {
    for (const [index, body] of bodies.entries()) {
      const response = await http.get(`${served.base}/${index}`);
      t.is(response.body.length, body.length);
      t.is(sha256(response.body), sha256(body), `body ${index}, round ${round}`);
    }
    t.is((await http.get(`${served.base}/3`)).text(), 'small');
  }
  t.is(served.accepted(), 1, 'one connection for every response');
  // Over TLS the same.
  const certs = makeCerts();
  t.teardown(() => removeCerts(certs));
  const tlsBody = numbered(3 * 1024 * 1024 + 1, 4);
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (request, response) => {
    response.setHeader('content-length', tlsBody.length);
    response.end(tlsBody);
  });
  const secure = track(t, server, 'https', await listen(server));
  const trusted = client(t, { sslOptions: { ca: certs.ca } });
  for (let round = 0; round < 3; round++) t.is(sha256((await trusted.get(secure.base)).body), sha256(tlsBody));
  t.is(secure.accepted(), 1);
});

test('a server closing in the middle of a large body of known length: ECONNRESET, and the pool stays healthy', async (t) => {
  const body = numbered(400000, 5);
  let calls = 0;
  const served = await raw(t, (socket) =>
    onHead(socket, () => {
      calls++;
      if (calls === 1) {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 1}\r\n\r\n`);
        socket.end(body);
      } else {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        trickle(socket, body, 65536);
      }
    }),
  );
  const http = client(t);
  await t.throwsAsync(http.get(served.base), { code: 'ECONNRESET' });
  t.is(sha256((await http.get(served.base)).body), sha256(body));
  t.is(http.connectionCount, 1);
});

test('https: verified by default against sslOptions.ca; an untrusted server fails with a TLS code', async (t) => {
  const certs = makeCerts();
  t.teardown(() => removeCerts(certs));
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (request, response) => response.end(`secure ${request.url}`));
  const served = track(t, server, 'https', await listen(server));
  const trusted = client(t, { sslOptions: { ca: certs.ca } });
  t.is((await trusted.get(`${served.base}/a`)).text(), 'secure /a');
  t.is((await trusted.get(`https://localhost:${served.port}/b`)).text(), 'secure /b');
  t.is((await trusted.get(`${served.base}/c`)).text(), 'secure /c');
  t.is(served.accepted(), 2, 'one connection per origin, reused');
  await t.throwsAsync(client(t).get(`${served.base}/`), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  await t.throwsAsync(client(t, { sslOptions: { ca: certs.ca, servername: 'wrong.example' } }).get(`${served.base}/`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  t.is((await client(t, { sslOptions: { rejectUnauthorized: false } }).get(`${served.base}/d`)).text(), 'secure /d');
});

test('no socket leaks: many requests of every kind leave no connection behind once closed', async (t) => {
  const served = await serve(t, (request, response) => {
    if (request.url === '/reset') request.socket.destroy();
    else response.end('ok');
  });
  const engine = startedEngine(t);
  const http = new HTTPClient({ engine, maxSockets: 4 });
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => http.get(`${served.base}/${i % 5 === 0 ? 'reset' : 'ok'}`)));
  t.is(results.filter((result) => result.status === 'fulfilled').length, 32);
  // Each reset costs its connection, and the retry of a request that was on a reused one another.
  t.true(served.accepted() <= 4 + 2 * 8, `${served.accepted()} connections`);
  http.close();
  await waitFor(() => served.open() === 0 && http.connectionCount === 0, 5000, 'every connection to close');
  t.is(countStreams(engine), 0);
});

/** Streams the engine still has open. */
function countStreams(engine: Engine): number {
  return engine.stats().channels;
}

test('examples/http_client: createTodo against the web_api example, and a Downloader to a file', async (t) => {
  const engine = startedEngine(t);
  const server = new HTTPServer(todoApp('secret'), { engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  const http = client(t, { headers: { 'X-Token': 'secret' } });
  const todo = (await createTodo(http, `http://127.0.0.1:${portOf(server)}`, 'write tests')) as { title: string; done: boolean };
  t.like(todo, { title: 'write tests', done: false });
  await t.throwsAsync(createTodo(http, `http://127.0.0.1:${portOf(server)}`, ''), { message: /^400 / });

  const body = Buffer.alloc(1 << 20, 'z');
  const served = await serve(t, (request, response) => response.end(body));
  const dir = mkdtempSync(join(tmpdir(), 'pants-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const downloader = new Downloader({ engine });
  t.teardown(() => downloader.close());
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    t.is(await downloader.download(served.base, join(dir, 'out')), body.length);
  } finally {
    process.stdout.write = write;
  }
  t.deepEqual(readFileSync(join(dir, 'out')), body);
});
