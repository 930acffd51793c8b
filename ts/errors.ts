import { getSystemErrorName } from 'node:util';

/** Properties Node puts on system errors. */
export interface SystemErrorDetails {
  /** Negative errno, as Node reports it (`-111` for ECONNREFUSED on Linux). */
  errno?: number;
  /** Stable identifier such as `'ECONNREFUSED'` or `'ENOTFOUND'`. */
  code?: string;
  /** The system call that failed, when there is one. */
  syscall?: string;
}

/** A connect that failed: refused, unreachable, timed out or unresolvable. */
export class StreamConnectError extends Error implements SystemErrorDetails {
  errno?: number;
  code?: string;
  syscall?: string;
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

/** An address in none of the forms Pants accepts (see `Address`). */
export class InvalidAddressFormatError extends TypeError {}

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
 * `code` and `errno`.
 * @internal
 */
export function systemError<E extends Error>(
  negativeErrno: number,
  syscall: string,
  ErrorClass: new (message: string) => E = Error as unknown as new (message: string) => E,
): E & SystemErrorDetails {
  const code = getSystemErrorName(negativeErrno);
  const error = new ErrorClass(`${syscall} ${code}`) as E & SystemErrorDetails;
  error.errno = negativeErrno;
  error.code = code;
  error.syscall = syscall;
  return error;
}
