// The certificate the TLS benchmark servers serve.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The value after `name` on the command line, if given. */
function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/**
 * The PEM certificate and key: from `--cert FILE --key FILE`, or else a
 * throwaway self-signed P-256 certificate for localhost/127.0.0.1, made
 * with the `openssl` command line in a temporary directory that is removed
 * as soon as both files are read.
 */
export function certificate(): { cert: Buffer; key: Buffer } {
  const certFile = argument('--cert');
  const keyFile = argument('--key');
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) throw new Error('--cert and --key go together');
    return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-bench-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cert: fs.readFileSync(path.join(dir, 'cert.pem')), key: fs.readFileSync(path.join(dir, 'key.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
