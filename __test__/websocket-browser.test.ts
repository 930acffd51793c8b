// A real browser against Pants WebSockets: headless Debian `chromium` opens
// a page served by an Application on HTTPServer; the page's script talks to
// WebSocket routes (echo, a 1 MiB message both ways, a route argument,
// subprotocol, compression, the close code and reason) and POSTs what it saw
// back to the application, which the test reads. The browser is killed at
// the end. `chromium` must be installed (.ci/run does it): without it these
// tests fail, they do not skip.
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTPRequest } from 'pants-net/http';
import { Application } from 'pants-net/web';

import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';
import { Deferred, EchoRecording, instancesOf, Recording, within, wsServe } from './ws-helpers.js';

let certs!: TestCerts;

test.before(() => {
  const check = spawnSync('chromium', ['--version'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`the browser tests need Debian's chromium: apt-get install -y chromium (${check.error?.message ?? check.stderr})`);
  certs = makeCerts();
});

test.after.always(() => removeCerts(certs));

/** The page: runs the steps against `ws(s)://<host>/<path>` and POSTs the results to /result. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>pants ws</title></head>
<body><pre id="out">running</pre>
<script>
const out = { steps: [] };
const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
function pattern(size) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 255;
  return bytes;
}
function sum(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s * 33 + bytes[i]) >>> 0;
  return s;
}
function run(path, protocols) {
  return new Promise((resolve) => {
    const result = { path, received: [] };
    const ws = new WebSocket(scheme + '//' + location.host + path, protocols);
    ws.binaryType = 'arraybuffer';
    const big = pattern(1024 * 1024);
    const bigText = 'ü'.repeat(512 * 1024);
    let step = 0;
    ws.onopen = () => {
      result.protocol = ws.protocol;
      result.extensions = ws.extensions;
      ws.send('hello ✓');
    };
    ws.onmessage = (event) => {
      const data = event.data;
      if (typeof data === 'string') result.received.push({ type: 'text', length: data.length, value: data.length < 100 ? data : undefined, same: data === bigText });
      else result.received.push({ type: 'binary', length: data.byteLength, sum: sum(new Uint8Array(data)) });
      step += 1;
      if (step === 1) ws.send(big.buffer);
      else if (step === 2) ws.send(bigText);
      else if (step === 3) ws.send(new Uint8Array([1, 2, 3]));
      else if (step === 4) ws.close(4000, 'browser bye');
    };
    ws.onerror = () => (result.error = true);
    ws.onclose = (event) => {
      result.close = [event.code, event.reason, event.wasClean];
      result.expectedSum = sum(big);
      resolve(result);
    };
  });
}
(async () => {
  try {
    out.steps.push(await run('/echo/room-1', ['browser-proto', 'other']));
    out.steps.push(await run('/deflate/room-2', []));
  } catch (error) {
    out.error = String(error);
  }
  document.getElementById('out').textContent = JSON.stringify(out);
  await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
})();
</script></body></html>`;

class Echo extends EchoRecording {
  constructor(...args: any[]) {
    super(...args);
    this.protocols = ['browser-proto'];
  }
}

class Deflate extends EchoRecording {
  constructor(...args: any[]) {
    super(...args);
    this.compression = true;
  }
}

/** Starts headless chromium on `url`; killed (and its profile removed) when the test ends. */
function browse(t: ExecutionContext, url: string, extra: string[] = []): { stderr: () => string } {
  const profile = mkdtempSync(join(tmpdir(), 'pants-chromium-'));
  const child = spawn(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', `--user-data-dir=${profile}`, ...extra, url],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the browser and its helper processes
      } catch {
        child.kill('SIGKILL');
      }
      await within(exited, 10_000, 'chromium to exit').catch(() => {});
    }
    rmSync(profile, { recursive: true, force: true });
  });
  return { stderr: () => stderr };
}

interface StepResult {
  path: string;
  protocol: string;
  extensions: string;
  received: { type: string; length: number; value?: string; same?: boolean; sum?: number }[];
  close: [number, string, boolean];
  expectedSum: number;
  error?: boolean;
}

async function runPage(t: ExecutionContext, secure: boolean): Promise<{ steps: StepResult[]; error?: string }> {
  const result = new Deferred<{ steps: StepResult[]; error?: string }>();
  const app = new Application();
  app.route('/', () => PAGE);
  app.route('/echo/<room>', Echo);
  app.route('/deflate/<room>', Deflate);
  app.route(
    '/result',
    (request: HTTPRequest) => {
      result.resolve(request.json() as { steps: StepResult[]; error?: string });
      return 'thanks';
    },
    { methods: ['POST'] },
  );
  const { port } = wsServe(t, app, secure ? { sslOptions: { cert: certs.cert, key: certs.key } } : {});
  const browser = browse(t, `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`, secure ? ['--ignore-certificate-errors'] : []);
  try {
    return await within(result.promise, 90_000, 'the page to report');
  } catch (error) {
    t.log(browser.stderr());
    throw error;
  }
}

function checkSteps(t: ExecutionContext, outcome: { steps: StepResult[]; error?: string }): void {
  t.is(outcome.error, undefined);
  const [echo, deflate] = outcome.steps;
  for (const step of [echo, deflate]) {
    t.falsy(step.error, `${step.path}: onerror`);
    t.deepEqual(step.received[0], { type: 'text', length: 7, value: 'hello ✓', same: false }, step.path);
    t.deepEqual(step.received[1], { type: 'binary', length: 1024 * 1024, sum: step.expectedSum }, step.path);
    t.like(step.received[2], { type: 'text', length: 512 * 1024, same: true }, step.path);
    t.like(step.received[3], { type: 'binary', length: 3 }, step.path);
    t.is(step.close[0], 4000, `${step.path}: the server's answering close frame echoes the code`);
    t.true(step.close[2], `${step.path}: wasClean`);
  }
  t.is(echo.protocol, 'browser-proto');
  t.is(echo.extensions, '');
  t.is(deflate.protocol, '');
  t.regex(deflate.extensions, /^permessage-deflate/);
  const [server] = instancesOf(Echo);
  t.deepEqual(server.connectArgs, ['room-1']);
  t.deepEqual(server.closeArgs, [4000, 'browser bye']);
  t.is(server.protocol, 'browser-proto');
  const [deflated] = instancesOf(Deflate);
  t.deepEqual(deflated.connectArgs, ['room-2']);
  t.regex(deflated.extensions, /^permessage-deflate/);
  t.deepEqual(deflated.closeArgs, [4000, 'browser bye']);
}

test.serial('headless chromium: a page from an Application talks to WebSocket routes over ws:// (echo, 1 MiB both ways, protocol, compression, close)', async (t) => {
  t.timeout(120_000);
  checkSteps(t, await runPage(t, false));
});

test.serial('headless chromium: the same over https:// and wss:// from a Pants TLS server', async (t) => {
  t.timeout(120_000);
  Recording.all.splice(0); // the checks look at the first instances of each class
  checkSteps(t, await runPage(t, true));
});
