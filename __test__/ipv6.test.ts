// IPv6 addresses ([host, port, flowinfo, scopeid]) for servers, streams and datagrams.
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { Datagram, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

// Tests must be declared synchronously, so ::1 is probed in a child process:
// a node:net server listening on ::1. Without it, every test here is skipped.
const ipv6Available =
  spawnSync(process.execPath, ['-e', "require('net').createServer().once('error', () => process.exit(1)).listen(0, '::1', function () { this.close(); })"], {
    timeout: 10_000,
  }).status === 0;
const ipv6Test = ipv6Available ? test : test.skip;
const title = (name: string) => (ipv6Available ? name : `${name} (skipped: ::1 is not available on this machine)`);
if (!ipv6Available) console.warn('ipv6.test: ::1 is not available on this machine (a node:net server cannot listen on it); skipping the IPv6 tests.');

type Ipv6Address = [string, number, number, number];

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

/** Sends `text` from a node:net client connected to `host`:`port` and expects it echoed. */
async function echoesOver(t: ExecutionContext, port: number, host: string, text: string): Promise<void> {
  const client = await netClient(t, port, host);
  client.write(text);
  t.is((await readBytes(client, text.length)).toString(), text);
}

/** Resolves with the error code of a node:net connect that fails, or null if it connects. */
function connectOutcome(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'unknown'));
  });
}

ipv6Test(title("Server.listen(['::1', 0, 0, 0]) serves a node:net client on ::1"), async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['::1', 0, 0, 0]));
  await echoesOver(t, portOf(server), '::1', 'over ipv6');
});

ipv6Test(title('an IPv6 server reports localAddress as a 4-tuple [host, port, flowinfo, scopeid]'), (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server({ engine }).listen(['::1', 0, 0, 0]));
  const address = server.localAddress as Ipv6Address;
  t.true(Array.isArray(address));
  t.is(address.length, 4);
  t.is(address[0], '::1');
  t.true(Number.isInteger(address[1]) && address[1] > 0);
  t.is(address[2], 0);
  t.is(address[3], 0);
});

ipv6Test(title("listen(['', 0, 0, 0]) listens on the IPv6 any address and, with slave (default true), serves IPv4 and IPv6 clients"), async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['', 0, 0, 0]));
  const address = server.localAddress as Ipv6Address;
  t.is(address.length, 4);
  t.is(address[0], '::');
  await echoesOver(t, portOf(server), '127.0.0.1', 'an ipv4 client');
  await echoesOver(t, portOf(server), '::1', 'an ipv6 client');
});

ipv6Test(title("listen(['', 0, 0, 0], 1024, false) refuses IPv4 clients (ECONNREFUSED) and serves ::1"), async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['', 0, 0, 0], 1024, false));
  t.is(await connectOutcome(portOf(server), '127.0.0.1'), 'ECONNREFUSED');
  await echoesOver(t, portOf(server), '::1', 'ipv6 only');
});

ipv6Test(title("Stream.connect(['::1', port, 0, 0]) reaches a node:net IPv6 server; remoteAddress and localAddress are 4-tuples"), async (t) => {
  const engine = startedEngine(t);
  const peer = signal<net.Socket>();
  const nodeServer = net.createServer((socket) => {
    peer.resolve(socket);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => nodeServer.listen(0, '::1', resolve));
  t.teardown(() => nodeServer.close());
  const port = (nodeServer.address() as net.AddressInfo).port;
  const received = signal<string>();
  class Client extends Stream {
    override onConnect() {
      this.write('hello v6');
    }
    override onRead(data: Buffer) {
      received.resolve(data.toString());
    }
  }
  const client = new Client({ engine }).connect(['::1', port, 0, 0]);
  t.teardown(() => client.close(false));
  t.is(await received.promise, 'hello v6');
  const socket = await peer.promise;
  t.deepEqual(client.remoteAddress, ['::1', port, 0, 0]);
  t.deepEqual(client.localAddress, ['::1', socket.remotePort, 0, 0]);
});

ipv6Test(title('an accepted IPv6 stream reports its ::1 peer as a 4-tuple'), async (t) => {
  const engine = startedEngine(t);
  const accepted = signal<Stream>();
  class Reporter extends Stream {
    override onConnect() {
      accepted.resolve(this);
    }
  }
  const server = closeAtEnd(t, new Server(Reporter, { engine }).listen(['::1', 0, 0, 0]));
  const client = await netClient(t, portOf(server), '::1');
  const stream = await accepted.promise;
  t.deepEqual(stream.remoteAddress, ['::1', client.localPort, 0, 0]);
  t.deepEqual(stream.localAddress, ['::1', portOf(server), 0, 0]);
});

ipv6Test(title("Datagram.listen(['::1', 0, 0, 0]) exchanges packets with a node:dgram udp6 socket"), async (t) => {
  const engine = startedEngine(t);
  const senders: unknown[] = [];
  class Echo6 extends Datagram {
    override onRead(data: Buffer) {
      senders.push(this.remoteAddress);
      this.write(Buffer.concat([Buffer.from('echo:'), data]));
    }
  }
  const datagram = new Echo6({ engine }).listen(['::1', 0, 0, 0]);
  t.teardown(() => datagram.close(false));
  const address = datagram.localAddress as Ipv6Address;
  t.is(address.length, 4);
  t.is(address[0], '::1');
  t.true(address[1] > 0);
  const client = dgram.createSocket('udp6');
  t.teardown(() => client.close());
  await new Promise<void>((resolve) => client.bind(0, '::1', () => resolve()));
  const replies: { data: string; from: [string, number] }[] = [];
  client.on('message', (data, rinfo) => replies.push({ data: data.toString(), from: [rinfo.address, rinfo.port] }));
  client.send('v6 packet', address[1], '::1');
  await waitFor(() => replies.length === 1);
  t.deepEqual(replies, [{ data: 'echo:v6 packet', from: ['::1', address[1]] }]);
  t.deepEqual(senders, [['::1', client.address().port, 0, 0]]);
});
