// Writing a client with connect(): send a line to the chat server and print what comes back.
//   node build/examples/client.js [host] [port] [message]
import { Engine, Stream, StreamOptions } from 'pants-net';

export class ChatClient extends Stream {
  readonly lines: string[] = [];

  constructor(
    private readonly message: string,
    options: StreamOptions = {},
  ) {
    super(options);
  }

  override onConnect(): void {
    this.readDelimiter = '\r\n';
    this.encoding = 'utf8';
    this.write(`${this.message}\r\n`);
  }

  override onRead(line: string): void {
    this.lines.push(line);
    console.log(line);
    if (line.endsWith(`: ${this.message}`)) this.close();
  }

  override onConnectError(error: Error): void {
    console.error(`Could not connect: ${error.message}`);
    this.close(false);
  }

  override onClose(): void {
    this.engine.stop();
  }
}

if (require.main === module) {
  const [host = 'localhost', port = '4040', message = 'Hello from Pants!'] = process.argv.slice(2);
  new ChatClient(message).connect([host, Number(port)]);
  void Engine.instance().start();
}
