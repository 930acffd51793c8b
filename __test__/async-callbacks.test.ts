// Callbacks may be async (API.md, "Callbacks that return promises"): a
// returned promise that rejects is logged with Engine.logger.error like a
// thrown exception, and the engine and the process go on.
import test from 'ava';
import dgram from 'node:dgram';
import net from 'node:net';
import { Datagram, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, recordLog, startedEngine, waitFor, wasLogged } from './helpers.js';

/** Rejects on a later turn, as an async callback that failed after an await. */
async function failLater(error: Error): Promise<never> {
  await new Promise((resolve) => setImmediate(resolve));
  throw error;
}

test.serial('an async onRead that rejects is logged with Engine.logger.error, and the stream goes on echoing', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const failures: Error[] = [];
  class AsyncEcho extends Stream {
    override async onRead(data: Buffer) {
      this.write(data);
      const failure = new Error('async onRead failed');
      failures.push(failure);
      await failLater(failure);
    }
  }
  const server = closeAtEnd(t, new Server(AsyncEcho, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('one');
  t.is((await readBytes(client, 3)).toString(), 'one');
  await waitFor(() => failures.length === 1 && wasLogged(log.error, failures[0]), 5000, 'the rejection to be logged');
  client.write('two');
  t.is((await readBytes(client, 3)).toString(), 'two');
  await waitFor(() => failures.length === 2 && wasLogged(log.error, failures[1]), 5000, 'the second rejection to be logged');
  t.true(engine.running);
});

test.serial('async onConnect, onWrite and onClose that reject are logged', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const peer = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => peer.close());
  const failures = { onConnect: new Error('onConnect'), onWrite: new Error('onWrite'), onClose: new Error('onClose') };
  let wrote = 0;
  class Client extends Stream {
    override async onConnect() {
      this.write('hello');
      await failLater(failures.onConnect);
    }
    override async onWrite() {
      wrote += 1;
      if (wrote === 1) await failLater(failures.onWrite);
    }
    override onRead() {
      this.close();
    }
    override async onClose() {
      await failLater(failures.onClose);
    }
  }
  new Client({ engine }).connect(['127.0.0.1', (peer.address() as net.AddressInfo).port]);
  await waitFor(() => Object.values(failures).every((failure) => wasLogged(log.error, failure)), 5000, 'the three rejections to be logged');
  t.true(engine.running);
});

test.serial('async Server.onListen and Server.onAccept that reject are logged, and the accepted stream is served', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const listenFailure = new Error('onListen');
  const acceptFailure = new Error('onAccept');
  class Echo extends Stream {
    override onRead(data: Buffer) {
      this.write(data);
    }
  }
  class FailingServer extends Server {
    override async onListen() {
      await failLater(listenFailure);
    }
    override async onAccept() {
      await failLater(acceptFailure);
    }
  }
  const server = closeAtEnd(t, new FailingServer(Echo, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('served');
  t.is((await readBytes(client, 6)).toString(), 'served');
  await waitFor(() => wasLogged(log.error, listenFailure) && wasLogged(log.error, acceptFailure), 5000, 'both rejections to be logged');
});

test.serial('async timer functions that reject (callback, defer, cycle, loop) are logged, and later timers run', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const failures = [new Error('callback'), new Error('defer'), new Error('cycle'), new Error('loop')];
  engine.callback(async () => failLater(failures[0]));
  engine.defer(0.01, async () => failLater(failures[1]));
  const cycle = engine.cycle(0.01, async () => {
    cycle.cancel();
    await failLater(failures[2]);
  });
  const loop = engine.loop(async () => {
    loop.cancel();
    await failLater(failures[3]);
  });
  await waitFor(() => failures.every((failure) => wasLogged(log.error, failure)), 5000, 'the four rejections to be logged');
  let later = false;
  engine.defer(0.01, () => (later = true));
  await waitFor(() => later, 5000, 'a later deferred');
  t.true(engine.running);
});

test.serial('an async Datagram onRead that rejects is logged, and the channel goes on answering', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const failures: Error[] = [];
  class AsyncUdpEcho extends Datagram {
    override async onRead(data: Buffer) {
      this.write(data);
      const failure = new Error('async datagram onRead');
      failures.push(failure);
      await failLater(failure);
    }
  }
  const server = new AsyncUdpEcho({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close(false));
  const port = (server.localAddress as [string, number])[1];
  const client = dgram.createSocket('udp4');
  t.teardown(() => client.close());
  const replies: string[] = [];
  client.on('message', (message) => replies.push(message.toString()));
  client.send('one', port, '127.0.0.1');
  await waitFor(() => replies.length === 1 && failures.length === 1 && wasLogged(log.error, failures[0]), 5000, 'the first reply and its logged rejection');
  client.send('two', port, '127.0.0.1');
  await waitFor(() => replies.length === 2, 5000, 'the second reply');
  t.deepEqual(replies, ['one', 'two']);
});
