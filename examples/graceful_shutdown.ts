// Graceful shutdown on SIGTERM: a server that answers each line after a
// short piece of work. On SIGTERM it stops listening at once, lets the
// connections it has finish for up to 10 seconds, closes the rest, and
// then stops its engine so the process exits.
//   npm run build && node build/examples/graceful_shutdown.js   then   kill -TERM <pid>
import { Engine, Server, Stream } from 'pants-net';

export class SlowEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = '\n';
  }

  override onRead(line: string): void {
    // Some work before the answer; then the client gets its line back and is done.
    this.engine.defer(0.2, () => {
      this.write(`done: ${line}\n`);
      this.close();
    });
  }
}

export function stopOnSigterm(server: Server, grace = 10): void {
  process.once('SIGTERM', () => {
    Engine.logger.info(`SIGTERM: no new connections; ${server.channels.size} to finish`);
    void server.shutdown(grace).then(() => server.engine.stop());
  });
}

if (require.main === module) {
  const server = new Server({ ConnectionClass: SlowEcho }).listen(4040);
  server.maxConnections = 1000; // beyond it, connections are closed at once
  stopOnSigterm(server);
  void Engine.instance().start();
}
