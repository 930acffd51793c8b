// HTTPServer and HTTPRequest against real clients: fetch (undici), curl,
// Python's http.client, and raw node:net sockets for what clients will not
// send (pipelining, malformed and hostile requests).
import test, { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HTTPRequest, HTTPServer, HTTPServerOptions } from 'pants-net/http';

import { netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

const run = promisify(execFile);

/** An HTTPServer on its own started engine, on a free port; closed when the test ends. */
function serve(t: ExecutionContext, handler: (request: HTTPRequest) => unknown, options: HTTPServerOptions = {}): { server: HTTPServer; base: string; port: number } {
  const engine = startedEngine(t);
  const server = new HTTPServer(handler, { engine, ...options }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  const port = portOf(server);
  return { server, base: `http://127.0.0.1:${port}`, port };
}

/** Sends raw bytes and resolves with everything received until the server closes. */
async function rawExchange(t: ExecutionContext, port: number, ...parts: (string | Buffer)[]): Promise<string> {
  const socket = await netClient(t, port);
  const received = readToEnd(socket);
  for (const part of parts) socket.write(part);
  return (await received).toString('latin1');
}

/** The bodies of the responses in `text` (each response's bytes after its head), in order. */
function bodies(text: string): string[] {
  return text
    .split(/HTTP\/1\.[01] \d{3} [A-Za-z ]+\r\n/)
    .slice(1)
    .map((response) => response.slice(response.indexOf('\r\n\r\n') + 4));
}

/** The status codes of the responses in `text`, in order. */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) [A-Z]/g)].map((match) => Number(match[1]));
}

test('a GET through fetch: status, headers, body, and what the request saw', async (t) => {
  let seen: Record<string, unknown> = {};
  const { base } = serve(t, (request) => {
    seen = {
      method: request.method,
      url: request.url,
      protocol: request.protocol,
      path: request.path,
      query: request.query,
      get: { ...request.get },
      agent: request.headers.get('USER-AGENT'),
      host: request.hostname,
    };
    request.sendResponse('hello', 200, 'text/plain; charset=utf-8');
  });
  const response = await fetch(`${base}/a%20b/c?x=1&y=2&x=3`, { headers: { 'User-Agent': 'test-agent' } });
  t.is(response.status, 200);
  t.is(response.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(response.headers.get('content-length'), '5');
  t.truthy(response.headers.get('date'));
  t.is(await response.text(), 'hello');
  t.deepEqual(seen, {
    method: 'GET',
    url: '/a%20b/c?x=1&y=2&x=3',
    protocol: 'HTTP/1.1',
    path: '/a b/c',
    query: 'x=1&y=2&x=3',
    get: { x: ['1', '3'], y: '2' },
    agent: 'test-agent',
    host: '127.0.0.1',
  });
});

test('bodies: Content-Length and chunked uploads arrive whole; JSON, forms and files are parsed', async (t) => {
  const { base, port } = serve(t, (request) => {
    if (request.path === '/json') return request.sendJSON({ got: request.json() });
    if (request.path === '/form') return request.sendJSON({ post: request.post, files: Object.fromEntries(Object.entries(request.files).map(([k, v]) => [k, v.map((f) => [f.filename, f.body.toString()])])) });
    request.sendResponse(request.body);
  });
  t.is(await (await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(100_000) })).text(), 'x'.repeat(100_000));
  t.deepEqual(await (await fetch(`${base}/json`, { method: 'POST', body: JSON.stringify({ a: [1, 2] }) })).json(), { got: { a: [1, 2] } });
  const form = new FormData();
  form.append('field', 'value');
  form.append('doc', new Blob(['contents']), 'doc.txt');
  t.deepEqual(await (await fetch(`${base}/form`, { method: 'POST', body: form })).json(), { post: { field: 'value' }, files: { doc: [['doc.txt', 'contents']] } });
  t.deepEqual(await (await fetch(`${base}/form`, { method: 'POST', body: new URLSearchParams('a=1&a=2&b=%20') })).json(), { post: { a: ['1', '2'], b: ' ' }, files: {} });
  const chunked = await rawExchange(
    t,
    port,
    'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    '5\r\nhello\r\n',
    '7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n',
  );
  t.regex(chunked, /^HTTP\/1\.1 200 OK\r\n/);
  t.true(chunked.endsWith('\r\n\r\nhello, world'));
  t.is(await (await fetch(`${base}/json`, { method: 'POST', body: '{not json' })).status, 400);
});

test('keep-alive: several requests on one connection; Connection: close ends it', async (t) => {
  const { port } = serve(t, (request) => request.sendResponse(`you asked for ${request.path}`));
  const socket = await netClient(t, port);
  socket.write('GET /one HTTP/1.1\r\nHost: a\r\n\r\n');
  t.regex((await readBytes(socket, 1)).toString(), /you asked for \/one$/);
  const rest = readToEnd(socket);
  socket.write('GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const last = (await rest).toString();
  t.regex(last, /Connection: close\r\n/i);
  t.regex(last, /you asked for \/two$/);
});

test('pipelined requests are answered in order, also when an earlier handler answers later', async (t) => {
  const { port } = serve(t, (request) => {
    if (request.path === '/slow') {
      setTimeout(() => request.sendResponse('slow'), 100);
      return;
    }
    request.sendResponse(request.path.slice(1));
  });
  const text = await rawExchange(
    t,
    port,
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nPOST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  t.deepEqual(statuses(text), [200, 200, 200, 200]);
  t.deepEqual(bodies(text), ['slow', 'b', 'c', 'd']);
});

test('Expect: 100-continue is answered before the body is sent (curl)', async (t) => {
  const { base, port } = serve(t, (request) => request.sendResponse(`got ${request.body.length} bytes`));
  const { stdout } = await run('curl', ['-s', '-H', 'Expect: 100-continue', '--data-binary', 'x'.repeat(5000), `${base}/up`]);
  t.is(stdout, 'got 5000 bytes');
  const socket = await netClient(t, port);
  socket.write('PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
  t.is((await readBytes(socket, 25)).toString(), 'HTTP/1.1 100 Continue\r\n\r\n');
  socket.write('data');
  t.regex((await readBytes(socket, 1)).toString(), /^HTTP\/1\.1 200 OK[\s\S]*got 4 bytes$/);
});

test('bad requests get the contract status with Connection: close, after the good ones before them', async (t) => {
  const { port } = serve(t, (request) => request.sendResponse('ok'), { maxHeaderSize: 1024, maxRequest: 100 });
  const cases: [string, number][] = [
    ['GARBAGE\r\n\r\n', 400],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    [`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(2000)}\r\n\r\n`, 431],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n', 413],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n', 400],
    ['GET / HTTP/1.1\nHost: a\n\n', 400],
    ['GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n', 417],
    ['GET / HTTP/1.1\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
  ];
  for (const [request, status] of cases) {
    const text = await rawExchange(t, port, `GET /first HTTP/1.1\r\nHost: a\r\n\r\n${request}GET /never HTTP/1.1\r\nHost: a\r\n\r\n`);
    t.deepEqual(statuses(text), [200, status], JSON.stringify(request));
    t.regex(text.slice(text.lastIndexOf('HTTP/1.1')), /\r\nConnection: close\r\n/, JSON.stringify(request));
  }
});

test('a handler that throws or rejects gets a 500; the server goes on', async (t) => {
  const { base } = serve(t, async (request) => {
    if (request.path === '/throw') throw new Error('boom (expected by the test)');
    if (request.path === '/reject') {
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('late boom (expected by the test)');
    }
    request.sendResponse('fine');
  });
  t.is((await fetch(`${base}/throw`)).status, 500);
  t.is((await fetch(`${base}/reject`)).status, 500);
  t.is(await (await fetch(`${base}/ok`)).text(), 'fine');
});

test('a partial head gets 408 after headersTimeout; an idle connection closes after keepAliveTimeout', async (t) => {
  const { port } = serve(t, (request) => request.sendResponse('ok'), { headersTimeout: 0.3, keepAliveTimeout: 0.2 });
  const partial = await rawExchange(t, port, 'GET / HTTP/1.1\r\nHost: a\r\n');
  t.deepEqual(statuses(partial), [408]);
  const idle = await netClient(t, port);
  const closed = readToEnd(idle);
  idle.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.deepEqual(statuses((await closed).toString()), [200]);
});

test('HTTP/1.0: closes unless asked to keep alive; a streamed body is close-delimited', async (t) => {
  const { port } = serve(t, (request) => {
    if (request.path === '/stream') {
      request.sendHeaders({ 'Content-Type': 'text/plain' });
      request.send('part one, ');
      request.send('part two');
      request.finish();
      return;
    }
    request.sendResponse('short');
  });
  const plain = await rawExchange(t, port, 'GET / HTTP/1.0\r\n\r\n');
  t.regex(plain, /^HTTP\/1\.0 200 OK\r\n/);
  t.regex(plain, /\r\nConnection: close\r\n/);
  t.deepEqual(bodies(plain), ['short']);
  const streamed = await rawExchange(t, port, 'GET /stream HTTP/1.0\r\n\r\n');
  t.notRegex(streamed, /Transfer-Encoding|Content-Length/i);
  t.true(streamed.endsWith('\r\n\r\npart one, part two'));
  const socket = await netClient(t, port);
  socket.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const first = (await readBytes(socket, 1)).toString();
  t.regex(first, /Connection: keep-alive\r\n/);
  const rest = readToEnd(socket);
  socket.write('GET / HTTP/1.0\r\n\r\n');
  t.deepEqual(statuses((await rest).toString()), [200]);
});

test('a streamed HTTP/1.1 response is chunked, with onDrain backpressure for a large body (curl)', async (t) => {
  const piece = Buffer.alloc(64 * 1024, 'p');
  const pieces = 128;
  const { base } = serve(t, (request) => {
    let sent = 0;
    request.sendHeaders({ 'Content-Type': 'application/octet-stream' });
    const pump = (): void => {
      while (sent < pieces) {
        sent += 1;
        if (!request.send(piece)) return request.onDrain(pump);
      }
      request.finish();
    };
    pump();
  });
  const { stdout } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '-w', '%{size_download}', `${base}/big`], { maxBuffer: 1 << 20 });
  t.regex(stdout, /Transfer-Encoding: chunked/i);
  t.true(stdout.endsWith(String(piece.length * pieces)));
});

test('HEAD gets the headers GET would, without a body', async (t) => {
  const { port } = serve(t, (request) => request.sendResponse('twelve bytes'));
  const text = await rawExchange(t, port, 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  t.deepEqual(statuses(text), [200, 200]);
  const [head] = text.split('HTTP/1.1 200 OK').slice(1);
  t.regex(head, /Content-Length: 12\r\n/);
  t.true(head.endsWith('\r\n\r\n'));
  t.true(text.endsWith('twelve bytes'));
});

test('sendFile: ETag and Last-Modified, 304, ranges and multipart ranges, 416, 404 (curl)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pants-http-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'data.txt');
  writeFileSync(file, '0123456789abcdefghij');
  utimesSync(file, 1_700_000_000, 1_700_000_000);
  const { base } = serve(t, (request) => request.sendFile(request.path === '/missing' ? join(dir, 'nope') : request.path === '/dir' ? dir : file));
  const full = await fetch(`${base}/f`);
  t.is(full.status, 200);
  t.is(full.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(full.headers.get('accept-ranges'), 'bytes');
  t.is(full.headers.get('last-modified'), new Date(1_700_000_000_000).toUTCString());
  const etag = full.headers.get('etag') ?? '';
  t.is(await full.text(), '0123456789abcdefghij');
  t.is((await fetch(`${base}/f`, { headers: { 'If-None-Match': etag } })).status, 304);
  t.is((await fetch(`${base}/f`, { headers: { 'If-Modified-Since': new Date(1_700_000_000_000).toUTCString() } })).status, 304);
  const { stdout: one } = await run('curl', ['-s', '-r', '2-5', `${base}/f`]);
  t.is(one, '2345');
  const partial = await fetch(`${base}/f`, { headers: { Range: 'bytes=-3' } });
  t.is(partial.status, 206);
  t.is(partial.headers.get('content-range'), 'bytes 17-19/20');
  t.is(await partial.text(), 'hij');
  const multi = await fetch(`${base}/f`, { headers: { Range: 'bytes=0-1,10-11' } });
  t.is(multi.status, 206);
  const boundary = /boundary=(\w+)/.exec(multi.headers.get('content-type') ?? '')?.[1];
  const body = await multi.text();
  t.is(body.length, Number(multi.headers.get('content-length')));
  t.is(body, `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/20\r\n\r\n01\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-11/20\r\n\r\nab\r\n--${boundary}--\r\n`);
  const unsatisfiable = await fetch(`${base}/f`, { headers: { Range: 'bytes=50-' } });
  t.is(unsatisfiable.status, 416);
  t.is(unsatisfiable.headers.get('content-range'), 'bytes */20');
  t.is((await fetch(`${base}/f`, { headers: { Range: 'bytes=0-1', 'If-Range': '"other"' } })).status, 200);
  t.is((await fetch(`${base}/missing`)).status, 404);
  t.is((await fetch(`${base}/dir`)).status, 403);
  const { stdout: head } = await run('curl', ['-s', '-I', `${base}/f`]);
  t.regex(head, /Content-Length: 20\r\n/);
});

test('cookies and signed cookies round-trip; a tampered signed cookie reads as null', async (t) => {
  const { base } = serve(
    t,
    (request) => {
      if (request.path === '/set') {
        request.setCookie('plain', 'a b');
        request.setSecureCookie('user', 'alice');
        return request.sendResponse('set');
      }
      request.sendJSON({ plain: request.cookies.plain ?? null, user: request.getSecureCookie('user') });
    },
    { cookieSecret: 'test secret' },
  );
  const set = await fetch(`${base}/set`);
  const cookies = set.headers.getSetCookie().map((line) => line.split(';')[0]);
  t.is(cookies.length, 2);
  t.deepEqual(await (await fetch(`${base}/read`, { headers: { Cookie: cookies.join('; ') } })).json(), { plain: 'a b', user: 'alice' });
  const forged = cookies[1].replace(/^user=[^.]+/, `user=${Buffer.from('mallory').toString('base64url')}`);
  t.deepEqual(await (await fetch(`${base}/read`, { headers: { Cookie: forged } })).json(), { plain: null, user: null });
});

test("Python's http.client: keep-alive requests and a chunked upload on one connection", async (t) => {
  const { port } = serve(t, (request) => request.sendResponse(`${request.method} ${request.body.length}`));
  const script = `
import http.client
c = http.client.HTTPConnection('127.0.0.1', ${port})
out = []
for body in [None, b'abc']:
    c.request('POST' if body else 'GET', '/', body=body)
    r = c.getresponse(); out.append(r.read().decode())
c.request('POST', '/', body=iter([b'ab', b'cde']), headers={'Transfer-Encoding': 'chunked'}, encode_chunked=True)
r = c.getresponse(); out.append(r.read().decode())
print('|'.join(out))
`;
  const { stdout } = await run('python3', ['-c', script]);
  t.is(stdout.trim(), 'GET 0|POST 3|POST 5');
});

test('onClose runs when the client goes away before the response is finished', async (t) => {
  const closed = signal();
  const { port } = serve(t, (request) => request.onClose(() => closed.resolve()));
  const socket = await netClient(t, port);
  socket.write('GET /hang HTTP/1.1\r\nHost: a\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  await closed.promise;
  t.pass();
});

test('xheaders: remoteIp and scheme from the proxy headers only when trusted', async (t) => {
  const handler = (request: HTTPRequest) => request.sendJSON([request.remoteIp, request.scheme]);
  const trusted = serve(t, handler, { xheaders: true });
  const headers = { 'X-Forwarded-For': '203.0.113.7, 10.0.0.1', 'X-Forwarded-Proto': 'https' };
  t.deepEqual(await (await fetch(trusted.base, { headers })).json(), ['203.0.113.7', 'https']);
  const plain = serve(t, handler);
  t.deepEqual(await (await fetch(plain.base, { headers })).json(), ['127.0.0.1', 'http']);
});

test('many connections with many requests each: every response arrives, no connection is left behind', async (t) => {
  const { server, base } = serve(t, (request) => request.sendResponse(request.url));
  const urls = Array.from({ length: 400 }, (_, n) => `${base}/n/${n}`);
  const bodies = await Promise.all(urls.map(async (url) => (await fetch(url)).text()));
  t.deepEqual(bodies, urls.map((url) => url.slice(base.length)));
  await waitFor(() => server.channels.size <= 64, 10_000, 'idle keep-alive connections to stay bounded');
  t.pass();
});

test('HTTPServer options are validated', (t) => {
  const handler = (request: HTTPRequest) => request.finish();
  t.throws(() => new HTTPServer(handler, { keepAliveTimeout: 0 }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_SETTING' } as never);
  t.throws(() => new HTTPServer(handler, { maxHeaderSize: 1.5 }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_SETTING' } as never);
  t.throws(() => new HTTPServer(42 as never), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_ARGUMENT' } as never);
});
