// A line-based chat client: every line you type goes to the chat server, and
// every line the server sends is printed. Node's readline and the Pants engine
// share one event loop.
//   npm start   then, in two other terminals:   node build/examples/chat_client.js [host] [port]
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Engine, Stream, StreamConnectError, StreamOptions } from 'pants-net';

/** Options of `new LineChatClient()`: where lines come from and go to. */
export interface LineChatClientOptions extends StreamOptions {
  /** The lines to send, one per line of text (e.g. `process.stdin`). */
  input: Readable;
  /** Where the server's lines are printed (e.g. `process.stdout`). */
  output: Writable;
}

export class LineChatClient extends Stream {
  /** Resolves once the connection is closed, by either side (or could not be made). */
  readonly closed: Promise<void>;
  readonly #input: Readable;
  readonly #output: Writable;
  #lines: readline.Interface | null = null;
  #resolveClosed!: () => void;

  constructor(options: LineChatClientOptions) {
    super(options);
    this.#input = options.input;
    this.#output = options.output;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  override onConnect(): void {
    this.readDelimiter = '\r\n';
    this.encoding = 'utf8';
    // Start reading input only now: anything typed earlier waits in the stream.
    this.#lines = readline.createInterface({ input: this.#input, terminal: false });
    this.#lines.on('line', (line) => {
      if (this.connected) this.write(`${line}\r\n`);
    });
    // End of input (Ctrl-D, or a closed pipe): leave once everything is sent.
    this.#lines.on('close', () => this.close());
  }

  override onRead(line: string): void {
    this.#output.write(`${line}\n`);
  }

  override onConnectError(error: StreamConnectError): void {
    this.#output.write(`Could not connect: ${error.code ?? error.message}\n`);
    this.close(false);
  }

  override onClose(): void {
    this.#lines?.close();
    this.#resolveClosed();
  }
}

async function main(): Promise<void> {
  const [host = 'localhost', port = '4040'] = process.argv.slice(2);
  const client = new LineChatClient({ input: process.stdin, output: process.stdout });
  client.connect([host, Number(port)]);
  void Engine.instance().start();
  await client.closed;
  Engine.instance().stop();
}

if (require.main === module) void main();
