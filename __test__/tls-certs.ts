// Test certificates, made at test time with the `openssl` command line in a
// fresh temporary directory (removed by `removeCerts`). P-256 keys keep it fast.
//
//   ca            a root CA
//   cert/key      a server certificate from `ca` for localhost and 127.0.0.1
//   clientCert/clientKey   a client certificate from `ca`
//   expiredCert/expiredKey a server certificate from `ca` for localhost that
//                 was valid from 2020-01-01 to 2020-01-02 only (`openssl ca`
//                 with -startdate/-enddate: OpenSSL 3.0's `x509 -req` cannot
//                 back-date, and -not_before/-not_after only came in 3.4)
//   otherCa, otherCert/otherKey  another CA and a localhost certificate from it
//   otherClientCert/otherClientKey  a client certificate from the other CA
//   strayKey      a key that belongs to no certificate
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestCerts {
  /** The directory the files live in. */
  dir: string;
  ca: string;
  /** Path of `ca` (for `openssl s_client -CAfile`). */
  caPath: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
  expiredCert: string;
  expiredKey: string;
  otherCa: string;
  otherCert: string;
  otherKey: string;
  otherClientCert: string;
  otherClientKey: string;
  strayKey: string;
}

/** Runs the `openssl` command line in `dir`; throws with its stderr. */
export function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${failure.stderr?.toString() ?? failure.message}`);
  }
}

/** `openssl req` arguments for a new unencrypted P-256 key. */
export const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA: `<name>.pem`, `<name>.key`. */
function makeCa(dir: string, name: string, subject: string): void {
  openssl(dir, [
    'req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A key and certificate request: `<name>.key`, `<name>.csr`. */
function makeRequest(dir: string, name: string, subject: string): void {
  openssl(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
}

/** Signs `<name>.csr` with CA `<ca>` and the extensions of `section` in ext.cnf: `<name>.pem`. */
function sign(dir: string, name: string, ca: string, section: string): void {
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', `0x${Date.now().toString(16)}${name.length}`,
    '-days', '2', '-sha256', '-extfile', 'ext.cnf', '-extensions', section, '-out', `${name}.pem`,
  ]);
}

/** The `server` and `client` extension sections of `openssl x509 -extfile`. */
export const EXTENSIONS = `
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1

[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:test-client
`;

/** An `openssl ca` configuration, for the back-dated certificate. */
function caConfig(dir: string): string {
  return `
[ca]
default_ca = test_ca

[test_ca]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
certificate = ${dir}/ca.pem
private_key = ${dir}/ca.key
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none

[any_name]
commonName = supplied
${EXTENSIONS}`;
}

/** Makes every certificate in a new temporary directory. */
export function makeCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-tls-'));
  try {
    fs.writeFileSync(path.join(dir, 'ext.cnf'), EXTENSIONS);
    makeCa(dir, 'ca', '/CN=Pants Test CA');
    makeCa(dir, 'other-ca', '/CN=Other Test CA');
    makeRequest(dir, 'server', '/CN=localhost');
    sign(dir, 'server', 'ca', 'server');
    makeRequest(dir, 'client', '/CN=test-client');
    sign(dir, 'client', 'ca', 'client');
    makeRequest(dir, 'other', '/CN=localhost');
    sign(dir, 'other', 'other-ca', 'server');
    makeRequest(dir, 'other-client', '/CN=test-client');
    sign(dir, 'other-client', 'other-ca', 'client');
    makeRequest(dir, 'stray', '/CN=stray');

    fs.writeFileSync(path.join(dir, 'ca.cnf'), caConfig(dir));
    fs.writeFileSync(path.join(dir, 'index.txt'), '');
    fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
    fs.mkdirSync(path.join(dir, 'issued'));
    makeRequest(dir, 'expired', '/CN=localhost');
    openssl(dir, [
      'ca', '-batch', '-config', 'ca.cnf', '-notext', '-in', 'expired.csr', '-out', 'expired.pem',
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'server',
    ]);

    const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
    return {
      dir,
      ca: read('ca.pem'),
      caPath: path.join(dir, 'ca.pem'),
      cert: read('server.pem'),
      key: read('server.key'),
      clientCert: read('client.pem'),
      clientKey: read('client.key'),
      expiredCert: read('expired.pem'),
      expiredKey: read('expired.key'),
      otherCa: read('other-ca.pem'),
      otherCert: read('other.pem'),
      otherKey: read('other.key'),
      otherClientCert: read('other-client.pem'),
      otherClientKey: read('other-client.key'),
      strayKey: read('stray.key'),
    };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Removes the certificates' directory. */
export function removeCerts(certs: TestCerts | undefined): void {
  if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
}
