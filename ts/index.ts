/**
 * Pants for Node: simple, fast and elegant network programming.
 * Engines (event loops), channels (Stream, Server) and timers, on a Rust engine.
 * @packageDocumentation
 * @module pants-net
 */
export { hostPort, isInetAddress } from './address.js';
export type { Address, HostPort, InetAddress } from './address.js';
export type { AcceptingServer } from './accepting_server.js';
export { Channel } from './channel.js';
export { Datagram } from './datagram.js';
export type { DatagramOptions } from './datagram.js';
export type { ChannelOptions } from './channel.js';
export type { ReadDelimiter } from './delimiter.js';
export { Engine } from './engine.js';
export type { EngineStats } from './engine.js';
export { FramedChannel } from './framed_channel.js';
export {
  DatagramBufferOverflow,
  InvalidAddressFormatError,
  StreamBufferOverflow,
  StreamConnectError,
} from './errors.js';
export type { CodedError, MisuseCode, SystemErrorDetails } from './errors.js';
export type { Logger } from './logger.js';
export { Server } from './server.js';
export type { ListenOptions, ServerOptions, StreamClass } from './server.js';
export { Stream } from './stream.js';
export type { StreamOptions } from './stream.js';
export { NetStruct } from './netstruct.js';
export { Struct } from './struct.js';
export type { Timer } from './timer.js';
export type { Pem, PeerCertificate, SniContext, SslOptions, TlsVersion } from './tls.js';
