/**
 * The server side of the WebSocket handshake: a request to a WebSocket
 * class (the handler of an `HTTPServer`, or an `Application` route) is
 * checked, offered to `onHandshake`, answered with `101`, and its
 * connection carries the socket from then on.
 * @internal
 */
import { logger } from '../logger.js';
import type { HTTPRequest } from './request.js';
import { kConnection, kUpgrade } from './upgrade.js';
import { kCheckSettings, kOpen, WebSocket, WebSocketClass } from './websocket.js';
import { acceptDeflate, acceptKey, checkUpgradeRequest, chooseProtocol } from './websocket_handshake.js';

/** True for `WebSocket` and its subclasses. */
export function isWebSocketClass(value: unknown): value is WebSocketClass {
  return typeof value === 'function' && (value === WebSocket || value.prototype instanceof WebSocket);
}

/** Answers `request` with `status`, a plain-text `body` and `headers`. */
function refuse(request: HTTPRequest, status: number, body: string, headers: Record<string, string> = {}): void {
  request.sendStatus(status);
  const bytes = Buffer.from(body);
  request.sendHeaders({ 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(bytes.length), ...headers });
  if (request.method !== 'HEAD') request.send(bytes);
  request.finish();
}

/** Upgrades `request` to a `SocketClass` socket (`args`: the route's values for `onConnect`), or refuses it. */
export function acceptUpgrade(request: HTTPRequest, SocketClass: WebSocketClass, args: unknown[]): void {
  const refusal = checkUpgradeRequest(request.method, request.protocol, request.headers);
  if (refusal !== null) {
    refuse(request, refusal.status, refusal.reason, refusal.headers);
    return;
  }
  const connection = request[kConnection];
  const socket = new SocketClass({ engine: connection.engine });
  const headers: Record<string, string> = {};
  let accepted: unknown;
  try {
    socket[kCheckSettings]();
    accepted = socket.onHandshake(request, headers);
  } catch (error) {
    logger().error(`pants: ${SocketClass.name} refused the handshake of ${request.url}:`, error);
    refuse(request, 500, 'Internal Server Error');
    return;
  }
  if (accepted === false) {
    refuse(request, 403, 'Forbidden');
    return;
  }
  const protocol = chooseProtocol(request.headers.get('sec-websocket-protocol'), socket.protocols);
  const deflate = socket.compression ? acceptDeflate(request.headers.getAll('sec-websocket-extensions')) : null;
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(request.headers.get('sec-websocket-key')!.trim())}\r\n`;
  if (protocol !== '') head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (deflate !== null) head += `Sec-WebSocket-Extensions: ${deflate.header}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n:]/.test(name) || /[\r\n]/.test(String(value))) {
      logger().error(`pants: ${SocketClass.name}.onHandshake added a header with a line break: ${JSON.stringify(name)}`);
      refuse(request, 500, 'Internal Server Error');
      return;
    }
    head += `${name}: ${String(value)}\r\n`;
  }
  const carrier = request[kUpgrade](socket, socket.maxPayload, deflate?.flags ?? 0, `${head}\r\n`);
  socket[kOpen](carrier, request, request.url, protocol, deflate?.header ?? '', args);
}
