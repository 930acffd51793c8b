// The secure chat and UDP echo examples, against node:tls and node:dgram peers.
import test from 'ava';
import dgram from 'node:dgram';
import tls from 'node:tls';

import { Engine } from 'pants-net';

import { startSecureChat } from '../examples/secure_chat.js';
import { UdpEcho } from '../examples/udp_echo.js';
import { startedEngine } from './helpers.js';
import { makeCerts, removeCerts, TestCerts } from './tls-certs.js';

let certs: TestCerts | undefined;
test.before(() => {
  certs = makeCerts();
});
test.after.always(() => removeCerts(certs));

test('secure chat: a node:tls client joins, and its line comes back to it over TLS', async (t) => {
  // The example serves on the global engine, as the tutorial does.
  void Engine.instance().start();
  t.teardown(() => Engine.instance().stop());
  const server = startSecureChat(0, { cert: certs!.cert, key: certs!.key });
  t.teardown(() => server.close());
  const port = (server.localAddress as [string, number])[1];
  const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: certs!.ca });
  t.teardown(() => client.destroy());
  let received = '';
  const heard = new Promise<void>((resolve) => {
    client.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('127.0.0.1: over TLS\r\n')) resolve();
    });
  });
  client.once('secureConnect', () => client.write('over TLS\r\n'));
  await heard;
  t.true(client.authorized);
  t.true(received.startsWith('Connected: 127.0.0.1\r\n'));
});

test('UDP echo: a node:dgram packet comes back to its sender', async (t) => {
  const engine = startedEngine(t);
  const echo = new UdpEcho({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => echo.close());
  const port = (echo.localAddress as [string, number])[1];
  const client = dgram.createSocket('udp4');
  t.teardown(() => client.close());
  const reply = new Promise<Buffer>((resolve) => client.once('message', resolve));
  client.send('ping over udp', port, '127.0.0.1');
  t.is((await reply).toString(), 'ping over udp');
});
