import { getSystemErrorMap, getSystemErrorName } from 'node:util';

/** Properties Node puts on system errors. */
export interface SystemErrorDetails {
  /** Negative errno, as Node reports it (`-111` for ECONNREFUSED on Linux). */
  errno?: number;
  /** Stable identifier such as `'ECONNREFUSED'` or `'ENOTFOUND'`. */
  code?: string;
  /** The system call that failed, when there is one. */
  syscall?: string;
  /** The IP address (or, as Node reports it, the UNIX socket path) the call was for. */
  address?: string;
  /** The port the call was for (TCP). */
  port?: number;
  /** The UNIX socket path the call was for. */
  path?: string;
  /** The hostname that did not resolve (`syscall` `'getaddrinfo'`). */
  hostname?: string;
}

/** Where a failed socket call was aimed: an IP address and port, or a UNIX socket path. @internal */
export type ErrorTarget = { host: string; port: number } | { path: string };

/** A connect that failed: refused, unreachable, timed out or unresolvable. */
export class StreamConnectError extends Error implements SystemErrorDetails {
  errno?: number;
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
  hostname?: string;
  /** An error with `message` and the Node-style `details` (`code`, `errno`, `syscall`). */
  constructor(message: string, details: SystemErrorDetails = {}) {
    super(message);
    Object.assign(this, details);
  }
}

/** More than `bufferSize` bytes arrived on a stream without completing a frame. */
export class StreamBufferOverflow extends Error {}

/** More than `bufferSize` bytes arrived from one datagram sender without completing a frame. */
export class DatagramBufferOverflow extends Error {}

/** An address in none of the forms Pants accepts (see `Address`); coded `'ERR_PANTS_INVALID_ADDRESS'`. */
export class InvalidAddressFormatError extends TypeError {
  /** Always `'ERR_PANTS_INVALID_ADDRESS'`. */
  readonly code = 'ERR_PANTS_INVALID_ADDRESS';
}

/**
 * The stable `code`s of the errors thrown for misuse: match on them, not on
 * messages (which may change). Listed, with what throws each, in the
 * README's "Errors" section.
 */
export type MisuseCode =
  /** `engine.poll()` while `start()` runs. */
  | 'ERR_PANTS_ENGINE_STARTED'
  /** `engine.poll()` from inside one of that engine's iterations. */
  | 'ERR_PANTS_POLL_REENTERED'
  /** A method argument of the wrong type (`TypeError`) or out of range (`RangeError`). */
  | 'ERR_PANTS_INVALID_ARGUMENT'
  /** A setting or option of the wrong type (`TypeError`) or out of range (`RangeError`, `connectTimeout`). */
  | 'ERR_PANTS_INVALID_SETTING'
  /** A `readDelimiter` that is none of the accepted kinds (`TypeError`). */
  | 'ERR_PANTS_INVALID_DELIMITER'
  /** An address in none of the accepted forms (`InvalidAddressFormatError`, a `TypeError`). */
  | 'ERR_PANTS_INVALID_ADDRESS'
  /** A server's `ConnectionClass` that is not `Stream` or a subclass (`TypeError`). */
  | 'ERR_PANTS_INVALID_CONNECTION_CLASS'
  /** Writing, connecting, listening or starting TLS on a channel that is closed or closing. */
  | 'ERR_PANTS_CHANNEL_CLOSED'
  /** Writing to a stream that is not connected yet. */
  | 'ERR_PANTS_NOT_CONNECTED'
  /** `write()` (or `writeFile()`, `writePacked()`) on a stream after its `end()`. */
  | 'ERR_PANTS_WRITE_AFTER_END'
  /** `connect()` on a stream that is connected or connecting. */
  | 'ERR_PANTS_ALREADY_CONNECTED'
  /** `listen()` on a server or datagram channel that already listens (or is resolving its address). */
  | 'ERR_PANTS_ALREADY_LISTENING'
  /** `startSSL()` on a stream that already speaks TLS. */
  | 'ERR_PANTS_TLS_ALREADY_STARTED'
  /** `datagram.write(data)` without an address, outside `onRead`. */
  | 'ERR_PANTS_NO_DESTINATION'
  /** `writePacked(values)` with no format and no Struct or NetStruct `readDelimiter`. */
  | 'ERR_PANTS_NO_PACK_FORMAT'
  /** A Struct or NetStruct format that is not a string or is malformed (`TypeError`). */
  | 'ERR_PANTS_INVALID_FORMAT'
  /** `pack()` with the wrong number of values (`TypeError`), a value of the wrong type (`TypeError`) or out of range (`RangeError`). */
  | 'ERR_PANTS_INVALID_PACK_VALUE'
  /** `unpack()`, `unpackFrom()` or `recordLength()` of something not bytes (`TypeError`), of the wrong length, at a bad offset, or with a negative string length (`RangeError`). */
  | 'ERR_PANTS_INVALID_UNPACK_BUFFER'
  /** A WebSocket client's connect or opening handshake failed: the answer was not `101`, or did not check out (`onError`). */
  | 'ERR_PANTS_WS_HANDSHAKE'
  /** `write()`, `ping()` or `subscribe()` on a WebSocket that is not open. */
  | 'ERR_PANTS_WS_NOT_OPEN'
  /** `close(code)` with a code an application may not send (`RangeError`): use 1000 or 3000 to 4999. */
  | 'ERR_PANTS_WS_CLOSE_CODE'
  /** The WebSocket peer broke RFC 6455 (`onError`; `closeCode` is the code the connection closes with). */
  | 'ERR_PANTS_WS_PROTOCOL'
  /** `HTTPClient`: the server sent a malformed response (rejects the request). */
  | 'ERR_PANTS_HTTP_PARSE'
  /** `HTTPClient`: a request was redirected more than `maxRedirects` times (rejects it). */
  | 'ERR_PANTS_TOO_MANY_REDIRECTS'
  /** `HTTPClient`: a response head over `maxHeaderSize` or body over `maxResponseSize` (rejects the request). */
  | 'ERR_PANTS_HTTP_RESPONSE_TOO_LARGE';

/** An error with a stable `code`. */
export type CodedError<E extends Error = Error, C extends string = MisuseCode> = E & {
  /** The stable code to match on. */
  code: C;
};

/**
 * A misuse error: an instance of `ErrorClass` (so `instanceof` and the
 * class users expect hold) with `message` and the stable `code`.
 * @internal
 */
export function codedError<E extends Error>(ErrorClass: new (message: string) => E, code: MisuseCode, message: string): CodedError<E> {
  const error = new ErrorClass(message) as CodedError<E>;
  error.code = code;
  // The stack starts where the misuse was seen, not in this helper.
  Error.captureStackTrace?.(error, codedError);
  return error;
}

for (const ErrorClass of [StreamConnectError, StreamBufferOverflow, DatagramBufferOverflow, InvalidAddressFormatError]) {
  Object.defineProperty(ErrorClass.prototype, 'name', { value: ErrorClass.name, configurable: true, writable: true });
}

/** Socket error codes a peer causes: resets, broken pipes, a peer gone or unreachable. */
const PEER_ERROR_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True for an error a peer causes in the normal course of things (a reset, a broken pipe). @internal */
export function isPeerError(error: unknown): boolean {
  return PEER_ERROR_CODES.has((error as SystemErrorDetails | null)?.code as string);
}

/**
 * An error on one line, without its stack: its message, prefixed with its
 * `code` unless the message says it already. @internal
 */
export function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).replace(/\s*\n\s*/g, ' ');
  const code = (error as SystemErrorDetails).code;
  const message = error.message.replace(/\s*\n\s*/g, ' ');
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * An error of `ErrorClass` for a native result `-errno`, with Node-style
 * `code`, `errno` and `syscall`, and with a `target` its `address` and
 * `port` (or `path`), worded as node:net words it: `connect ECONNREFUSED
 * 127.0.0.1:4999`, `connect ENOENT /tmp/x.sock`, and for `listen` with the
 * system's description, `listen EADDRINUSE: address already in use
 * 127.0.0.1:4040`.
 * @internal
 */
export function systemError<E extends Error>(
  negativeErrno: number,
  syscall: string,
  ErrorClass: new (message: string) => E = Error as unknown as new (message: string) => E,
  target?: ErrorTarget,
): E & SystemErrorDetails {
  const code = getSystemErrorName(negativeErrno);
  let message = `${syscall} ${code}`;
  if (target !== undefined) {
    if (syscall === 'listen') message += `: ${getSystemErrorMap().get(negativeErrno)?.[1] ?? code}`;
    message += ` ${'path' in target ? target.path : `${target.host}:${target.port}`}`;
  }
  const error = new ErrorClass(message) as E & SystemErrorDetails;
  error.errno = negativeErrno;
  error.code = code;
  error.syscall = syscall;
  if (target !== undefined) {
    if ('path' in target) {
      error.address = target.path;
      error.path = target.path;
    } else {
      error.address = target.host;
      error.port = target.port;
    }
  }
  return error;
}
