// Socket errors read like node:net's: the same message, code, errno,
// syscall, address and port (or path), checked side by side with node:net.
import test from 'ava';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address, Server, Stream, StreamConnectError } from 'pants-net';

import { startedEngine } from './helpers.js';

const FIELDS = ['message', 'code', 'errno', 'syscall', 'address', 'port', 'hostname'] as const;

/** The fields node:net and Pants errors share, for comparing. */
function fields(error: unknown): Record<string, unknown> {
  const record = error as Record<string, unknown>;
  return Object.fromEntries(FIELDS.map((name) => [name, record[name]]));
}

/** The error node:net's connect gives. */
function nodeConnectError(options: net.NetConnectOpts): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => net.connect(options).once('error', resolve));
}

/** The error Pants' connect gives to onConnectError. */
function pantsConnectError(t: import('ava').ExecutionContext, address: Address): Promise<StreamConnectError> {
  const engine = startedEngine(t);
  return new Promise((resolve) => {
    class Failing extends Stream {
      override onConnectError(error: StreamConnectError) {
        resolve(error);
      }
    }
    new Failing({ engine }).connect(address);
  });
}

/** A TCP port nothing listens on (one node:net just let go of). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a refused connect reads like node:net: connect ECONNREFUSED 127.0.0.1:port, with address and port', async (t) => {
  const port = await closedPort();
  const expected = await nodeConnectError({ host: '127.0.0.1', port });
  const error = await pantsConnectError(t, ['127.0.0.1', port]);
  t.true(error instanceof StreamConnectError);
  t.is(error.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  t.is(error.address, '127.0.0.1');
  t.is(error.port, port);
  t.deepEqual(fields(error), fields(expected));
});

test('a connect to a missing UNIX socket reads like node:net: connect ENOENT <path>, with path', async (t) => {
  const path = join(tmpdir(), `pants-missing-${process.pid}-${Date.now()}.sock`);
  const expected = await nodeConnectError({ path });
  const error = await pantsConnectError(t, path);
  t.is(error.message, `connect ENOENT ${path}`);
  t.is(error.path, path);
  t.is(error.port, undefined);
  t.deepEqual(fields(error), fields(expected));
});

test('an unknown hostname reads like node:net: getaddrinfo ENOTFOUND <host>, with hostname', async (t) => {
  const expected = await nodeConnectError({ host: 'nowhere.invalid', port: 80 });
  const error = await pantsConnectError(t, ['nowhere.invalid', 80]);
  t.is(error.message, 'getaddrinfo ENOTFOUND nowhere.invalid');
  t.is(error.hostname, 'nowhere.invalid');
  t.deepEqual(fields(error), fields(expected));
});

/** The error node:net's listen gives. */
function nodeListenError(options: net.ListenOptions): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => net.createServer().listen(options).once('error', resolve));
}

test('a taken port reads like node:net: listen EADDRINUSE: address already in use 127.0.0.1:port', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const { port } = taken.address() as net.AddressInfo;
  const expected = await nodeListenError({ host: '127.0.0.1', port });
  const error = t.throws(() => new Server({ engine: startedEngine(t) }).listen(['127.0.0.1', port])) as NodeJS.ErrnoException & { address?: string; port?: number };
  t.is(error.message, `listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
  t.is(error.address, '127.0.0.1');
  t.is(error.port, port);
  t.deepEqual(fields(error), fields(expected));
});

test('a taken UNIX socket path reads like node:net: listen EADDRINUSE: address already in use <path>', async (t) => {
  const path = join(tmpdir(), `pants-taken-${process.pid}-${Date.now()}.sock`);
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(path, resolve));
  t.teardown(() => {
    taken.close();
    rmSync(path, { force: true });
  });
  const expected = await nodeListenError({ path });
  const error = t.throws(() => new Server({ engine: startedEngine(t) }).listen(path)) as NodeJS.ErrnoException & { address?: string; path?: string };
  t.is(error.message, `listen EADDRINUSE: address already in use ${path}`);
  t.is(error.code, expected.code);
  t.is(error.syscall, expected.syscall);
  t.is(error.errno, expected.errno);
  t.is(error.address, path);
  t.is(error.path, path);
});
