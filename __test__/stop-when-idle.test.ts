// Engine.stopWhenIdle: a client script ends when its work is done, as a
// node:net client does; without it the engine keeps the process alive.
import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { Engine, Stream } from 'pants-net';

import { signal } from './helpers.js';

const ROOT = join(__dirname, '..', '..');

/** A node:net echo server on a free port, closed when the test ends. */
async function echoServer(t: import('ava').ExecutionContext): Promise<number> {
  const server = net.createServer((socket) => socket.pipe(socket));
  t.teardown(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Runs a client script against `port`; resolves with its exit code and output, or 'running' if it is still alive after `waitMs`. */
function runClient(port: number, stopWhenIdle: boolean, waitMs: number): Promise<{ code: number | 'running'; out: string }> {
  const script = `
const { Engine, Stream } = require('pants-net');
class Client extends Stream {
  onConnect() { this.write('ping'); }
  onRead(data) { console.log(String(data)); this.close(); }
}
const engine = Engine.instance();
engine.stopWhenIdle = ${stopWhenIdle};
engine.start().then(() => console.log('stopped'));
setTimeout(() => new Client().connect(['127.0.0.1', ${port}]), 20);
`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve({ code: 'running', out });
    }, waitMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

test('a client script with stopWhenIdle exits once its connection closes; without it, it keeps running', async (t) => {
  const port = await echoServer(t);
  const stopping = await runClient(port, true, 20_000);
  t.is(stopping.code, 0, stopping.out);
  t.is(stopping.out, 'ping\nstopped\n');
  const running = await runClient(port, false, 1500);
  t.is(running.code, 'running', running.out);
  t.is(running.out, 'ping\n');
});

test('stopWhenIdle waits for pending deferreds, and for a connect made after start()', async (t) => {
  const port = await echoServer(t);
  const engine = new Engine();
  engine.stopWhenIdle = true;
  const stopped = engine.start();
  t.teardown(() => engine.stop());
  const order: string[] = [];
  const closed = signal();
  engine.defer(0.05, () => {
    order.push('deferred');
    class Client extends Stream {
      override onConnect(): void {
        this.write('x');
      }
      override onRead(): void {
        order.push('echo');
        this.close();
      }
      override onClose(): void {
        closed.resolve();
      }
    }
    new Client({ engine }).connect(['127.0.0.1', port]);
  });
  await stopped;
  await closed.promise;
  t.deepEqual(order, ['deferred', 'echo']);
  t.false(engine.running);
});
