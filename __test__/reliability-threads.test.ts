// Engines in worker threads: four workers, each with Engine.instance() and
// a Server on one shared port (SO_REUSEPORT), serve node:net clients, then
// shut down cleanly, by stop() from inside and by terminate() from outside.
import test from 'ava';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { WorkerCounts } from './stress/echo-worker.js';

const WORKERS = 4;
const CLIENTS = 400;
const WORKER_SCRIPT = join(__dirname, 'stress', 'echo-worker.js');

type WorkerMessage = { listening?: number; counts?: WorkerCounts; stopped?: WorkerCounts };

function nextMessage(worker: Worker, key: keyof WorkerMessage): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      if (message[key] === undefined) return;
      worker.off('message', onMessage);
      resolve(message);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

/** Starts the workers on one port: the first picks it, the others join. */
async function startWorkers(): Promise<{ workers: Worker[]; port: number }> {
  const first = new Worker(WORKER_SCRIPT, { workerData: { id: 0, port: 0 } });
  const port = (await nextMessage(first, 'listening')).listening!;
  const workers = [first];
  for (let id = 1; id < WORKERS; id++) {
    const worker = new Worker(WORKER_SCRIPT, { workerData: { id, port } });
    workers.push(worker);
    await nextMessage(worker, 'listening');
  }
  return { workers, port };
}

/** Connects `count` clients; each sends a line and reads "<id>:<line>" back. Resolves with the sockets and who served each. */
async function connectClients(port: number, count: number): Promise<{ sockets: net.Socket[]; servedBy: number[] }> {
  const sockets: net.Socket[] = [];
  const servedBy = await Promise.all(
    Array.from({ length: count }, (_, index) => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      const line = `client ${index}\n`;
      return new Promise<number>((resolve, reject) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
          const match = /^(\d+):(.*\n)$/s.exec(text);
          if (match && match[2] === line) resolve(Number(match[1]));
        });
        socket.once('error', reject);
        socket.write(line);
      });
    }),
  );
  return { sockets, servedBy };
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

test.serial('four workers share a port with reusePort, serve node:net clients, and stop cleanly from inside', async (t) => {
  const fdsBefore = openDescriptors();
  const { workers, port } = await startWorkers();
  const exits = workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)));
  const { sockets, servedBy } = await connectClients(port, CLIENTS);
  t.is(servedBy.length, CLIENTS);
  const perWorker = Array.from({ length: WORKERS }, (_, id) => servedBy.filter((served) => served === id).length);
  t.log(`connections per worker: ${perWorker.join(', ')}`);
  for (const served of perWorker) t.true(served > 0, `every worker served someone: ${perWorker.join(', ')}`);

  const allClosed = Promise.all(sockets.map(closed));
  const stopped = await Promise.all(
    workers.map((worker) => {
      const message = nextMessage(worker, 'stopped');
      worker.postMessage('stop');
      return message;
    }),
  );
  await allClosed; // the server's close closed every connection
  t.deepEqual(await Promise.all(exits), [0, 0, 0, 0], 'each worker ended by itself once its engine stopped');
  const counts = stopped.map((message) => message.stopped!);
  t.is(counts.reduce((sum, count) => sum + count.accepted, 0), CLIENTS);
  for (const count of counts) {
    t.is(count.closes, count.accepted, `worker ${count.id}: one onClose per connection`);
    t.is(count.errors, 0);
  }
  t.is(openDescriptors(), fdsBefore, 'no descriptor left behind');
  // Nobody listens on the port any more.
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve('connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED');
});

test.serial('terminate() ends workers whose engines are running with open connections, and frees their sockets', async (t) => {
  const fdsBefore = openDescriptors();
  const { workers, port } = await startWorkers();
  const { sockets } = await connectClients(port, CLIENTS);
  const allClosed = Promise.all(sockets.map(closed));
  for (const socket of sockets) socket.on('error', () => {});
  const exitCodes = await Promise.all(workers.map((worker) => worker.terminate()));
  t.deepEqual(exitCodes, [1, 1, 1, 1]);
  await allClosed; // the connections were closed with their threads
  for (const socket of sockets) socket.destroy();
  t.is(openDescriptors(), fdsBefore, 'the terminated engines left no descriptor behind');
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  server.close();
  t.pass('the port is free again');
});
