// Hostile peers at full size, one attack per run, with its figures:
// descriptors leaked, RSS growth, and the longest stretch Node's loop was
// blocked (a 1 ms interval's worst gap).
//
//   node --expose-gc build/__test__/stress/hostile.js --attack NAME [--count N] [--mebibytes N]
//
// Attacks:
//   tls-hello-fin     N peers send a real ClientHello and then FIN (half of
//                     them reset instead) to a TLS server
//   tls-first-flight  N Pants TLS clients whose TLS 1.2 server sends its
//                     first flight and closes
//   tls-silent        N peers connect to a TLS server with handshakeTimeout
//                     1 s and say nothing, or half a ClientHello
//   tls-writefile     a file of N MiB sent over TLS to 4 peers that stop
//                     reading for 2 s, then read it all (sha256 checked)
//   tls-early-writes  a TLS client writes 1 MiB at a time before its (never
//                     answered) handshake, until write() returns false
//   udp-senders       N senders (distinct loopback addresses) each leave a
//                     partial line on a Datagram channel
//   udp-regex-cost    per-packet cost of a RegExp delimiter with 1 sender
//                     and with N senders holding partial frames
//   onwrite-pump      a stream writing 1 KiB with flush from every onWrite
//                     to a reader in another process, for 5 s
//   regexp            /(a+)+b/ as a delimiter, fed 'a' * 30 and a newline
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import tls from 'node:tls';
import { Datagram, Engine, Server, Stream, type SslOptions } from 'pants-net';

import { captureClientHello, firstFlightServer, plainServer } from '../tls-peers.js';
import { memory, numberOption, printResult, sleep, stringOption } from './common.js';

const MiB = 2 ** 20;

/** Watches Node's loop: the longest gap between ticks of a 1 ms interval. */
function blockWatch(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.round(longest);
    },
  };
}

function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A throwaway self-signed certificate for localhost. */
function certificate(): { cert: string; key: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-hostile-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), dir };
}

/** A Datagram on 127.0.0.1 framing lines with `delimiter`, counting its frames. */
function lineCounter(engine: Engine, delimiter: string | RegExp, maxSenders?: number) {
  const counter = { frames: 0, datagram: null as unknown as Datagram, port: 0 };
  class Lines extends Datagram {
    override onRead(): void {
      counter.frames += 1;
    }
  }
  counter.datagram = new Lines({ engine });
  counter.datagram.readDelimiter = delimiter;
  if (maxSenders !== undefined) counter.datagram.maxSenders = maxSenders;
  counter.datagram.listen(['127.0.0.1', 0]);
  counter.port = (counter.datagram.localAddress as [string, number])[1];
  return counter;
}

/** Counts onClose and handshake errors of the streams of a class. */
function counted() {
  const log = { closes: 0, handshakeErrors: new Map<string, number>() };
  class Counted extends Stream {
    override onSslHandshakeError(error: Error & { code?: string }): void {
      log.handshakeErrors.set(String(error.code), (log.handshakeErrors.get(String(error.code)) ?? 0) + 1);
      this.close(false);
    }
    override onClose(): void {
      log.closes += 1;
    }
  }
  return { Counted, log };
}

/** Opens `count` raw connections to `port`, `batch` at a time, and runs `use` on each. */
async function rawPeers(port: number, count: number, use: (socket: net.Socket, index: number) => void, batch = 200): Promise<void> {
  for (let first = 0; first < count; first += batch) {
    const size = Math.min(batch, count - first);
    await Promise.all(
      Array.from({ length: size }, (_, offset) => new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => resolve());
        socket.once('connect', () => {
          use(socket, first + offset);
          resolve();
        });
      })),
    );
  }
}

type Figures = Record<string, unknown>;

/** A started engine with a TLS server of counted streams, and a real ClientHello to attack it with. */
async function tlsTarget(extra: SslOptions = {}) {
  const engine = Engine.instance();
  void engine.start();
  const { cert, key } = certificate();
  const hello = await captureClientHello();
  const { Counted, log } = counted();
  const server = new Server(Counted, { engine, sslOptions: { cert, key, ...extra } }).listen(['127.0.0.1', 0], 4096);
  return { engine, hello, log, server };
}

const ATTACKS: Record<string, () => Promise<Figures>> = {
  async 'tls-hello-fin'() {
    const count = numberOption('count', 2000);
    const { engine, hello, log, server } = await tlsTarget();
    const before = openDescriptors();
    const watch = blockWatch();
    const started = Date.now();
    const peers: net.Socket[] = [];
    await rawPeers((server.localAddress as [string, number])[1], count, (socket, index) => {
      peers.push(socket);
      if (index % 2 === 0) socket.end(hello);
      else socket.write(hello, () => socket.resetAndDestroy());
    });
    await until(() => log.closes === count, 60_000, `${count} onClose (got ${log.closes})`);
    for (const peer of peers) peer.destroy();
    await until(() => openDescriptors() <= before, 10_000, 'the descriptors to be released').catch(() => {});
    const figures = { connections: count, closes: log.closes, handshakeErrors: Object.fromEntries(log.handshakeErrors), leakedFds: Math.max(0, openDescriptors() - before), channelsLeft: server.channels.size, longestBlockMs: watch.stop(), elapsedMs: Date.now() - started };
    server.close();
    engine.stop();
    return { ...figures, ok: figures.leakedFds === 0 && figures.channelsLeft === 0 };
  },

  async 'tls-first-flight'() {
    const count = numberOption('count', 500);
    const engine = Engine.instance();
    void engine.start();
    const { cert, key } = certificate();
    const upstream = await firstFlightServer(cert, key);
    const { Counted, log } = counted();
    const before = openDescriptors();
    const watch = blockWatch();
    const started = Date.now();
    for (let index = 0; index < count; index++) new Counted({ engine, sslOptions: { rejectUnauthorized: false } }).connect(['127.0.0.1', upstream.port]);
    await until(() => log.closes === count, 60_000, `${count} onClose (got ${log.closes})`);
    await until(() => openDescriptors() <= before, 10_000, 'the descriptors to be released').catch(() => {});
    const figures = { clients: count, closes: log.closes, handshakeErrors: Object.fromEntries(log.handshakeErrors), leakedFds: Math.max(0, openDescriptors() - before), longestBlockMs: watch.stop(), elapsedMs: Date.now() - started };
    upstream.close();
    engine.stop();
    return { ...figures, ok: figures.leakedFds === 0 };
  },

  async 'tls-silent'() {
    const count = numberOption('count', 5000);
    const { engine, hello, log, server } = await tlsTarget({ handshakeTimeout: 1 });
    const before = openDescriptors();
    const watch = blockWatch();
    const started = Date.now();
    const peers: net.Socket[] = [];
    await rawPeers((server.localAddress as [string, number])[1], count, (socket, index) => {
      peers.push(socket);
      if (index % 2 === 0) socket.write(hello.subarray(0, hello.length >> 1));
    });
    await until(() => log.closes === count, 120_000, `${count} onClose (got ${log.closes})`);
    const closedAfterMs = Date.now() - started;
    await until(() => peers.every((peer) => peer.readableEnded || peer.destroyed), 10_000, 'the peers to see the close').catch(() => {});
    for (const peer of peers) peer.destroy();
    await until(() => openDescriptors() <= before, 10_000, 'the descriptors to be released').catch(() => {});
    const figures = { connections: count, closes: log.closes, closedAfterMs, handshakeErrors: Object.fromEntries(log.handshakeErrors), leakedFds: Math.max(0, openDescriptors() - before), longestBlockMs: watch.stop() };
    server.close();
    engine.stop();
    return { ...figures, ok: figures.leakedFds === 0 && log.handshakeErrors.get('ERR_TLS_HANDSHAKE_TIMEOUT') === count };
  },

  async 'tls-writefile'() {
    const size = numberOption('mebibytes', 256) * MiB;
    const readers = 4;
    const engine = Engine.instance();
    void engine.start();
    const { cert, key, dir } = certificate();
    const file = path.join(dir, 'big.bin');
    const chunk = Buffer.alloc(MiB);
    for (let index = 0; index < chunk.length; index += 4) chunk.writeUInt32LE((index * 2654435761) >>> 0, index);
    const fileHash = createHash('sha256');
    const out = fs.openSync(file, 'w');
    for (let written = 0; written < size; written += MiB) {
      chunk.writeUInt32LE(written / MiB, 0);
      fs.writeSync(out, chunk);
      fileHash.update(chunk);
    }
    fs.closeSync(out);
    const expected = fileHash.digest('hex');
    let longestCallMs = 0;
    class Sender extends Stream {
      override onSslHandshake(): void {
        const start = performance.now();
        this.writeFile(file);
        longestCallMs = Math.max(longestCallMs, performance.now() - start);
        this.close(true);
      }
    }
    const server = new Server(Sender, { engine, sslOptions: { cert, key } }).listen(['127.0.0.1', 0]);
    const rssBefore = memory().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    const watch = blockWatch();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: readers }, () => new Promise<string>((resolve, reject) => {
      const client = tls.connect({ port: (server.localAddress as [string, number])[1], host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
      client.pause();
      const hash = createHash('sha256');
      let received = 0;
      client.on('data', (data: Buffer) => {
        hash.update(data);
        received += data.length;
      });
      client.once('error', reject);
      client.once('end', () => resolve(received === size ? hash.digest('hex') : `only ${received} bytes`));
      setTimeout(() => client.resume(), 2000);
    })));
    clearInterval(sampler);
    const figures = { mebibytes: size / MiB, readers, intact: results.filter((hash) => hash === expected).length, rssGrowth: rssPeak - rssBefore, longestWriteFileCallMs: Math.round(longestCallMs), longestBlockMs: watch.stop(), elapsedMs: Date.now() - started };
    server.close();
    engine.stop();
    return { ...figures, ok: figures.intact === readers && figures.rssGrowth < 64 * MiB };
  },

  async 'tls-early-writes'() {
    const limit = numberOption('count', 200);
    const engine = Engine.instance();
    void engine.start();
    const silent = await plainServer((socket) => socket.resume());
    const rssBefore = memory().rss;
    let accepted = -1;
    let buffered = 0;
    class Eager extends Stream {
      override onConnect(): void {
        const chunk = Buffer.alloc(MiB, 0x61);
        accepted = 0;
        while (accepted < limit && this.write(chunk)) accepted += 1;
        buffered = this.bufferedAmount;
      }
    }
    const stream = new Eager({ engine, sslOptions: { rejectUnauthorized: false } }).connect(['127.0.0.1', silent.port]);
    await until(() => accepted >= 0, 10_000, 'onConnect');
    const figures = { writesAcceptedWithTrue: accepted, bufferedAmount: buffered, rssGrowth: memory().rss - rssBefore };
    stream.close(false);
    silent.close();
    engine.stop();
    return { ...figures, ok: accepted <= 1 && buffered > MiB };
  },

  async 'udp-senders'() {
    const count = numberOption('count', 100_000);
    const engine = Engine.instance();
    void engine.start();
    const lines = lineCounter(engine, '\n');
    const rssBefore = memory().rss;
    const watch = blockWatch();
    const started = Date.now();
    await sendersLeavePartials(lines.port, count, 512);
    await sleep(500);
    const rssAfter = memory().rss;
    const figures = { senders: count, maxSenders: lines.datagram.maxSenders, rssGrowth: rssAfter - rssBefore, frames: lines.frames, longestBlockMs: watch.stop(), elapsedMs: Date.now() - started };
    lines.datagram.close(false);
    engine.stop();
    // Unbounded, 100,000 × 512 bytes in sender buffers would be 50 MiB and more.
    return { ...figures, ok: figures.rssGrowth < 24 * MiB };
  },

  async 'udp-regex-cost'() {
    const senders = numberOption('count', 10_000);
    const packets = 20_000;
    const engine = Engine.instance();
    void engine.start();
    const lines = lineCounter(engine, /\n/, senders * 2);
    /** CPU time of this process per packet (ten to a frame), for one sender's flood of partial lines. */
    const perPacket = async () => {
      const before = lines.frames;
      const cpu = process.cpuUsage();
      await pythonFlood(lines.port, packets);
      let seen = -1;
      while (seen !== lines.frames) {
        seen = lines.frames;
        await sleep(300);
      }
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / Math.max(1, (lines.frames - before) * 10);
    };
    const alone = await perPacket();
    await sendersLeavePartials(lines.port, senders, 16);
    await sleep(300);
    const crowded = await perPacket();
    lines.datagram.close(false);
    engine.stop();
    const figures = { senders, packets, cpuMicrosecondsPerPacketAlone: +alone.toFixed(2), cpuMicrosecondsPerPacketWithSenders: +crowded.toFixed(2), ratio: +(crowded / alone).toFixed(2) };
    return { ...figures, ok: figures.ratio < 3 };
  },

  async 'onwrite-pump'() {
    const pumpMs = numberOption('seconds', 5) * 1000;
    const engine = Engine.instance();
    void engine.start();
    let sent = 0;
    let done = false;
    const chunk = Buffer.alloc(1024, 0x61);
    class Pump extends Stream {
      #until = 0;
      override onConnect(): void {
        this.#until = Date.now() + pumpMs;
        this.onWrite();
      }
      override onWrite(): void {
        if (Date.now() > this.#until) {
          done = true;
          this.close(false);
          return;
        }
        this.write(chunk, true);
        sent += chunk.length;
      }
    }
    const server = new Server(Pump, { engine }).listen(['127.0.0.1', 0]);
    let engineTicks = 0;
    const cycle = engine.cycle(0.01, () => (engineTicks += 1));
    const watch = blockWatch();
    const script = `require('net').connect(${(server.localAddress as [string, number])[1]}, '127.0.0.1').on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume()`;
    const sink = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    await until(() => done, pumpMs + 60_000, 'the pump to end');
    const figures = { seconds: pumpMs / 1000, mebibytesSent: +(sent / MiB).toFixed(1), engineCycleTicks: engineTicks, longestBlockMs: watch.stop() };
    cycle();
    sink.kill();
    server.close();
    engine.stop();
    return { ...figures, ok: figures.longestBlockMs < 200 };
  },

  async regexp() {
    const engine = Engine.instance();
    void engine.start();
    let frames = 0;
    class Backtracking extends Stream {
      override onConnect(): void {
        this.readDelimiter = /(a+)+b/;
      }
      override onRead(): void {
        frames += 1;
      }
    }
    class Echo extends Stream {
      override onRead(data: Buffer): void {
        this.write(data);
      }
    }
    const server = new Server(Backtracking, { engine }).listen(['127.0.0.1', 0]);
    const echo = new Server(Echo, { engine }).listen(['127.0.0.1', 0]);
    const watch = blockWatch();
    const started = Date.now();
    await rawPeers((server.localAddress as [string, number])[1], 1, (socket) => socket.write(`${'a'.repeat(30)}\n`));
    const pings: number[] = [];
    await rawPeers((echo.localAddress as [string, number])[1], 1, (socket) => {
      const sentAt = performance.now();
      socket.once('data', () => pings.push(performance.now() - sentAt));
      socket.write('ping');
    });
    await until(() => pings.length === 1, 120_000, 'the echo');
    await sleep(200);
    const figures = { echoLatencyMs: Math.round(pings[0]), longestBlockMs: watch.stop(), elapsedMs: Date.now() - started, frames };
    server.close();
    echo.close();
    engine.stop();
    return { ...figures, ok: figures.longestBlockMs < 200 };
  },
};

/** `count` UDP senders, each bound to its own loopback address, send `bytes` without a newline (Python: fast socket churn). */
function sendersLeavePartials(port: number, count: number, bytes: number): Promise<void> {
  const script = `
import socket
for i in range(${count}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.%d.%d.%d' % (1 + (i >> 16), (i >> 8) & 255, i & 255), 0))
    s.sendto(b'p' * ${bytes}, ('127.0.0.1', ${port}))
    s.close()
`;
  return runPython(script);
}

/** One sender sends `count` packets, a line ending in every tenth, paced so that the socket buffer does not drop them. */
function pythonFlood(port: number, count: number): Promise<void> {
  const script = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${count}):
    s.sendto(b'part %d%s' % (i, b'\\n' if i % 10 == 9 else b''), ('127.0.0.1', ${port}))
    if i % 200 == 199:
        time.sleep(0.002)
`;
  return runPython(script);
}

function runPython(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`python3 failed (${code}): ${stderr}`))));
  });
}

async function main(): Promise<void> {
  const name = stringOption('attack', '');
  const attack = ATTACKS[name];
  if (!attack) throw new Error(`--attack takes one of ${Object.keys(ATTACKS).join(', ')}; got '${name}'`);
  printResult({ attack: name, ...(await attack()) });
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
