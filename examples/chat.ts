// Taking it to another level: a chat server that writes every line to every client.
//   npm start   then   telnet localhost 4040   (from two terminals)
import { Engine, Server, Stream } from 'pants-net';

export class EchoLineToAll extends Stream<EchoLineToAllServer> {
  override onConnect(): void {
    this.readDelimiter = '\r\n';
    this.server?.writeToAll(`Connected: ${this.host()}\r\n`);
  }

  override onRead(line: Buffer): void {
    this.server?.writeToAll(`${this.host()}: ${line}\r\n`);
  }

  override onClose(): void {
    this.server?.writeToAll(`Disconnected: ${this.host()}\r\n`);
  }

  private host(): string {
    const address = this.remoteAddress;
    return Array.isArray(address) ? address[0] : String(address);
  }
}

export class EchoLineToAllServer extends Server {
  override ConnectionClass = EchoLineToAll;

  writeToAll(data: string): void {
    for (const channel of this.channels.values()) {
      if (channel.connected) channel.write(data);
    }
  }
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 4040);
  new EchoLineToAllServer().listen(port);
  console.log(`Chat server on port ${port}: telnet localhost ${port}`);
  void Engine.instance().start();
}
