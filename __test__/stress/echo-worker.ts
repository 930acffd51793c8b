// A worker thread with its own engine and an echo server on a shared port
// (SO_REUSEPORT), for the reliability test of engines in worker threads.
//
// workerData: { id: number, port: number } (port 0: pick one). The worker
// posts { listening: port }, then obeys 'stop' (close the server, stop the
// engine once every connection has closed, post its counts and end
// by itself) and 'count' (post its counts).
// Each echo is prefixed with "<id>:" so that clients know who served them.
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, Server, Stream } from 'pants-net';

/** What a worker counted. */
export interface WorkerCounts {
  id: number;
  accepted: number;
  echoed: number;
  closes: number;
  errors: number;
}

function main(): void {
  const { id, port } = workerData as { id: number; port: number };
  const counts: WorkerCounts = { id, accepted: 0, echoed: 0, closes: 0, errors: 0 };
  const engine = Engine.instance();
  Engine.logger = { ...console, error: () => (counts.errors += 1) };
  class Echo extends Stream {
    override onRead(data: Buffer): void {
      counts.echoed += data.length;
      this.write(`${id}:`);
      this.write(data);
    }
    override onClose(): void {
      counts.closes += 1;
    }
  }
  class Counting extends Server {
    override onAccept(): void {
      counts.accepted += 1;
    }
  }
  const server = new Counting(Echo, { engine }).listen(['127.0.0.1', port], 1024, true, { reusePort: true });
  void engine.start(0.05);
  const channel = parentPort!;
  channel.on('message', (message: string) => {
    if (message === 'count') {
      channel.postMessage({ counts: { ...counts } });
    } else if (message === 'stop') {
      // Close the server (which closes its connections), wait for every
      // onClose, then stop the engine: nothing is left to keep the thread.
      server.close();
      const waiting = engine.loop(() => {
        if (server.listening || server.channels.size > 0) return;
        waiting.cancel();
        engine.stop();
        channel.postMessage({ stopped: { ...counts } });
      });
    }
  });
  channel.unref(); // after on('message'), which refs the port: only the engine keeps this thread alive
  channel.postMessage({ listening: (server.localAddress as [string, number])[1] });
}

main();
