import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, startedEngine, waitFor } from './helpers.js';

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

test('engine.stats() counts channels, timers, bytes in and out, and iterations', async (t) => {
  const engine = startedEngine(t);
  const before = engine.stats();
  t.is(before.channels, 0);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const timer = engine.defer(60, () => {});
  t.teardown(() => timer());
  const client = await netClient(t, portOf(server));
  client.write('0123456789');
  await readBytes(client, 10);
  await waitFor(() => engine.stats().bytesOut >= 10);
  const after = engine.stats();
  t.is(after.channels, 2); // the listener and the accepted stream
  t.is(after.timers, 1);
  t.is(after.bytesIn, 10);
  t.is(after.bytesOut, 10);
  t.true(after.iterations > before.iterations);
});

test('PANTS_DEBUG=1 traces accepts, frames and closes through Engine.logger.debug, naming channels by class, fd and address', (t) => {
  const entry = join(__dirname, '..', '..', 'dist', 'index.js');
  const program = `
    const net = require('node:net');
    const { Engine, Server, Stream } = require(${JSON.stringify(entry)});
    const engine = new Engine();
    class Echo extends Stream { onRead(data) { this.write(data); } }
    const server = new Server(Echo, { engine }).listen(['127.0.0.1', 0]);
    void engine.start();
    const client = net.connect(server.localAddress[1], '127.0.0.1', () => client.end('traced'));
    client.resume();
    client.on('close', () => setTimeout(() => { server.close(); engine.stop(); }, 20));
  `;
  const result = spawnSync(process.execPath, ['-e', program], { env: { ...process.env, PANTS_DEBUG: '1' }, encoding: 'utf8', timeout: 10000 });
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /pants: Server fd \d+ \(on 127\.0\.0\.1:\d+\): accepted a connection \(fd \d+\)/);
  t.regex(result.stdout, /pants: Echo fd \d+ \(peer 127\.0\.0\.1:\d+\): a frame of 6 bytes for onRead/);
  t.regex(result.stdout, /pants: Echo fd \d+ \(peer 127\.0\.0\.1:\d+\): the peer ended the connection/);
  t.regex(result.stdout, /pants: Echo fd \d+ \(peer 127\.0\.0\.1:\d+\): closed/);
  // Nothing internal: no tokens, no raw event numbers.
  t.notRegex(result.stdout, /token|\{ a:/);
  const quiet = spawnSync(process.execPath, ['-e', program], { env: { ...process.env, PANTS_DEBUG: '' }, encoding: 'utf8', timeout: 10000 });
  t.notRegex(quiet.stdout, /pants:/);
});

