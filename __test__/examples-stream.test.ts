// The README's examples for what Node users expect of a stream: the
// idle-timeout server and the proxy with pause/resume, with real node:net peers.
import test from 'ava';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Engine, Server } from 'pants-net';

import { IdleEcho } from '../examples/idle_timeout.js';
import { ProxyClient, ProxyServer } from '../examples/proxy.js';
import { Resolver } from '../examples/resolver.js';
import { closeAtEnd, netClient, portOf, readBytes, readToEnd, startedEngine, waitFor } from './helpers.js';

test('idle timeout: a silent client is told goodbye and disconnected; the close is logged', async (t) => {
  const engine = startedEngine(t);
  const previous = Engine.logger;
  const info: string[] = [];
  Engine.logger = { ...console, info: (line: string) => info.push(line) };
  t.teardown(() => (Engine.logger = previous));
  class QuickIdleEcho extends IdleEcho {
    override onConnect(): void {
      super.onConnect();
      t.is(this.keepAlive, 60);
      this.timeout = 0.3;
    }
  }
  const server = closeAtEnd(t, new Server({ engine, ConnectionClass: QuickIdleEcho }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const received = readToEnd(client);
  client.write('still here\r\n');
  const text = (await received).toString();
  t.is(text, 'still here\r\nIdle for too long, goodbye.\r\n');
  await waitFor(() => info.length === 1, 5000, 'the log line');
  t.regex(info[0], /left \(closed\) after 12 bytes$/);
});

/** A node:net server sending `size` bytes of a pattern to each client and printing what it receives. */
async function upstream(t: import('ava').ExecutionContext, size: number) {
  const payload = Buffer.alloc(size);
  for (let index = 0; index < size; index++) payload[index] = (index * 7 + (index >> 12)) & 0xff;
  const sockets: net.Socket[] = [];
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => received.push(chunk));
    socket.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, payload, sockets, received };
}

test('proxy: a slow client slows the upstream down, the proxy stays bounded, and every byte arrives', async (t) => {
  const engine = startedEngine(t);
  const size = 48 * 1024 * 1024;
  const origin = await upstream(t, size);
  const proxy = closeAtEnd(t, new ProxyServer(['127.0.0.1', origin.port], { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(proxy));
  client.pause(); // a slow client: it reads nothing for a while
  client.write('hello upstream');
  await waitFor(() => Buffer.concat(origin.received).toString() === 'hello upstream', 5000, 'the request upstream');
  await waitFor(() => origin.sockets.length === 1 && origin.sockets[0].writableLength > 0, 5000, 'the upstream to be held back');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stream = [...proxy.channels.values()][0] as ProxyClient;
  t.true(stream.bufferedAmount <= stream.highWaterMark + 4 * 1024 * 1024, `the proxy buffers ${stream.bufferedAmount} bytes`);
  t.true(origin.sockets[0].writableLength > 0, 'the upstream still waits');
  client.resume();
  const all = await readBytes(client, size);
  t.is(all.length, size);
  t.is(createHash('sha256').update(all).digest('hex'), createHash('sha256').update(origin.payload).digest('hex'));
});

test('half-close: the resolver answers after the client has ended its side, then ends its own', async (t) => {
  const engine = startedEngine(t);
  let closedWith: Error | null | undefined;
  class Recorded extends Resolver {
    override onClose(error: Error | null): void {
      closedWith = error;
    }
  }
  const server = closeAtEnd(t, new Server({ engine, ConnectionClass: Recorded }).listen(['127.0.0.1', 0]));
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  const answers = readToEnd(client);
  client.write('localhost\n127.0.0.1\n');
  client.end();
  t.regex((await answers).toString(), /^localhost (127\.0\.0\.1|::1)\n127\.0\.0\.1 127\.0\.0\.1\n$/);
  client.end();
  await waitFor(() => closedWith !== undefined, 5000, 'the close');
  t.is(closedWith, null);
});
