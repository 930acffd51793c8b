/**
 * Loads the native engine: the locally built binary next to the package, or
 * the prebuilt one from the platform package (`pants-<platform>-<arch>[-<abi>]`).
 * @internal
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** An address as the native side reports it. */
export interface NativeAddress {
  host: string;
  port: number;
  flowinfo: number;
  scopeId: number;
  ipv6: boolean;
  path?: string | null;
}

/** Owns a native engine (crates/pants-node/src/native_engine.rs); the engine lives as long as this object. */
export interface NativeEngine {
  readonly id: number;
}

/**
 * The binding's engine functions. Each takes the engine's `id` first: plain
 * functions cross the boundary about 8x faster than napi-rs class methods.
 */
export interface NativeFunctions {
  NativeEngine: new () => NativeEngine;
  NativeTlsConfig: new (
    server: boolean,
    cert: Buffer | null,
    key: Buffer | null,
    ca: Buffer | null,
    rejectUnauthorized: boolean,
    requestCert: boolean,
    alpn: string[],
  ) => { readonly id: number };
  startTls(engine: number, token: number, config: number, serverName: string): void;
  setListenerTls(engine: number, token: number, config: number): void;
  tlsFailure(engine: number, token: number): [code: string, message: string] | null;
  alpnProtocol(engine: number, token: number): string | null;
  start(engine: number, iterate: () => number): void;
  stop(engine: number): void;
  wake(engine: number): void;
  beginIteration(engine: number, expired: Uint32Array): number;
  endIteration(engine: number): void;
  pollIo(engine: number, timeoutMs: number, out: Int32Array): number;
  takeEvents(engine: number, out: Int32Array): number;
  scheduleTimer(engine: number, delayMs: number): number;
  cancelTimer(engine: number, key: number): boolean;
  latestPollTime(engine: number): number;
  takeExpiredTimers(engine: number, out: Uint32Array): number;
  timerCount(engine: number): number;
  stats(engine: number): [channels: number, timers: number, bytesIn: number, bytesOut: number, iterations: number];
  channelCount(engine: number): number;
  listen(engine: number, host: string, port: number, flowinfo: number, scopeId: number, backlog: number, v6Only: boolean, reusePort: boolean): number;
  listenUnix(engine: number, path: string, backlog: number): number;
  connect(engine: number, host: string, port: number, flowinfo: number, scopeId: number): number;
  connectUnix(engine: number, path: string): number;
  bindDatagram(engine: number, host: string, port: number, flowinfo: number, scopeId: number): number;
  openDatagram(engine: number, host: string, port: number): number;
  sendDatagram(engine: number, token: number, host: string, port: number, flowinfo: number, scopeId: number, data: Uint8Array): number;
  fd(engine: number, token: number): number;
  localAddress(engine: number, token: number): NativeAddress | null;
  peerAddress(engine: number, token: number): NativeAddress | null;
  setDelimiter(engine: number, token: number, kind: number, count: number, sequence?: Uint8Array | null): void;
  setBufferSize(engine: number, token: number, size: number): void;
  setNotifyDrain(engine: number, token: number, on: boolean): void;
  setSenderLimits(engine: number, token: number, maxSenders: number, senderTimeoutMs: number): void;
  setNoDelay(engine: number, token: number, on: boolean): number;
  readFrame(engine: number, token: number, out: Uint8Array, offset: number): number;
  peekInput(engine: number, token: number, out: Uint8Array, offset: number): number;
  consumeInput(engine: number, token: number, count: number): void;
  discardInput(engine: number, token: number): void;
  pendingInput(engine: number, token: number): number;
  pendingOutput(engine: number, token: number): number;
  write(engine: number, token: number, data: Uint8Array): number;
  writeString(engine: number, token: number, data: string): number;
  writeFile(engine: number, token: number, path: string, fd: number, offset: number, length: number): number;
  flush(engine: number, token: number): void;
  close(engine: number, token: number, flush: boolean): void;
  release(engine: number, token: number): void;
}

/** Event kinds, as `pants-core`'s `EventKind`. */
export enum EventKind {
  Accept = 1,
  Connect = 2,
  ConnectError = 3,
  Read = 4,
  Hangup = 5,
  Write = 6,
  Close = 7,
  ReadError = 8,
  WriteError = 9,
  AcceptError = 10,
  SslHandshake = 11,
  SslHandshakeError = 12,
  SslError = 13,
}

/** Delimiter kinds of `setDelimiter`. */
export const enum DelimiterKind {
  Chunk = 0,
  Count = 1,
  Sequence = 2,
  External = 3,
  Records = 4,
}

/** `readFrame` / `peekInput` results below zero. */
export const FRAME_INCOMPLETE = -1;
export const FRAME_OVERFLOW = -2;
/** A result `r <= NEED_SPACE` means the frame needs `NEED_SPACE - r` bytes. */
export const NEED_SPACE = -3;
/** Added to a frame's length when more bytes remain buffered (another frame may follow). */
export const MORE_INPUT = 2 ** 32;

function platformTag(): string {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const abi = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
  return `${platform}-${arch}-${abi}`;
}

function load(): NativeFunctions {
  const tag = platformTag();
  const local = join(__dirname, '..', `pants.${tag}.node`);
  if (existsSync(local)) return require(local);
  try {
    return require(`pants-${tag}`);
  } catch (cause) {
    throw new Error(
      `pants has no native binary for this platform (${tag}): install the optional package ` +
        `pants-${tag}, or build from source with Rust (npm run build:native).`,
      { cause },
    );
  }
}

export const native = load();
