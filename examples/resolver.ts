// Half-close: a client sends hostnames, one a line, and ends its side; the
// server answers once it has looked them all up (asynchronously), then
// ends its own side.
//   npm run build && node build/examples/resolver.js   then   printf 'localhost\n' | nc -N localhost 4040
import { lookup } from 'node:dns/promises';

import { Engine, Server, Stream } from 'pants-net';

export class Resolver extends Stream {
  #names: string[] = [];

  override onConnect(): void {
    this.allowHalfOpen = true; // the client's end of stream leaves us open for writing
    this.readDelimiter = '\n';
  }

  override onRead(line: Buffer): void {
    this.#names.push(line.toString().trim());
  }

  override async onEnd(): Promise<void> {
    const answers = await Promise.all(this.#names.map((name) => answer(name)));
    this.end(answers.join('')); // sends the answers, then FIN; the stream then closes
  }
}

async function answer(name: string): Promise<string> {
  try {
    return `${name} ${(await lookup(name)).address}\n`;
  } catch (error) {
    return `${name} ${(error as NodeJS.ErrnoException).code}\n`;
  }
}

if (require.main === module) {
  new Server({ ConnectionClass: Resolver }).listen(4040);
  void Engine.instance().start();
}
