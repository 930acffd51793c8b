/**
 * `pants-net/http`: an HTTP/1.1 server on the Pants engine. Request heads
 * and bodies are framed and parsed in Rust; handlers get `HTTPRequest`s and
 * answer through them.
 * @packageDocumentation
 * @module pants-net/http
 */
export { HTTPHeaders } from './headers.js';
export { HTTPException, HTTPRequest } from './request.js';
export type { SendFileOptions } from './request.js';
export type { CookieAttributes } from './cookies.js';
export type { Params, UploadedFile } from './forms.js';
export { HTTPConnection, HTTPServer } from './server.js';
export type { HTTPHandler, HTTPServerOptions } from './server.js';
export { EntireMessage, WebSocket } from './websocket.js';
export type { MessageDelimiter, WebSocketClass, WebSocketOptions } from './websocket.js';
