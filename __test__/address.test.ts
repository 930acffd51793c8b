// A string of decimal digits is a port (API.md, Addresses), as node:net reads
// `listen(process.env.PORT)`: TCP or UDP on every IPv4 interface, never a
// UNIX socket file named after the port.
import test from 'ava';
import dgram from 'node:dgram';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Datagram, InvalidAddressFormatError, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

/** A TCP port nobody listens on just now. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Returns an assertion that no file named `name` appeared in the working directory; one that did is removed at the end. */
function noFileNamed(t: import('ava').ExecutionContext, name: string): () => void {
  const existed = existsSync(name);
  if (!existed) t.teardown(() => rmSync(name, { force: true }));
  return () => t.false(!existed && existsSync(name), `a file named ${name} was created`);
}

test("Server.listen('0') listens on an ephemeral TCP port on every IPv4 interface", async (t) => {
  const noFile = noFileNamed(t, '0');
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen('0'));
  t.deepEqual(server.localAddress, ['0.0.0.0', portOf(server)]);
  t.true(portOf(server) > 0);
  const client = await netClient(t, portOf(server));
  client.write('digits');
  t.is((await readBytes(client, 6)).toString(), 'digits');
  noFile();
});

test('Server.listen(process.env.PORT-style digits) listens on that TCP port', async (t) => {
  const port = await freePort();
  const noFile = noFileNamed(t, String(port));
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(String(port)));
  t.deepEqual(server.localAddress, ['0.0.0.0', port]);
  const client = await netClient(t, port);
  client.write('env');
  t.is((await readBytes(client, 3)).toString(), 'env');
  noFile();
});

test('Stream.connect(digits) connects to that TCP port', async (t) => {
  const engine = startedEngine(t);
  const peer = net.createServer((socket) => socket.end('from node:net'));
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => peer.close());
  const { port } = peer.address() as net.AddressInfo;
  const received = signal<string>();
  class Client extends Stream {
    override onRead(data: Buffer) {
      received.resolve(data.toString());
    }
    override onConnectError(error: Error) {
      received.resolve(`connect failed: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  const client = new Client({ engine }).connect(String(port));
  t.teardown(() => client.close(false));
  t.is(await received.promise, 'from node:net');
});

test("Datagram.listen('0') binds an ephemeral UDP port on every IPv4 interface", async (t) => {
  const engine = startedEngine(t);
  const received = signal<string>();
  class Receiver extends Datagram {
    override onRead(data: Buffer) {
      received.resolve(data.toString());
    }
  }
  const receiver = new Receiver({ engine }).listen('0');
  t.teardown(() => receiver.close(false));
  const address = receiver.localAddress as [string, number];
  t.is(address[0], '0.0.0.0');
  t.true(address[1] > 0);
  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  sender.send('udp digits', address[1], '127.0.0.1');
  t.is(await received.promise, 'udp digits');
});

test("a path made of digits is written './4040'; a digit string beyond 65535 is not an address", async (t) => {
  const noFile = noFileNamed(t, '65536');
  const engine = startedEngine(t);
  const path = `./${process.pid}${Date.now() % 1000}`;
  t.teardown(() => rmSync(path, { force: true }));
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(path));
  t.is(server.localAddress, path);
  await waitFor(() => existsSync(path), 1000, 'the socket file');
  const error = t.throws(() => new Server({ engine }).listen('65536'));
  t.true(error instanceof InvalidAddressFormatError);
  t.true(error instanceof TypeError);
  noFile();
});
