// TLS peers that misbehave, shared by the hostile-TLS tests and the stress
// program: a real ClientHello to replay, and a TLS 1.2 server that sends
// its first flight and closes. Each returns a `close()` for the caller.
import type { ExecutionContext } from 'ava';
import net from 'node:net';
import tls from 'node:tls';

/** A node:net server on 127.0.0.1, port 0, that destroys its sockets when closed. */
export async function plainServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** The first flight of a node:tls client (its ClientHello), caught by a plain server. */
export async function captureClientHello(options: tls.ConnectionOptions = { rejectUnauthorized: false }): Promise<Buffer> {
  let resolveHello!: (hello: Buffer) => void;
  const hello = new Promise<Buffer>((resolve) => (resolveHello = resolve));
  const catcher = await plainServer((socket) => socket.once('data', (chunk: Buffer) => resolveHello(chunk)));
  const client = tls.connect({ port: catcher.port, host: '127.0.0.1', servername: 'localhost', ...options });
  client.on('error', () => {});
  try {
    return await hello;
  } finally {
    client.destroy();
    catcher.close();
  }
}

/**
 * A TLS 1.2 server (node:tls, `cert` and `key`) behind a relay that passes
 * a client's bytes on and the server's first flight back, then closes the
 * client's connection: a server that gives up in the middle of the handshake.
 */
export async function firstFlightServer(cert: string, key: string): Promise<{ port: number; close(): void }> {
  const upstream = tls.createServer({ cert, key, maxVersion: 'TLSv1.2' });
  upstream.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const relay = await plainServer((client) => {
    const server = net.connect((upstream.address() as net.AddressInfo).port, '127.0.0.1');
    server.on('error', () => {});
    client.on('data', (chunk: Buffer) => server.write(chunk));
    server.once('data', (flight: Buffer) => {
      client.end(flight);
      server.destroy();
    });
  });
  return {
    port: relay.port,
    close() {
      relay.close();
      upstream.close();
    },
  };
}

/** A node:tls server on `host` (127.0.0.1), port 0; closed (and its sockets destroyed) when the test ends. */
export async function nodeTlsServer(
  t: ExecutionContext,
  options: tls.TlsOptions,
  onSecure: (socket: tls.TLSSocket) => void = () => {},
  host = '127.0.0.1',
): Promise<{ server: tls.Server; port: number; sockets: Set<net.Socket> }> {
  const server = tls.createServer(options, onSecure);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { server, port: (server.address() as net.AddressInfo).port, sockets };
}
