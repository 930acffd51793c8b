// The stream members Node users expect, under TLS, against node:tls peers:
// a paused stream still completes its handshake, byte counts are
// plaintext, and half-close ends with close_notify then FIN.
import test from 'ava';
import tls from 'node:tls';
import { Server, Stream } from 'pants-net';

import { closeAtEnd, portOf, readToEnd, signal, startedEngine, waitFor } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';

let certs: TestCerts;

test.before(() => {
  certs = makeCerts();
});

test.after.always(() => {
  removeCerts(certs);
});

/** A node:tls client of `port` trusting the test CA, destroyed at the end. */
function tlsClient(t: import('ava').ExecutionContext, port: number, options: tls.ConnectionOptions = {}): tls.TLSSocket {
  const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: certs.ca, ...options });
  t.teardown(() => client.destroy());
  return client;
}

test('a stream paused in onConnect completes its TLS handshake, then reads nothing until resume(); bytesRead counts plaintext', async (t) => {
  const engine = startedEngine(t);
  const reads: string[] = [];
  class Paused extends Stream {
    override onConnect() {
      this.pause();
    }
    override onRead(data: Buffer) {
      reads.push(data.toString());
    }
  }
  const server = closeAtEnd(t, new Server({ engine, ConnectionClass: Paused, sslOptions: { cert: certs.cert, key: certs.key } }).listen(['127.0.0.1', 0]));
  const client = tlsClient(t, portOf(server));
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  client.write('hello');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(reads, []);
  const stream = [...server.channels.values()][0];
  stream.resume();
  await waitFor(() => reads.join('') === 'hello', 5000, 'the data');
  t.is(stream.bytesRead, 5);
});

test('allowHalfOpen under TLS: the answer follows the client\'s end, then close_notify and FIN', async (t) => {
  const engine = startedEngine(t);
  const closed = signal<Error | null>();
  class Answering extends Stream {
    #request = '';
    override onConnect() {
      this.allowHalfOpen = true;
    }
    override onRead(data: Buffer) {
      this.#request += data.toString();
    }
    override onEnd() {
      setTimeout(() => this.end(`answer to ${this.#request}`), 100);
    }
    override onClose(error: Error | null) {
      closed.resolve(error);
    }
  }
  const server = closeAtEnd(t, new Server({ engine, ConnectionClass: Answering, sslOptions: { cert: certs.cert, key: certs.key } }).listen(['127.0.0.1', 0]));
  // node:tls passes allowHalfOpen on to its socket; its typings leave it out.
  const client = tlsClient(t, portOf(server), { allowHalfOpen: true } as tls.ConnectionOptions);
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  const answer = readToEnd(client);
  client.end('question');
  t.is((await answer).toString(), 'answer to question');
  t.is(await closed.promise, null);
});
