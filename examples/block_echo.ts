// Kicking it up a notch: input is buffered and echoed in blocks of 8 bytes.
import { Engine, Server, Stream } from 'pants-net';

export class BlockEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = 8;
  }

  override onRead(block: Buffer): void {
    this.write(Buffer.concat([block, Buffer.from('\r\n')]));
  }
}

if (require.main === module) {
  const server = new Server({ ConnectionClass: BlockEcho });
  server.listen(4040);
  void Engine.instance().start();
}
