// An idle-timeout server: an echo server that says goodbye to clients
// silent for 30 seconds, lets TCP keepalive notice peers whose host has
// vanished, and logs why each connection closed.
//   npm run build && node build/examples/idle_timeout.js   then   telnet localhost 4040
import { Engine, Server, Stream } from 'pants-net';

export class IdleEcho extends Stream {
  override onConnect(): void {
    this.timeout = 30; // seconds without a byte read or written
    this.keepAlive = 60; // TCP keepalive probes after a minute of silence
  }

  override onRead(data: Buffer): void {
    this.write(data);
  }

  override onTimeout(): void {
    this.write('Idle for too long, goodbye.\r\n');
    this.close(); // sends the goodbye first
  }

  override onClose(error: Error | null): void {
    const peer = this.remoteAddress;
    const who = Array.isArray(peer) ? `${peer[0]}:${peer[1]}` : String(peer);
    const why = error === null ? 'closed' : (error as NodeJS.ErrnoException).code;
    Engine.logger.info(`${who} left (${why}) after ${this.bytesRead} bytes`);
  }
}

if (require.main === module) {
  new Server({ ConnectionClass: IdleEcho }).listen(4040);
  void Engine.instance().start();
}
