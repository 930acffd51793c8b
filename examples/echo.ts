// Writing a simple server: everything a client sends comes right back.
//   npm run build && node build/examples/echo.js   then   telnet localhost 4040
import { Engine, Server, Stream } from 'pants-net';

export class Echo extends Stream {
  override onRead(data: Buffer): void {
    this.write(data);
  }
}

if (require.main === module) {
  const server = new Server({ ConnectionClass: Echo });
  server.listen(4040);
  void Engine.instance().start();
}
