// The user guide's tutorial, as TypeScript programs in examples/, against node:net clients.
import test from 'ava';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { Server } from 'pants-net';

import { BlockEcho } from '../examples/block_echo.js';
import { EchoLineToAllServer } from '../examples/chat.js';
import { ChatClient } from '../examples/client.js';
import { Echo } from '../examples/echo.js';
import { closeAtEnd, netClient, portOf, readBytes, startedEngine, waitFor } from './helpers.js';

/** Reads from `socket` until `text` has arrived; resolves with everything read. */
function readUntil(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes(text)) {
        socket.off('data', onData);
        resolve(received);
      }
    };
    socket.on('data', onData);
  });
}

test('echo: everything a client sends comes right back', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server({ ConnectionClass: Echo, engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('Hello, Pants!\r\n');
  t.is((await readBytes(client, 15)).toString(), 'Hello, Pants!\r\n');
});

test('block echo: input comes back in blocks of 8 bytes, each followed by CRLF', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server({ ConnectionClass: BlockEcho, engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('12345');
  client.write('6789abcdefghij');
  t.is((await readBytes(client, 20)).toString(), '12345678\r\n9abcdefg\r\n');
});

test('chat: every line goes to every client, with connects and disconnects announced', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new EchoLineToAllServer({ engine }).listen(['127.0.0.1', 0]));
  const alice = await netClient(t, portOf(server));
  await readUntil(alice, 'Connected: 127.0.0.1\r\n');
  const bob = await netClient(t, portOf(server));
  await readUntil(alice, 'Connected: 127.0.0.1\r\n');
  await readUntil(bob, 'Connected: 127.0.0.1\r\n');
  const aliceHears = readUntil(alice, '127.0.0.1: hi all\r\n');
  const bobHears = readUntil(bob, '127.0.0.1: hi all\r\n');
  bob.write('hi all\r\n');
  await Promise.all([aliceHears, bobHears]);
  const goodbye = readUntil(alice, 'Disconnected: 127.0.0.1\r\n');
  bob.destroy();
  await goodbye;
  await waitFor(() => server.channels.size === 1);
  t.pass();
});

test('client: a Pants client with connect() talks to the chat server', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new EchoLineToAllServer({ engine }).listen(['127.0.0.1', 0]));
  const client = new ChatClient('hello from the client', { engine: engine }).connect(['localhost', portOf(server)]);
  await waitFor(() => client.lines.includes('127.0.0.1: hello from the client'), 5000, 'the echoed line');
  t.true(client.lines[0].startsWith('Connected: '));
});

test('npm start runs the chat server on port 4040 (PORT overrides it)', async (t) => {
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const child = spawn(process.execPath, [join(__dirname, '..', 'examples', 'chat.js')], { env: { ...process.env, PORT: String(port) } });
  t.teardown(() => child.kill());
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const client = await netClient(t, port);
  client.write('telnet works\r\n');
  t.true((await readUntil(client, 'telnet works\r\n')).includes('127.0.0.1: telnet works'));
});
