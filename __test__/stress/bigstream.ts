// One stream, many bytes, random write and read sizes, checksummed.
//
//   node build/__test__/stress/bigstream.js [--mebibytes 1024] [--seed 1]
//
// A Pants client writes pseudo-random bytes in writes of random size (1 byte
// to 256 KiB), keeping at most 4 MiB unsent and going on from onWrite. The
// Pants server side reads them with a readDelimiter changed after every
// frame to a random byte count (1 byte to 128 KiB) or to null (chunks as they come). Both sides
// hash what they sent and got; the hashes and counts must agree. The
// reliability test runs it with 64 MiB.
import { createHash } from 'node:crypto';
import { Engine, Server, Stream } from 'pants-net';

import { mebibytes, memory, numberOption, printResult, Random } from './common.js';

/** Figures of one transfer. */
export interface TransferFigures {
  bytes: number;
  sent: number;
  received: number;
  writes: number;
  frames: number;
  onWriteCalls: number;
  sentHash: string;
  receivedHash: string;
  receiverCloses: number;
  senderCloses: number;
  peakBufferedAmount: number;
  elapsedMs: number;
}

/** The source bytes: a random block of prime length, read cyclically. */
const BLOCK_LENGTH = 8_388_593;
const MAX_UNSENT = 4 << 20;

/** Sends `total` bytes through one stream on `engine`; resolves once both ends are closed. */
export function transfer(engine: Engine, total: number, seed: number): Promise<TransferFigures> {
  const random = new Random(seed);
  const block = random.bytes(BLOCK_LENGTH);
  const started = Date.now();
  const figures: TransferFigures = {
    bytes: total,
    sent: 0,
    received: 0,
    writes: 0,
    frames: 0,
    onWriteCalls: 0,
    sentHash: '',
    receivedHash: '',
    receiverCloses: 0,
    senderCloses: 0,
    peakBufferedAmount: 0,
    elapsedMs: 0,
  };
  const sentHash = createHash('sha256');
  const receivedHash = createHash('sha256');
  let resolveDone!: (figures: TransferFigures) => void;
  const done = new Promise<TransferFigures>((resolve) => (resolveDone = resolve));
  const finish = () => {
    if (figures.receiverCloses === 0 || figures.senderCloses === 0) return;
    figures.receivedHash = receivedHash.digest('hex');
    figures.elapsedMs = Date.now() - started;
    server.close();
    resolveDone(figures);
  };

  class Receiver extends Stream {
    override onConnect(): void {
      this.bufferSize = 1 << 20;
      this.#next();
    }
    override onRead(frame: Buffer): void {
      receivedHash.update(frame);
      figures.received += frame.length;
      figures.frames += 1;
      this.#next();
    }
    override onClose(): void {
      figures.receiverCloses += 1;
      finish();
    }
    /** A random byte count (never past the end of the transfer) or whole chunks. */
    #next(): void {
      const left = total - figures.received;
      if (left === 0 || random.chance(0.1)) this.readDelimiter = null;
      else this.readDelimiter = Math.min(left, random.chance(0.2) ? random.int(1, 64) : random.int(1, 128 << 10));
    }
  }

  class Sender extends Stream {
    override onConnect(): void {
      this.#pump();
    }
    override onWrite(): void {
      figures.onWriteCalls += 1;
      this.#pump();
    }
    override onClose(): void {
      figures.senderCloses += 1;
      finish();
    }
    #pump(): void {
      while (this.connected && figures.sent < total && this.bufferedAmount < MAX_UNSENT) {
        const size = Math.min(total - figures.sent, random.chance(0.1) ? random.int(1, 16) : random.int(1, 256 << 10));
        const start = figures.sent % BLOCK_LENGTH;
        const chunk = start + size <= BLOCK_LENGTH ? block.subarray(start, start + size) : Buffer.concat([block.subarray(start), block.subarray(0, size - (BLOCK_LENGTH - start))]);
        this.write(chunk);
        sentHash.update(chunk);
        figures.sent += size;
        figures.writes += 1;
        figures.peakBufferedAmount = Math.max(figures.peakBufferedAmount, this.bufferedAmount);
      }
      if (figures.sent === total && this.connected) {
        figures.sentHash = sentHash.digest('hex');
        this.close(true);
      }
    }
  }

  const server = new Server(Receiver, { engine }).listen(['127.0.0.1', 0]);
  new Sender({ engine }).connect(['127.0.0.1', (server.localAddress as [string, number])[1]]);
  return done;
}

async function main(): Promise<void> {
  const total = numberOption('mebibytes', 1024) * 2 ** 20;
  const before = memory();
  const engine = Engine.instance();
  void engine.start();
  const figures = await transfer(engine, total, numberOption('seed', 1));
  engine.stop();
  const after = memory();
  const ok =
    figures.sent === total &&
    figures.received === total &&
    figures.sentHash === figures.receivedHash &&
    figures.receiverCloses === 1 &&
    figures.senderCloses === 1;
  const seconds = figures.elapsedMs / 1000;
  console.log(
    `bigstream: ${mebibytes(figures.received)} verified (sha256) in ${seconds.toFixed(1)} s ` +
      `(${(figures.received / 2 ** 20 / seconds).toFixed(0)} MiB/s), ${figures.writes} writes, ${figures.frames} frames; ` +
      `rss ${mebibytes(before.rss)} -> ${mebibytes(after.rss)}`,
  );
  printResult({ ...figures, ok, rssBefore: before.rss, rssAfter: after.rss });
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
