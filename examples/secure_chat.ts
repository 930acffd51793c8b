// Securing the chat server with startSSL(): the same chat, over TLS.
//   node build/examples/secure_chat.js cert.pem key.pem
//   then   openssl s_client -connect localhost:4443 -quiet
import { readFileSync } from 'node:fs';
import { Engine, SslOptions } from 'pants-net';

import { EchoLineToAllServer } from './chat.js';

export function startSecureChat(port: number, sslOptions: SslOptions): EchoLineToAllServer {
  const server = new EchoLineToAllServer();
  server.startSSL(sslOptions);
  return server.listen(port);
}

if (require.main === module) {
  const [certFile = 'cert.pem', keyFile = 'key.pem'] = process.argv.slice(2);
  const port = Number(process.env.PORT ?? 4443);
  startSecureChat(port, { cert: readFileSync(certFile), key: readFileSync(keyFile) });
  console.log(`Secure chat server on port ${port}: openssl s_client -connect localhost:${port} -quiet`);
  void Engine.instance().start();
}
