// pants-net/web against fetch and curl: routes and converters, handler results,
// abort/redirect/urlFor, middleware, 404/405/OPTIONS/HEAD, and FileServer's
// confinement to its root.
import test, { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HTTPServer } from 'pants-net/http';
import { abort, Application, FileServer, redirect, Response } from 'pants-net/web';

import { netClient, portOf, readToEnd, startedEngine } from './helpers.js';

const run = promisify(execFile);

function serve(t: ExecutionContext, handler: Application | FileServer): { base: string; port: number } {
  const engine = startedEngine(t);
  const server = new HTTPServer(handler, { engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  const port = portOf(server);
  return { base: `http://127.0.0.1:${port}`, port };
}

test('rules and converters pass typed values; results become responses', async (t) => {
  const app = new Application();
  app.route('/', () => 'Hello, world!');
  app.route('/html', () => '<p>hi</p>');
  app.route('/user/<int:id>', (_request, id: number) => ({ id, type: typeof id }));
  app.route('/price/<float:amount>', (_request, amount: number) => [amount * 2]);
  app.route('/files/<path:rest>', async (_request, rest: string) => [`file ${rest}`, 201, { 'X-A': 'b' }]);
  app.route('/pick/<any(red,green):colour>', (_request, colour: string) => colour);
  app.route('/code/<regex("[a-z]{3}(-[0-9]+)?"):code>/<name>', (_request, code: string, name: string) => `${code}:${name}`);
  app.route('/bytes', () => Buffer.from([1, 2, 3]));
  app.route('/answer', () => new Response('teapot', 418, { 'X-Tea': 'yes' }));
  const { base } = serve(t, app);
  const hello = await fetch(`${base}/`);
  t.is(hello.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(await hello.text(), 'Hello, world!');
  t.is((await fetch(`${base}/html`)).headers.get('content-type'), 'text/html; charset=utf-8');
  t.deepEqual(await (await fetch(`${base}/user/42`)).json(), { id: 42, type: 'number' });
  t.is((await fetch(`${base}/user/abc`)).status, 404);
  t.deepEqual(await (await fetch(`${base}/price/1.25`)).json(), [2.5]);
  const file = await fetch(`${base}/files/a/b%20c.txt`);
  t.is(file.status, 201);
  t.is(file.headers.get('x-a'), 'b');
  t.is(await file.text(), 'file a/b c.txt');
  t.is(await (await fetch(`${base}/pick/green`)).text(), 'green');
  t.is((await fetch(`${base}/pick/blue`)).status, 404);
  t.is(await (await fetch(`${base}/code/abc-12/x`)).text(), 'abc-12:x');
  t.deepEqual([...new Uint8Array(await (await fetch(`${base}/bytes`)).arrayBuffer())], [1, 2, 3]);
  const tea = await fetch(`${base}/answer`);
  t.is(tea.status, 418);
  t.is(tea.headers.get('x-tea'), 'yes');
});

test('404, 405 with Allow, OPTIONS, and HEAD served by GET routes', async (t) => {
  const app = new Application();
  app.route('/thing', () => 'got it');
  app.route('/thing', () => 'posted', { methods: ['POST'] });
  const { base, port } = serve(t, app);
  t.is((await fetch(`${base}/nothing`)).status, 404);
  const wrong = await fetch(`${base}/thing`, { method: 'DELETE' });
  t.is(wrong.status, 405);
  t.is(wrong.headers.get('allow'), 'GET, HEAD, OPTIONS, POST');
  const options = await fetch(`${base}/thing`, { method: 'OPTIONS' });
  t.is(options.status, 200);
  t.is(options.headers.get('allow'), 'GET, HEAD, OPTIONS, POST');
  t.is(await (await fetch(`${base}/thing`, { method: 'POST' })).text(), 'posted');
  const socket = await netClient(t, port);
  const text = readToEnd(socket);
  socket.write('HEAD /thing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const head = (await text).toString();
  t.regex(head, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(head, /Content-Length: 6\r\n/);
  t.true(head.endsWith('\r\n\r\n'));
});

test('abort, redirect, urlFor and HTTPException', async (t) => {
  const app = new Application();
  app.route('/secret', () => abort(403, 'keep out'));
  app.route('/old', () => redirect('/new'));
  app.route('/moved', () => redirect('/new', 301));
  app.route('/user/<int:id>/<name>', function profile() {
    return 'profile';
  });
  app.route('/link', () => app.urlFor('profile', { id: 7, name: 'a b', tab: 'x' }));
  const { base } = serve(t, app);
  const secret = await fetch(`${base}/secret`);
  t.is(secret.status, 403);
  t.is(await secret.text(), 'keep out');
  const old = await fetch(`${base}/old`, { redirect: 'manual' });
  t.is(old.status, 302);
  t.is(old.headers.get('location'), '/new');
  t.is((await fetch(`${base}/moved`, { redirect: 'manual' })).status, 301);
  t.is(await (await fetch(`${base}/link`)).text(), '/user/7/a%20b?tab=x');
  t.throws(() => app.urlFor('profile', { id: 'x', name: 'n' }), { instanceOf: TypeError });
  t.throws(() => app.urlFor('nobody'), { instanceOf: TypeError });
  t.throws(() => app.route('/bad/<nope:x>', () => ''), { instanceOf: TypeError });
  t.throws(() => app.route('no-slash', () => ''), { instanceOf: TypeError });
});

test('middleware wraps every handler, outermost first, and may answer itself', async (t) => {
  const app = new Application();
  const order: string[] = [];
  app.use(async (request, next) => {
    order.push(`outer in ${request.path}`);
    const result = await next();
    order.push('outer out');
    return result;
  });
  app.use((request, next) => (request.headers.get('authorization') === 'yes' ? next() : [`denied`, 401]));
  app.route('/private', () => {
    order.push('handler');
    return 'welcome';
  });
  const { base } = serve(t, app);
  t.is((await fetch(`${base}/private`)).status, 401);
  t.is(await (await fetch(`${base}/private`, { headers: { Authorization: 'yes' } })).text(), 'welcome');
  t.deepEqual(order, ['outer in /private', 'outer out', 'outer in /private', 'handler', 'outer out']);
});

test('a handler that throws gets a 500 and the application goes on', async (t) => {
  const app = new Application();
  app.route('/boom', () => {
    throw new Error('boom (expected by the test)');
  });
  app.route('/fine', () => 'fine');
  const { base } = serve(t, app);
  t.is((await fetch(`${base}/boom`)).status, 500);
  t.is(await (await fetch(`${base}/fine`)).text(), 'fine');
});

test('FileServer: files, index, escaped listings, redirects, and nothing outside its root', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pants-web-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'site'));
  writeFileSync(join(root, 'a.txt'), 'file a');
  writeFileSync(join(root, 'site', 'index.html'), '<h1>site</h1>');
  writeFileSync(join(root, 'sub', '<b>&.txt'), 'x');
  writeFileSync(join(root, '.hidden'), 'secret');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  symlinkSync(join(dir, 'outside.txt'), join(root, 'escape.txt'));
  const app = new Application();
  app.route('/', () => 'app');
  new FileServer(root).attach(app, '/static/');
  const { base, port } = serve(t, app);
  t.is(await (await fetch(`${base}/static/a.txt`)).text(), 'file a');
  t.is(await (await fetch(`${base}/static/site/`)).text(), '<h1>site</h1>');
  const redirected = await fetch(`${base}/static/site`, { redirect: 'manual' });
  t.is(redirected.status, 301);
  t.is(redirected.headers.get('location'), '/static/site/');
  const listing = await (await fetch(`${base}/static/sub/`)).text();
  t.true(listing.includes('&#60;b&#62;&#38;.txt'));
  t.false(listing.includes('<b>&'));
  t.is((await fetch(`${base}/static/missing.txt`)).status, 404);
  t.is((await fetch(`${base}/static/.hidden`)).status, 403);
  t.is((await fetch(`${base}/static/escape.txt`)).status, 403);
  // Clients normalise `..` away: send them raw, plain and percent-encoded.
  for (const path of ['/static/../../outside.txt', '/static/%2e%2e/%2e%2e/outside.txt', '/static/sub/..%2f..%2foutside.txt']) {
    const socket = await netClient(t, port);
    const answer = readToEnd(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec((await answer).toString())?.[1]);
    t.true(status === 403 || status === 404, `${path}: ${status}`);
    t.false((await answer).toString().includes('outside'), path);
  }
  const { stdout } = await run('curl', ['-s', '--path-as-is', `${base}/static/../a.txt`]);
  t.false(stdout.includes('file a') && stdout.includes('outside'));
  const bare = new FileServer(root, { listing: false });
  const files = serve(t, bare);
  t.is((await fetch(`${files.base}/sub/`)).status, 403);
  t.is(await (await fetch(`${files.base}/a.txt`)).text(), 'file a');
});
