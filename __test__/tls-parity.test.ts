// TLS parity with node:tls: the same certificates, options and failures
// give what node:tls gives. Peers are node:tls servers and clients; keys,
// encrypted keys and PKCS#12 archives are made by the `openssl` command line.
import test, { type ExecutionContext } from 'ava';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { Server, Stream, type SslOptions } from 'pants-net';

import { closeAtEnd, portOf, signal, startedEngine } from './helpers.js';
import { EC, EXTENSIONS, makeCerts, openssl, removeCerts } from './tls-certs.js';
import { nodeTlsServer as sharedNodeTlsServer } from './tls-peers.js';

// ----- certificates ----------------------------------------------------------

interface ParityCerts {
  dir: string;
  /** A root CA and its key. */
  ca: string;
  /** localhost / 127.0.0.1, from `ca`, subject CN and O. */
  cert: string;
  key: string;
  /** A self-signed certificate marked as a CA, for localhost / 127.0.0.1. */
  selfSigned: string;
  selfSignedKey: string;
  /** A client certificate from `ca`. */
  clientCert: string;
  clientKey: string;
  /** A self-signed client certificate marked as a CA. */
  selfSignedClient: string;
  selfSignedClientKey: string;
  /** `sni.test`, from `ca`. */
  sniCert: string;
  sniKey: string;
  /** `key` encrypted (PKCS#8, OpenSSL 3 defaults: AES-256-CBC, PBKDF2) with 'correct horse'. */
  encryptedKey: string;
  /** `cert` and `key` as PKCS#12 with 'correct horse' (OpenSSL 3 defaults). */
  pfx: Buffer;
  /** The same as OpenSSL 1.1 made them (`-legacy`: RC2-40 certificate bag, 3DES key bag, SHA-1 MAC). */
  legacyPfx: Buffer;
  /** `clientCert` and `clientKey` as PKCS#12 with 'correct horse'. */
  clientPfx: Buffer;
}

const PASSPHRASE = 'correct horse';

/** tls-certs' sections, and `sni` for a certificate of another name. */
const PARITY_EXTENSIONS = `${EXTENSIONS}
[sni]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:sni.test
`;

function makeParityCerts(): ParityCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-tls-parity-'));
  const run = (args: string[]) => openssl(dir, args);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), PARITY_EXTENSIONS);
  run(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Parity CA/O=Pants', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const signed = (name: string, subject: string, section: string, serial: string) => {
    run(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '2', '-sha256',
      '-extfile', 'ext.cnf', '-extensions', section, '-out', `${name}.pem`]);
  };
  signed('server', '/CN=localhost/O=Pants Parity/OU=Servers', 'server', '0x0abc12');
  signed('client', '/CN=test-client/O=Pants Parity', 'client', '0x9f0102');
  signed('sni', '/CN=sni.test', 'sni', '0x77');
  const selfSigned = (name: string, subject: string, altNames: string) =>
    run(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '2',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `subjectAltName=${altNames}`]);
  selfSigned('self', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
  selfSigned('self-client', '/CN=self-client', 'DNS:self-client');
  run(['pkcs8', '-topk8', '-in', 'server.key', '-out', 'server-encrypted.key', '-passout', `pass:${PASSPHRASE}`]);
  run(['pkcs12', '-export', '-in', 'server.pem', '-inkey', 'server.key', '-out', 'server.p12', '-passout', `pass:${PASSPHRASE}`]);
  run(['pkcs12', '-export', '-in', 'server.pem', '-inkey', 'server.key', '-out', 'legacy.p12', '-passout', `pass:${PASSPHRASE}`,
    '-legacy']);
  run(['pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-out', 'client.p12', '-passout', `pass:${PASSPHRASE}`]);
  const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
  return {
    dir,
    ca: read('ca.pem'),
    cert: read('server.pem'),
    key: read('server.key'),
    selfSigned: read('self.pem'),
    selfSignedKey: read('self.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
    selfSignedClient: read('self-client.pem'),
    selfSignedClientKey: read('self-client.key'),
    sniCert: read('sni.pem'),
    sniKey: read('sni.key'),
    encryptedKey: read('server-encrypted.key'),
    pfx: fs.readFileSync(path.join(dir, 'server.p12')),
    legacyPfx: fs.readFileSync(path.join(dir, 'legacy.p12')),
    clientPfx: fs.readFileSync(path.join(dir, 'client.p12')),
  };
}

let certs!: ParityCerts;

test.before(() => {
  certs = makeParityCerts();
});

test.after.always(() => {
  if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
});

// ----- peers -------------------------------------------------------------------

type CodedError = Error & { code?: string };

/** A node:tls server on 127.0.0.1, port 0, closed with its sockets when the test ends: its port. */
async function nodeTlsServer(t: ExecutionContext, options: tls.TlsOptions, onSecure?: (socket: tls.TLSSocket) => void): Promise<number> {
  return (await sharedNodeTlsServer(t, options, onSecure)).port;
}

/** A node:tls client's outcome against 127.0.0.1:`port`: its socket once secure, or its error. */
function nodeTlsConnect(t: ExecutionContext, port: number, options: tls.ConnectionOptions): Promise<{ socket?: tls.TLSSocket; error?: CodedError }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ...options });
    t.teardown(() => socket.destroy());
    socket.once('secureConnect', () => resolve({ socket }));
    socket.once('error', (error: CodedError) => resolve({ error }));
  });
}

/** What a Pants TLS stream went through. */
interface Outcome {
  stream: Stream;
  /** Resolves at onSslHandshake (with null) or onSslHandshakeError (with the error). */
  handshake: Promise<CodedError | null>;
  tlsVersionAtConnect: string | null | undefined;
}

/** A Pants TLS client to 127.0.0.1:`port` (echoes nothing; closes itself at the end of the test). */
function pantsClient(t: ExecutionContext, port: number, sslOptions: SslOptions): Outcome {
  const engine = startedEngine(t);
  const handshake = signal<CodedError | null>();
  const outcome = { handshake: handshake.promise } as Outcome;
  class Client extends Stream {
    override onConnect() {
      outcome.tlsVersionAtConnect = this.tlsVersion;
    }
    override onSslHandshake() {
      handshake.resolve(null);
    }
    override onSslHandshakeError(error: Error) {
      handshake.resolve(error);
      this.close(false);
    }
  }
  outcome.stream = new Client({ engine, sslOptions }).connect(['127.0.0.1', port]);
  t.teardown(() => outcome.stream.close(false));
  return outcome;
}

/** A Pants TLS server on 127.0.0.1, port 0, whose accepted streams report their handshakes to `accepted`. */
function pantsServer(t: ExecutionContext, sslOptions: SslOptions): { port: number; accepted: Promise<{ stream: Stream; error: CodedError | null }> } {
  const engine = startedEngine(t);
  const accepted = signal<{ stream: Stream; error: CodedError | null }>();
  class Connection extends Stream {
    override onSslHandshake() {
      accepted.resolve({ stream: this, error: null });
    }
    override onSslHandshakeError(error: Error) {
      accepted.resolve({ stream: this, error });
      this.close(false);
    }
    override onRead(data: Buffer) {
      this.write(data);
    }
  }
  const server = closeAtEnd(t, new Server(Connection, { engine, sslOptions }).listen(['127.0.0.1', 0]));
  return { port: portOf(server), accepted: accepted.promise };
}

/** Node's error for a node:tls client with `clientOptions` against a node:tls server with `serverOptions`. */
async function nodeClientError(t: ExecutionContext, serverOptions: tls.TlsOptions, clientOptions: tls.ConnectionOptions): Promise<CodedError> {
  const port = await nodeTlsServer(t, serverOptions);
  const { error } = await nodeTlsConnect(t, port, clientOptions);
  if (!error) throw new Error('node:tls accepted the handshake');
  return error;
}

/** The same client options against the same node:tls server: Pants' handshake error equals node:tls' (code and message). */
async function sameClientFailure(t: ExecutionContext, serverOptions: tls.TlsOptions, clientOptions: SslOptions, expectedCode: string): Promise<void> {
  const expected = await nodeClientError(t, serverOptions, clientOptions as tls.ConnectionOptions);
  t.is(expected.code, expectedCode, 'node:tls itself');
  const port = await nodeTlsServer(t, serverOptions);
  const error = await pantsClient(t, port, clientOptions).handshake;
  t.is(error?.code, expected.code);
  if (expected.code!.startsWith('ERR_SSL_')) {
    // OpenSSL's messages also name its thread and source file: the reason and alert number must match.
    const reason = (message: string) => /SSL routines:[^:]*:([^:]*):(?:.*(SSL alert number \d+))?/.exec(message)?.slice(1).join(' ');
    t.is(reason(error!.message), reason(expected.message));
  } else {
    t.is(error?.message, expected.message);
  }
}

// ----- ca: trusted as it is ----------------------------------------------------

test('ca: a self-signed certificate marked as a CA, given as ca, is trusted as it is (as node:tls does)', async (t) => {
  const port = await nodeTlsServer(t, { cert: certs.selfSigned, key: certs.selfSignedKey }, (socket) => socket.end('hello'));
  t.truthy((await nodeTlsConnect(t, port, { ca: certs.selfSigned, servername: 'localhost' })).socket, 'node:tls accepts it');
  const client = pantsClient(t, port, { ca: certs.selfSigned, servername: 'localhost' });
  t.is(await client.handshake, null);
});

test('ca: a certificate trusted as it is must still match the name (ERR_TLS_CERT_ALTNAME_INVALID, node\'s message)', async (t) => {
  await sameClientFailure(t, { cert: certs.selfSigned, key: certs.selfSignedKey }, { ca: certs.selfSigned, servername: 'example.com' }, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('requestCert: a self-signed client certificate listed in ca is trusted as it is', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, requestCert: true, ca: certs.selfSignedClient });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost', cert: certs.selfSignedClient, key: certs.selfSignedClientKey });
  t.truthy(socket);
  const { error, stream } = await server.accepted;
  t.is(error, null);
  t.is(stream.peerCertificate?.subject.CN, 'self-client');
});

// ----- verification failures in node's words ----------------------------------

test('a self-signed server certificate not in ca: DEPTH_ZERO_SELF_SIGNED_CERT, as node:tls', async (t) => {
  await sameClientFailure(t, { cert: certs.selfSigned, key: certs.selfSignedKey }, { ca: certs.ca, servername: 'localhost' }, 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('a leaf from an unknown CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE with node\'s message', async (t) => {
  await sameClientFailure(t, { cert: certs.cert, key: certs.key }, { ca: certs.selfSigned, servername: 'localhost' }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('a chain ending in an untrusted self-signed root: SELF_SIGNED_CERT_IN_CHAIN, as node:tls', async (t) => {
  await sameClientFailure(t, { cert: certs.cert + certs.ca, key: certs.key }, { ca: certs.selfSigned, servername: 'localhost' }, 'SELF_SIGNED_CERT_IN_CHAIN');
});

test('a host name not in the certificate: ERR_TLS_CERT_ALTNAME_INVALID with node\'s message', async (t) => {
  await sameClientFailure(t, { cert: certs.cert, key: certs.key }, { ca: certs.ca, servername: 'example.com' }, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('an expired server certificate: CERT_HAS_EXPIRED with node\'s message', async (t) => {
  const expired = makeCerts();
  t.teardown(() => removeCerts(expired));
  await sameClientFailure(t, { cert: expired.expiredCert, key: expired.expiredKey }, { ca: expired.ca, servername: 'localhost' }, 'CERT_HAS_EXPIRED');
});

// ----- tlsVersion and peerCertificate -----------------------------------------

test('tlsVersion: null before the handshake, then the version agreed on', async (t) => {
  const port13 = await nodeTlsServer(t, { cert: certs.cert, key: certs.key });
  const port12 = await nodeTlsServer(t, { cert: certs.cert, key: certs.key, maxVersion: 'TLSv1.2' });
  const client13 = pantsClient(t, port13, { ca: certs.ca });
  const client12 = pantsClient(t, port12, { ca: certs.ca });
  t.is(await client13.handshake, null);
  t.is(await client12.handshake, null);
  t.is(client13.tlsVersionAtConnect, null);
  t.is(client13.stream.tlsVersion, 'TLSv1.3');
  t.is(client12.stream.tlsVersion, 'TLSv1.2');
  t.is(new Stream({ engine: startedEngine(t) }).tlsVersion, null);
});

test('peerCertificate (client): the server certificate, field for field as node:tls getPeerCertificate() gives it', async (t) => {
  const port = await nodeTlsServer(t, { cert: certs.cert, key: certs.key });
  const { socket } = await nodeTlsConnect(t, port, { ca: certs.ca, servername: 'localhost' });
  const expected = socket!.getPeerCertificate();
  const client = pantsClient(t, port, { ca: certs.ca });
  t.is(await client.handshake, null);
  const certificate = client.stream.peerCertificate!;
  t.deepEqual({ ...certificate.subject }, { ...expected.subject });
  t.deepEqual({ ...certificate.issuer }, { ...expected.issuer });
  t.is(certificate.subjectaltname, expected.subjectaltname);
  t.is(certificate.valid_from, expected.valid_from);
  t.is(certificate.valid_to, expected.valid_to);
  t.is(certificate.fingerprint256, expected.fingerprint256);
  t.is(certificate.serialNumber, expected.serialNumber);
  t.is(certificate.serialNumber, '0ABC12');
  t.true(Buffer.isBuffer(certificate.raw));
  t.true(certificate.raw.equals(expected.raw));
});

test('peerCertificate (server, mutual TLS): the node:tls client\'s certificate; null when it sent none', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, requestCert: true, ca: certs.ca });
  await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost', cert: certs.clientCert, key: certs.clientKey });
  const { stream, error } = await server.accepted;
  t.is(error, null);
  const certificate = stream.peerCertificate!;
  const x509 = new X509Certificate(certs.clientCert);
  t.deepEqual({ ...certificate.subject }, { CN: 'test-client', O: 'Pants Parity' });
  t.deepEqual({ ...certificate.issuer }, { CN: 'Parity CA', O: 'Pants' });
  t.is(certificate.subjectaltname, 'DNS:test-client');
  t.is(certificate.fingerprint256, x509.fingerprint256);
  t.is(certificate.serialNumber, x509.serialNumber);
  t.is(certificate.valid_to, x509.validTo);

  const plain = pantsServer(t, { cert: certs.cert, key: certs.key });
  await nodeTlsConnect(t, plain.port, { ca: certs.ca, servername: 'localhost' });
  const accepted = await plain.accepted;
  t.is(accepted.error, null);
  t.is(accepted.stream.peerCertificate, null);
});

// ----- minVersion, maxVersion, ciphers ----------------------------------------

test('minVersion TLSv1.3 against a TLS 1.2 server fails as node:tls does (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)', async (t) => {
  await sameClientFailure(t, { cert: certs.cert, key: certs.key, maxVersion: 'TLSv1.2' }, { ca: certs.ca, servername: 'localhost', minVersion: 'TLSv1.3' }, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
});

test('maxVersion TLSv1.2 on a Pants server: a node:tls client speaks TLS 1.2', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, maxVersion: 'TLSv1.2' });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.is(socket?.getProtocol(), 'TLSv1.2');
  t.is((await server.accepted).stream.tlsVersion, 'TLSv1.2');
});

test('minVersion / maxVersion other than TLSv1.2 and TLSv1.3 throw TypeError naming the option', (t) => {
  const engine = startedEngine(t);
  for (const [option, value] of [['minVersion', 'TLSv1.1'], ['maxVersion', 'SSLv3'], ['minVersion', 'TLSv1.0'], ['maxVersion', 13]] as const) {
    const error = t.throws(() => new Stream({ engine, sslOptions: { [option]: value } as SslOptions }), { instanceOf: TypeError });
    t.true(error!.message.includes(option), error!.message);
    t.is((error as CodedError).code, 'ERR_TLS_INVALID_PROTOCOL_VERSION');
  }
  t.throws(() => new Stream({ engine, sslOptions: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } }), { message: /minVersion/ });
});

test('ciphers: a Pants server limited to one TLS 1.2 suite; a node:tls client negotiates it', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.is(socket?.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
});

test('ciphers: a TLS 1.3 suite name on a Pants client is the one the node:tls server uses', async (t) => {
  const seen = signal<string>();
  const port = await nodeTlsServer(t, { cert: certs.cert, key: certs.key }, (socket) => seen.resolve(socket.getCipher().name));
  const client = pantsClient(t, port, { ca: certs.ca, ciphers: 'TLS_CHACHA20_POLY1305_SHA256' });
  t.is(await client.handshake, null);
  t.is(await seen.promise, 'TLS_CHACHA20_POLY1305_SHA256');
});

test('ciphers: no suite in common fails the Pants server\'s handshake with ERR_SSL_NO_SHARED_CIPHER, as node:tls', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  const { error: clientError } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
  t.is(clientError?.code, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
  t.is((await server.accepted).error?.code, 'ERR_SSL_NO_SHARED_CIPHER');
});

test('ciphers: a name the engine lacks throws, naming it', (t) => {
  const engine = startedEngine(t);
  for (const name of ['RC4-MD5', 'AES128-SHA', 'NOT-A-CIPHER']) {
    const error = t.throws(() => new Stream({ engine, sslOptions: { ciphers: `TLS_AES_128_GCM_SHA256:${name}` } }));
    t.true(error!.message.includes('ciphers') && error!.message.includes(name), error!.message);
  }
});

test('an option name node:tls has but the engine does not (or a typo) throws TypeError naming it', (t) => {
  const engine = startedEngine(t);
  for (const name of ['secureProtocol', 'ecdhCurve', 'sessionTimeout', 'rejectUnauthorised']) {
    const error = t.throws(() => new Server(Stream, { engine, sslOptions: { cert: certs.cert, key: certs.key, [name]: true } as SslOptions }), { instanceOf: TypeError });
    t.true(error!.message.includes(name), error!.message);
  }
});

// ----- passphrase and pfx -----------------------------------------------------

test('passphrase: an encrypted PKCS#8 key made by openssl serves a node:tls client', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.encryptedKey, passphrase: PASSPHRASE });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.truthy(socket);
  t.is((await server.accepted).error, null);
});

test('passphrase: a wrong or missing passphrase throws node\'s error (ERR_OSSL_BAD_DECRYPT)', (t) => {
  const engine = startedEngine(t);
  for (const passphrase of ['wrong', undefined]) {
    const options = { cert: certs.cert, key: certs.encryptedKey, passphrase };
    const expected = t.throws(() => tls.createSecureContext(options)) as CodedError;
    const error = t.throws(() => new Server(Stream, { engine, sslOptions: options })) as CodedError;
    t.is(error.code, expected.code);
    t.is(error.code, 'ERR_OSSL_BAD_DECRYPT');
    t.true(error.message.includes(expected.message), error.message);
  }
});

test('pfx: a PKCS#12 archive from openssl pkcs12 -export (AES-256-CBC, PBKDF2) serves a node:tls client', async (t) => {
  const server = pantsServer(t, { pfx: certs.pfx, passphrase: PASSPHRASE });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.is(socket?.getPeerCertificate().serialNumber, '0ABC12');
});

test('pfx: a legacy PKCS#12 archive (openssl pkcs12 -legacy: RC2 and 3DES, SHA-1 MAC) works too', async (t) => {
  const server = pantsServer(t, { pfx: certs.legacyPfx, passphrase: PASSPHRASE });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.truthy(socket);
});

test('pfx: a wrong passphrase throws node\'s "mac verify failure"', (t) => {
  const engine = startedEngine(t);
  const options = { pfx: certs.pfx, passphrase: 'wrong' };
  const expected = t.throws(() => tls.createSecureContext(options));
  const error = t.throws(() => new Server(Stream, { engine, sslOptions: options }));
  t.true(error!.message.endsWith(expected!.message), error!.message);
  t.is((error as CodedError).code, 'ERR_OSSL_PKCS12_MAC_VERIFY_FAILURE');
});

test('pfx on a client answers a server\'s certificate request (mutual TLS)', async (t) => {
  const seen = signal<string>();
  const { server, port } = await sharedNodeTlsServer(t, { cert: certs.cert, key: certs.key, requestCert: true, rejectUnauthorized: true, ca: certs.ca }, (socket) =>
    seen.resolve(String(socket.getPeerCertificate().subject.CN)));
  server.on('tlsClientError', (error: CodedError) => seen.resolve(`refused: ${error.code}`));
  const client = pantsClient(t, port, { ca: certs.ca, pfx: certs.clientPfx, passphrase: PASSPHRASE });
  t.is(await seen.promise, 'test-client');
  t.is(await client.handshake, null);
});

// ----- SNICallback ------------------------------------------------------------

test('SNICallback: answered later, with the certificate for the name the node:tls client asked for', async (t) => {
  const names: string[] = [];
  const server = pantsServer(t, {
    cert: certs.cert,
    key: certs.key,
    SNICallback(servername, callback) {
      names.push(servername);
      setTimeout(() => callback(null, servername === 'sni.test' ? { cert: certs.sniCert, key: certs.sniKey } : null), 30);
    },
  });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'sni.test' });
  t.is(socket?.getPeerCertificate().subject.CN, 'sni.test');
  t.is((await server.accepted).error, null);
  const other = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.is(other.socket?.getPeerCertificate().subject.CN, 'localhost');
  t.deepEqual(names, ['sni.test', 'localhost']);
});

test('SNICallback: data the client sends with the handshake still arrives once the callback answers', async (t) => {
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, SNICallback: (_name, callback) => setTimeout(() => callback(null, { cert: certs.sniCert, key: certs.sniKey }), 20) });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'sni.test' });
  socket!.write('ping');
  const echoed = await new Promise<string>((resolve) => socket!.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  t.is(echoed, 'ping');
});

test('SNICallback: an error fails the handshake; onSslHandshakeError gets it, and the node:tls client is refused', async (t) => {
  const failure = new Error('no certificate for that name');
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, SNICallback: (_name, callback) => callback(failure) });
  const { socket, error } = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'unknown.test' });
  t.is(socket, undefined);
  t.truthy(error);
  t.is((await server.accepted).error, failure);
});

test('SNICallback: not called when the client names no server; called when it does', async (t) => {
  const names: string[] = [];
  const server = pantsServer(t, { cert: certs.cert, key: certs.key, SNICallback: (name, callback) => { names.push(name); callback(null, null); } });
  const { socket } = await nodeTlsConnect(t, server.port, { ca: certs.ca, checkServerIdentity: () => undefined });
  t.truthy(socket);
  t.is((await server.accepted).error, null);
  t.deepEqual(names, []);
  const named = await nodeTlsConnect(t, server.port, { ca: certs.ca, servername: 'localhost' });
  t.truthy(named.socket);
  t.deepEqual(names, ['localhost']);
});

test('SNICallback must be a function', (t) => {
  const engine = startedEngine(t);
  t.throws(() => new Server(Stream, { engine, sslOptions: { cert: certs.cert, key: certs.key, SNICallback: 'nope' as never } }), { instanceOf: TypeError, message: /SNICallback/ });
});
