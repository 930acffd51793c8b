// The program at the top of the README: an echo server, as a user would copy
// it into a file of their own (CommonJS, ES module or TypeScript alike).
//   npm run build && node build/examples/hello.js   then   telnet localhost 4040
import { Engine, Server, Stream } from 'pants-net';

class Echo extends Stream {
  override onRead(data: Buffer): void {
    this.write(data);
  }
}

new Server({ ConnectionClass: Echo }).listen(4040);
void Engine.instance().start();
