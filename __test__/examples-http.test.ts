// The HTTP examples of the README, served for real and asked with fetch.
import test, { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTPHandler, HTTPServer } from 'pants-net/http';

import { hello } from '../examples/http_hello.js';
import { todoApp } from '../examples/web_api.js';
import { siteApp } from '../examples/web_static.js';
import { portOf, startedEngine } from './helpers.js';

function serve(t: ExecutionContext, handler: HTTPHandler): string {
  const server = new HTTPServer(handler, { engine: startedEngine(t) }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  return `http://127.0.0.1:${portOf(server)}`;
}

test('http_hello answers every path', async (t) => {
  const base = serve(t, hello);
  t.is(await (await fetch(`${base}/there`)).text(), 'Hello from /there\n');
});

test('web_api: create, read and complete todos; the token guards changes', async (t) => {
  const base = serve(t, todoApp('secret'));
  const post = (path: string, body?: unknown, token = 'secret') =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'X-Token': token }, body: body === undefined ? undefined : JSON.stringify(body) });
  t.is((await post('/todos', { title: 'x' }, 'wrong')).status, 401);
  t.is((await post('/todos', { title: '' })).status, 400);
  const created = await post('/todos', { title: 'write docs' });
  t.is(created.status, 201);
  t.is(created.headers.get('location'), '/todos/1');
  t.deepEqual(await created.json(), { id: 1, title: 'write docs', done: false });
  t.deepEqual(await (await post('/todos/1/done')).json(), { id: 1, title: 'write docs', done: true });
  t.deepEqual(await (await fetch(`${base}/todos`)).json(), [{ id: 1, title: 'write docs', done: true }]);
  t.is((await fetch(`${base}/todos/9`)).status, 404);
  t.is((await fetch(`${base}/todos/1`, { method: 'DELETE', headers: { 'X-Token': 'secret' } })).status, 405);
});

test('web_static serves the page and the files beside it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pants-static-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'style.css'), 'body { margin: 0 }');
  const base = serve(t, siteApp(root));
  t.regex(await (await fetch(`${base}/`)).text(), /Welcome/);
  const css = await fetch(`${base}/static/style.css`);
  t.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
  t.is(await css.text(), 'body { margin: 0 }');
  t.regex(await (await fetch(`${base}/static/`)).text(), /style\.css/);
});
